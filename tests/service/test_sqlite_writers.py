"""A unit of work marked for writing holds SQLite's write lock from the start of each of its transactions, also
after a commit: a second transaction that began as a reader would fail at once ("database is locked") on its first
write if another connection had written in between, where a writer from the start queues on the busy timeout."""

from __future__ import annotations

import sqlite3

from sqlalchemy import select

from tracker.db import make_engine, make_session_factory, session_scope
from tracker.models import User
from tracker.schema import upgrade_database


def _write_lock_free(path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_every_transaction_of_a_writing_unit_takes_the_write_lock(tmp_path):
    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        db.scalar(select(User.id).limit(1))
        assert not _write_lock_free(path)
        db.commit()
        assert _write_lock_free(path)
        db.scalar(select(User.id).limit(1))  # the next transaction: a writer again, from its first read
        assert not _write_lock_free(path)
    # A plain session (a page view) reads without the lock.
    with factory() as db:
        db.scalar(select(User.id).limit(1))
        assert _write_lock_free(path)
    engine.dispose()

