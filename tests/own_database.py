"""A database of a test's own, for the crash and fault tests whose subprocesses or servers commit (the suite's own
session rolls back): a SQLite file in the test's folder or, when the suite runs on PostgreSQL, a database beside
the suite's, dropped and created again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def own_database(base_url: str, directory: Path, tag: str, suffix: str) -> str:
    """`sqlite:///<directory>/<tag>-<suffix>.db`, or `<base database>_<tag>_<suffix>` on the PostgreSQL server of
    `base_url` (the tag names the goal, G20, G23, G28; the suffix keeps xdist workers and runs apart)."""
    if not base_url.startswith("postgresql"):
        return f"sqlite:///{directory / f'{tag}-{suffix}.db'}"
    if base_url.startswith("postgresql://"):
        base_url = "postgresql+psycopg://" + base_url.split("://", 1)[1]
    url = make_url(base_url)
    name = f"{url.database}_{tag}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()
