"""APScheduler wiring, and nothing else: the only module that imports apscheduler (DESIGN §3).

Any number of processes may run a scheduler (`tracker serve` starts one in process unless told not to, and
production runs one `tracker scheduler`), but only the holder of the database lease runs jobs. Every scheduler
renews or tries to take the lease on a heartbeat; when the holder dies, its lease expires and another takes over.
The jobs themselves are idempotent sweeps, so even an overlap at the hand-over does no harm.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session, sessionmaker

from reminders.jobs import JOBS
from reminders.runner import run_job
from tracker import clock
from tracker.db import session_scope
from tracker.services.scheduling import give_up_lease, take_lease

log = logging.getLogger("tracker.scheduler")

LEASE_TTL = timedelta(seconds=90)
HEARTBEAT_SECONDS = 30
# A run delayed by a busy machine still happens if it is this late; several missed runs make one (coalesce).
MISFIRE_GRACE_SECONDS = 600


class LeasedScheduler:
    """The jobs of JOBS on an APScheduler scheduler, run only while this process holds the lease."""

    def __init__(self, factory: sessionmaker[Session], scheduler: BackgroundScheduler | BlockingScheduler) -> None:
        self.factory = factory
        self.scheduler = scheduler
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._active = threading.Event()
        scheduler.add_job(self.heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id="lease-heartbeat",
                          coalesce=True, max_instances=1, misfire_grace_time=HEARTBEAT_SECONDS, replace_existing=True,
                          next_run_time=clock.now())
        for job in JOBS.values():
            # Each job runs once at start, then at its interval: a restart never waits an interval to catch up.
            scheduler.add_job(self._runner(job.name), "interval", minutes=job.every_minutes, id=job.name,
                              coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE_SECONDS,
                              replace_existing=True, next_run_time=clock.now() + timedelta(seconds=5))

    def heartbeat(self) -> bool:
        """Renew the lease, or take it if its holder has gone quiet; remember whether this process is active."""
        try:
            with session_scope(self.factory) as db:
                held = take_lease(db, self.holder, now=clock.now(), ttl=LEASE_TTL)
        except Exception:  # noqa: BLE001 - a database hiccup: stay passive until the next heartbeat works
            log.exception("scheduler lease heartbeat failed")
            held = False
        if held != self._active.is_set():
            log.info("scheduler %s is now %s", self.holder, "active" if held else "standing by")
        self._active.set() if held else self._active.clear()
        return held

    def _runner(self, name: str):
        def run() -> None:
            # Renewing before each run also catches a lease lost while the process was stalled.
            if self.heartbeat():
                run_job(self.factory, name, now=clock.now(), runner=self.holder)

        return run

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        try:
            with session_scope(self.factory) as db:
                give_up_lease(db, self.holder, now=clock.now())
        except Exception:  # noqa: BLE001 - the lease then simply expires
            log.exception("could not give up the scheduler lease")


def start_in_process(factory: sessionmaker[Session]) -> LeasedScheduler:
    """The embedded default: the scheduler runs in a thread of `tracker serve`."""
    scheduled = LeasedScheduler(factory, BackgroundScheduler(timezone="Asia/Shanghai"))
    scheduled.scheduler.start()
    return scheduled


def run_forever(factory: sessionmaker[Session]) -> None:
    """`tracker scheduler`: the scheduler process of a production deployment."""
    scheduled = LeasedScheduler(factory, BlockingScheduler(timezone="Asia/Shanghai"))
    log.info("scheduler %s started with jobs: %s", scheduled.holder, ", ".join(JOBS))
    try:
        scheduled.scheduler.start()
    finally:
        scheduled.stop()
