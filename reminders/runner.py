"""Running one job: a `job_runs` row opened before and closed after, whatever happens in between, so that every
run shows on the admin's jobs page with its counts, duration and error. Used by the scheduler and by
`tracker jobs run`."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from reminders.jobs import JOBS
from tracker.db import session_scope
from tracker.services.scheduling import finish_run, start_run

log = logging.getLogger("tracker.jobs")


@dataclass(frozen=True)
class RunOutcome:
    job: str
    run_id: int
    counts: dict[str, Any]
    error: str

    @property
    def ok(self) -> bool:
        return not self.error


def run_job(factory: sessionmaker[Session], name: str, *, now: datetime, runner: str) -> RunOutcome:
    """Run the job `name` as of `now` in its own transaction and record the run. Never raises for the job's own
    failure: the error is recorded (and logged with its traceback) and returned."""
    job = JOBS[name]
    with session_scope(factory) as db:
        run_id = start_run(db, name, now=now, runner=runner).id
    started = time.monotonic()
    counts: dict[str, Any] = {}
    error = ""
    try:
        with session_scope(factory) as db:
            counts = job.run(db, now)
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, and the next tick tries again
        log.exception("job %s failed", name)
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    finished = now + timedelta(seconds=time.monotonic() - started)
    with session_scope(factory) as db:
        finish_run(db, run_id, now=finished, counts=counts, error=error)
    log.info("job %s %s: %s", name, "failed" if error else "done", counts)
    return RunOutcome(name, run_id, counts, error)
