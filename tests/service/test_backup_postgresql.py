"""Backup and restore on PostgreSQL with pg_dump/pg_restore, in a database of its own (runs when the suite
runs on PostgreSQL; CI does)."""

from __future__ import annotations

import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import configured_database_url, postgresql_url_for_this_process
from tracker import clock
from tracker.backup import BackupError, backup, restore, table_counts
from tracker.db import make_engine, make_session_factory, session_scope
from tracker.schema import upgrade_database
from tracker.services.accounts import create_user
from tracker.services.audit import Actor

pytestmark = pytest.mark.skipif(not configured_database_url().startswith("postgres"),
                                reason="PostgreSQL backup runs with the PG suite")


@pytest.fixture
def scratch_databases():
    # Connects to the database this process owns (its worker's under xdist), like the rest of the suite.
    base = make_url(postgresql_url_for_this_process())
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    names = [f"tracker_backup_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield [base.set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_backup_and_restore_round_trip_on_postgresql(scratch_databases, tmp_path):
    source_url, target_url = scratch_databases
    source = make_engine(source_url)
    upgrade_database(source)
    with session_scope(make_session_factory(source)) as db:
        from tracker.models import Role

        create_user(db, username="wang", password=None, role=Role.OFFICER, now=clock.now(), actor=Actor.system())
    path = tmp_path / "pg.dump"
    manifest = backup(source, path)
    assert manifest.dialect == "postgresql" and manifest.counts["users"] == 1

    target = make_engine(target_url)
    restored = restore(target, path)
    assert restored.counts == table_counts(target)
    assert table_counts(target)["users"] == 1
    # A second restore onto the now non-empty database needs --force.
    with pytest.raises(BackupError, match="--force"):
        restore(target, path)
    restore(target, path, force=True)
    source.dispose()
    target.dispose()
