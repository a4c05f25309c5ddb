"""APScheduler wiring, and nothing else: the only module that imports apscheduler (DESIGN §3)."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session, sessionmaker

from reminders.jobs import JOBS, Job
from tracker import clock
from tracker.db import session_scope

log = logging.getLogger("tracker.scheduler")


def _runner(factory: sessionmaker[Session], job: Job):
    def run() -> None:
        try:
            with session_scope(factory) as db:
                counts = job.run(db, clock.now())
            log.info("job %s done: %s", job.name, counts)
        except Exception:
            log.exception("job %s failed", job.name)

    return run


def _configure(scheduler: BackgroundScheduler | BlockingScheduler, factory: sessionmaker[Session]) -> None:
    for job in JOBS.values():
        scheduler.add_job(_runner(factory, job), "interval", minutes=job.every_minutes, id=job.name,
                          coalesce=True, max_instances=1, replace_existing=True)


def start_in_process(factory: sessionmaker[Session]) -> BackgroundScheduler:
    """The embedded default: the scheduler runs in a thread of `tracker serve`."""
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    _configure(scheduler, factory)
    scheduler.start()
    return scheduler


def run_forever(factory: sessionmaker[Session]) -> None:
    """`tracker scheduler`: the one scheduler process of a production deployment."""
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    _configure(scheduler, factory)
    log.info("scheduler started with jobs: %s", ", ".join(JOBS))
    scheduler.start()
