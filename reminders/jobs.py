"""Scheduled jobs: each is a plain function of (session, now) that sweeps database state idempotently
(the Healthchecks pattern). The scheduler only calls them. The reminder, shortfall, readiness and
disbursement sweeps arrive with the monitoring issues; the registry is where they are listed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tracker.services import sessions


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Session, datetime], dict[str, int]]
    every_minutes: int
    description: str


def purge_expired_sessions(db: Session, now: datetime) -> dict[str, int]:
    return {"deleted": sessions.purge_expired(db, now=now, policy=sessions.SessionPolicy())}


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("purge-sessions", purge_expired_sessions, 60, "删除已过期的登录会话"),
    )
}
