"""The one place that reads the wall clock, so that tests can move time (time-machine)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Aware UTC now. Everything is stored in UTC and shown in Asia/Shanghai."""
    return datetime.now(UTC)


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)


def today_local() -> date:
    return local(now()).date()
