"""Alembic environment: the URL comes from the settings (or from the caller's connection).

SQLite needs batch mode to alter tables; PostgreSQL takes an advisory lock so that two processes
upgrading at once run the migrations one after the other.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import tracker.models  # noqa: F401 - registers every table on the metadata
from tracker.db import Base, make_engine
from tracker.settings import get_settings

target_metadata = Base.metadata


def _run(connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
    )
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('tracker-alembic'))"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `tracker db upgrade`")
run_migrations_online()
