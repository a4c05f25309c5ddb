"""Column types, connection settings and migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tracker.db import Base, Money, UTCDateTime
from tracker.models import Organisation


def test_migrations_match_the_models(connection):
    diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_times_are_stored_in_utc_and_come_back_aware(db):
    beijing = timezone(timedelta(hours=8))
    org = Organisation(uscc="91450200MA5K0DEM0K", name="x", division_code="450200", kind="enterprise",
                       is_active=True, created_at=datetime(2026, 1, 1, 9, 0, tzinfo=beijing))
    db.add(org)
    db.commit()
    db.expire_all()
    stored = db.get(Organisation, org.id).created_at
    assert stored == datetime(2026, 1, 1, 1, 0, tzinfo=UTC) and stored.tzinfo is not None


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)


def test_money_is_decimal_rounded_half_up_to_the_fen():
    money = Money()
    assert money.process_bind_param(Decimal("1.005"), None) == Decimal("1.01")
    assert money.process_bind_param(Decimal("2.345"), None) == Decimal("2.35")
    assert money.process_result_value("12.5", None) == Decimal("12.50")
    with pytest.raises(TypeError):
        money.process_bind_param(1.5, None)


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(connection):
    if connection.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_money_column_round_trips_exactly(connection):
    from sqlalchemy import Column, Integer, MetaData, Table, insert, select

    meta = MetaData()
    table = Table("money_probe", meta, Column("id", Integer, primary_key=True), Column("amount", Money()))
    meta.create_all(connection)
    connection.execute(insert(table), [{"amount": Decimal("12345678901234.56")}, {"amount": Decimal("0.01")}])
    values = connection.execute(select(table.c.amount).order_by(table.c.id)).scalars().all()
    assert values == [Decimal("12345678901234.56"), Decimal("0.01")]
