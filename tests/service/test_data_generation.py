"""The data generation (tracker.services.data_generation): what moves it, and how often."""

from __future__ import annotations

from sqlalchemy import text

from tracker.models import DataGeneration


def _value(db) -> int:
    return db.get(DataGeneration, 1, populate_existing=True).value


def test_a_transaction_of_many_writes_moves_it_and_a_rolled_back_savepoint_does_not(db, demo_users):
    grantee = demo_users["grantee"]
    before = _value(db)
    for n in range(50):  # one transaction: the test's commit is only at the end
        db.execute(text(f"UPDATE users SET display_name = '联系人{n}' WHERE id = {grantee.id}"))
    moved = _value(db) - before
    # PostgreSQL: once per transaction (migration 0012), however many statements fire the trigger; SQLite: per row.
    assert moved == (1 if db.bind.dialect.name == "postgresql" else 50)
    db.commit()

    before = _value(db)
    savepoint = db.begin_nested()
    db.execute(text(f"UPDATE users SET display_name = '撤回' WHERE id = {grantee.id}"))
    savepoint.rollback()
    assert _value(db) == before
    db.execute(text(f"UPDATE users SET display_name = '再改' WHERE id = {grantee.id}"))
    assert _value(db) > before  # the rolled-back flag went with the savepoint
