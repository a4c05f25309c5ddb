"""The audit log is append-only and hash-chained (G26)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from tracker.models import AuditEntry
from tracker.models.audit import AuditLogIsAppendOnly
from tracker.services import audit
from tracker.services.audit import Actor, verify_chain


def write_entries(db, now, n=5):
    actor = Actor(None, "wang", "officer", "10.0.0.1")
    for i in range(n):
        audit.record(db, actor, f"action_{i}", now=now, object_type="user", object_id=i, before={"n": i},
                     after={"n": i + 1})
    db.commit()
    return db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def test_an_untouched_chain_verifies(db, now):
    write_entries(db, now)
    assert verify_chain(db) == []


def test_the_orm_refuses_updates_and_deletes(db, now):
    entry = write_entries(db, now)[0]
    entry.action = "edited"
    with pytest.raises(AuditLogIsAppendOnly):
        db.flush()
    db.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        db.delete(db.get(AuditEntry, entry.id))
        db.flush()
    db.rollback()


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"])
def test_the_database_refuses_raw_updates_and_deletes(db, now, statement):
    write_entries(db, now, 2)
    with pytest.raises(DatabaseError), db.begin_nested():
        db.execute(text(statement))


def _tamper(db, *statements: str) -> None:
    """Simulate an attacker with direct database access: drop the guard, change rows, restore the guard."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        db.execute(text("DROP TRIGGER audit_log_no_update"))
        db.execute(text("DROP TRIGGER audit_log_no_delete"))
    for sql in statements:
        db.execute(text(sql))
    if dialect == "postgresql":
        db.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    db.expire_all()


@pytest.mark.parametrize("kind", ["edit", "delete", "reorder"])
def test_tampering_is_detected(db, now, kind):
    ids = [e.id for e in write_entries(db, now)]
    if kind == "edit":
        _tamper(db, f"UPDATE audit_log SET result = 'ok-ish' WHERE id = {ids[2]}")
    elif kind == "delete":
        _tamper(db, f"DELETE FROM audit_log WHERE id = {ids[2]}")
    else:
        _tamper(db, f"UPDATE audit_log SET id = -1 WHERE id = {ids[1]}",
                f"UPDATE audit_log SET id = {ids[1]} WHERE id = {ids[3]}",
                f"UPDATE audit_log SET id = {ids[3]} WHERE id = -1")
    problems = verify_chain(db)
    assert problems, kind
    assert problems[0].entry_id in ids


def test_cli_audit_verify_reports_a_tampered_row(tmp_path, monkeypatch, capsys):
    import sqlite3

    from tracker import cli
    from tracker.settings import get_settings

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    get_settings.cache_clear()
    try:
        assert cli.main(["demo"]) == 0
        assert cli.main(["audit", "verify"]) == 0
        assert "哈希链校验通过" in capsys.readouterr().out
        with sqlite3.connect(tmp_path / "a.db") as conn:
            conn.execute("DROP TRIGGER audit_log_no_update")
            conn.execute("UPDATE audit_log SET username = 'mallory' WHERE id = 2")
        assert cli.main(["audit", "verify"]) == 1
        assert "第 2 条" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


# --- the last hash remembered per transaction (a bulk import appends thousands of rows) ----------------------


def _log(db):
    return db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def test_a_rolled_back_savepoint_forgets_the_rows_it_chained(db, now):
    actor = Actor.system("test")
    kept = audit.record(db, actor, "kept", now=now)
    with pytest.raises(RuntimeError), db.begin_nested():
        audit.record(db, actor, "undone", now=now)
        raise RuntimeError("refused")
    after = audit.record(db, actor, "after", now=now)
    assert after.prev_hash == kept.hash
    db.commit()
    assert [e.action for e in _log(db)] == ["kept", "after"] and verify_chain(db) == []


def test_a_released_savepoint_and_a_failed_flush_keep_the_chain(db, now):
    from tracker.models import Organisation

    actor = Actor.system("test")
    with db.begin_nested():
        inner = audit.record(db, actor, "inner", now=now)
    assert audit.record(db, actor, "outer", now=now).prev_hash == inner.hash
    uscc = "91450100MA5K000000"
    db.add(Organisation(uscc=uscc, name="甲", division_code="450100", kind="enterprise", is_active=True,
                        created_at=now))
    db.flush()
    with pytest.raises(IntegrityError), db.begin_nested():
        audit.record(db, actor, "lost", now=now)
        db.add(Organisation(uscc=uscc, name="乙", division_code="450100", kind="enterprise", is_active=True,
                            created_at=now))
        db.flush()
    audit.record(db, actor, "last", now=now)
    db.commit()
    assert [e.action for e in _log(db)] == ["inner", "outer", "last"] and verify_chain(db) == []


def test_another_transaction_appending_in_between_is_read_again(session_factory, db, now):
    actor = Actor.system("test")
    audit.record(db, actor, "first", now=now)
    db.commit()
    other = session_factory()
    try:
        audit.record(other, actor, "elsewhere", now=now)
        other.commit()
    finally:
        other.close()
    audit.record(db, actor, "second", now=now)
    db.commit()
    assert [e.action for e in _log(db)] == ["first", "elsewhere", "second"] and verify_chain(db) == []


def test_append_many_writes_the_rows_record_writes(db, now, demo_users):
    actor = Actor.of(demo_users["officer"], "10.0.0.1")
    audit.record(db, actor, "before", now=now)
    events = [audit.PendingEntry(actor, f"action_{i}", now, object_type="project", object_id=i,
                                 before={"n": i} if i else None, after={"n": i + 1, "名称": "测试"}, result="ok")
              for i in range(4)]
    columns = ("at", "user_id", "username", "role", "ip", "action", "object_type", "object_id", "before", "after",
               "result", "prev_hash", "hash")
    with db.begin_nested() as savepoint:
        for event_ in events:
            audit.record(db, actor, event_.action, now=now, object_type=event_.object_type,
                         object_id=event_.object_id, before=event_.before, after=event_.after)
        one_by_one = [tuple(getattr(e, c) for c in columns) for e in _log(db)]
        savepoint.rollback()
    audit.append_many(db, events)
    db.expire_all()
    assert [tuple(getattr(e, c) for c in columns) for e in _log(db)] == one_by_one
    audit.record(db, actor, "after", now=now)  # chains onto the last row append_many wrote
    db.commit()
    assert verify_chain(db) == []


def test_record_after_a_bulk_append_continues_the_chain(db, now):
    actor = Actor.system("test")
    audit.record(db, actor, "first", now=now)  # the transaction now remembers the last hash
    audit.append_many(db, [audit.PendingEntry(actor, f"bulk {i}", now) for i in range(3)])
    audit.append_many(db, [audit.PendingEntry(actor, "many", now)])
    audit.record(db, actor, "last", now=now)
    db.commit()
    assert verify_chain(db) == []
    assert [a for (a,) in db.execute(select(AuditEntry.action).order_by(AuditEntry.id))][-6:] == [
        "first", "bulk 0", "bulk 1", "bulk 2", "many", "last"]
