"""The scheduler's bookkeeping in the database: the lease that makes exactly one scheduler process active, and a
row per job run, so that the admin sees when each job last succeeded (a silent scheduler is the usual way reminder
systems fail, DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tracker.db import UTCDateTime
from tracker.models import JobRun, MailStatus, OutboxMail, SchedulerLease

LEASE = "scheduler"


# --- the lease ---------------------------------------------------------------------------------------------------


def take_lease(db: Session, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease for `ttl`: True for the holder that has it; False while another's is unexpired.

    A conditional UPDATE decides, so two processes asking at once cannot both win (the Healthchecks pattern)."""
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    db.execute(dialect.insert(SchedulerLease).values(name=LEASE, holder="", acquired_at=now, heartbeat_at=now,
                                                     expires_at=now).on_conflict_do_nothing(index_elements=["name"]))
    renewed = db.execute(update(SchedulerLease)
                         .where(SchedulerLease.name == LEASE, SchedulerLease.holder == holder,
                                SchedulerLease.expires_at >= now)
                         .values(heartbeat_at=now, expires_at=now + ttl))
    if renewed.rowcount == 1:
        return True
    taken = db.execute(update(SchedulerLease)
                       .where(SchedulerLease.name == LEASE,
                              (SchedulerLease.expires_at < now) | (SchedulerLease.holder == ""))
                       .values(holder=holder, acquired_at=now, heartbeat_at=now, expires_at=now + ttl))
    return taken.rowcount == 1


def give_up_lease(db: Session, holder: str, *, now: datetime) -> None:
    """A scheduler that stops lets another take over at once instead of after the lease expires."""
    db.execute(update(SchedulerLease).where(SchedulerLease.name == LEASE, SchedulerLease.holder == holder)
               .values(expires_at=now, holder=""))


def current_lease(db: Session, *, now: datetime) -> SchedulerLease | None:
    """The lease if a scheduler holds it now."""
    lease = db.get(SchedulerLease, LEASE)
    return lease if lease is not None and lease.holder and lease.expires_at >= now else None


# --- runs --------------------------------------------------------------------------------------------------------


def start_run(db: Session, job: str, *, now: datetime, runner: str) -> JobRun:
    run = JobRun(job=job, started_at=now, result="running", counts={}, error="", runner=runner[:120])
    db.add(run)
    db.flush()
    return run


def finish_run(db: Session, run_id: int, *, now: datetime, counts: dict[str, Any] | None = None,
               error: str = "") -> None:
    run = db.get(JobRun, run_id)
    if run is None:
        return
    run.finished_at = now
    run.result = "failed" if error else "ok"
    run.counts = counts or {}
    run.error = error[:4000]
    db.flush()


@dataclass(frozen=True)
class JobHealth:
    job: str
    every_minutes: int
    last_run: JobRun | None
    last_success: JobRun | None
    stale: bool  # no success within two intervals (or none at all)


def job_health(db: Session, schedule: dict[str, int], *, now: datetime) -> list[JobHealth]:
    """Each scheduled job (name → interval in minutes) with its last run and last success (two queries)."""
    latest = {run.job: run for run in db.scalars(
        select(JobRun).where(JobRun.id.in_(select(func.max(JobRun.id)).group_by(JobRun.job))))}
    succeeded = {run.job: run for run in db.scalars(
        select(JobRun).where(JobRun.id.in_(select(func.max(JobRun.id)).where(JobRun.result == "ok")
                                           .group_by(JobRun.job))))}
    out = []
    for job, minutes in schedule.items():
        success = succeeded.get(job)
        stale = success is None or (success.finished_at or success.started_at) < now - timedelta(minutes=2 * minutes)
        out.append(JobHealth(job, minutes, latest.get(job), success, stale))
    return out


def alerts(db: Session, schedule: dict[str, int], *, now: datetime, dead_mail: bool) -> list[tuple[str, str]]:
    """What an admin or officer must know about the scheduler (DESIGN §3: a silent scheduler is how reminder
    systems usually fail), as (what it concerns, message): nobody holds the lease, or a job has not succeeded within
    two intervals; for the admin (`dead_mail`) also mails that could not be delivered."""
    jobs = tuple(schedule)
    held, dead_count, *latest = db.execute(_alerts_query(jobs, dead_mail), {"now": now}).one()
    found = []
    if not held:
        found.append(("jobs", "定时任务没有在运行：提醒邮件不会生成和发出。请启动 tracker scheduler"
                              "（或不带 --no-scheduler 的 tracker serve）。"))
    else:
        succeeded = dict(zip(jobs, latest, strict=True))
        stale = [job for job, minutes in schedule.items()
                 if succeeded.get(job) is None or succeeded[job] < now - timedelta(minutes=2 * minutes)]
        if stale:
            found.append(("jobs", f"定时任务 {'、'.join(stale)} 已超过两个运行周期没有成功完成。"))
    if dead_count:
        found.append(("mail", f"有 {dead_count} 封邮件发送失败，请查看原因。"))
    return found


@lru_cache(maxsize=8)
def _alerts_query(jobs: tuple[str, ...], dead_mail: bool):
    """One query, each part an indexed look-up (the lease by key, each job's last success by (job, result,
    finished_at), dead mail by status). It runs on every officer's and admin's page, so it is built once: building
    and keying a fresh statement cost several times what SQLite takes to answer it."""
    lease = select(func.count()).where(SchedulerLease.name == LEASE, SchedulerLease.holder != "",
                                       SchedulerLease.expires_at >= bindparam("now", type_=UTCDateTime)
                                       ).scalar_subquery()
    dead = (select(func.count()).select_from(OutboxMail).where(OutboxMail.status == MailStatus.DEAD)
            .scalar_subquery() if dead_mail else literal(0))
    return select(lease, dead, *(select(func.max(JobRun.finished_at)).where(
        JobRun.job == job, JobRun.result == "ok").scalar_subquery() for job in jobs))


def last_success(db: Session, job: str, *, before: datetime) -> datetime | None:
    """When the last successful run of `job` started (before `before`)."""
    return db.scalar(select(func.max(JobRun.started_at)).where(JobRun.job == job, JobRun.result == "ok",
                                                               JobRun.started_at < before))


def recent_runs(db: Session, *, job: str | None = None, limit: int = 50) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(db.scalars(query))
