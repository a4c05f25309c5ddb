"""The `assess` sweep (monitoring) over a demo database, next to one SQL aggregate over the same rows (never run by
CI). Goal (issue: monitoring): the sweep within 5× the aggregate.

usage: python bench/assess.py --db PATH [--repeat K]

PATH is a demo database (`tracker demo --projects 10000`); it is copied into a temporary directory first (and
migrated to the newest schema there), so the file itself is left as it was. Then, in turn:

  (a) the baseline: one SQL query reading what the sweep reads, the accepted values of every project's reports
      grouped by project (count, sum, last period end); median of K runs;
  (b) the first sweep at the bench's moment, every stored assessment deleted first: every running project
      assessed and written, history rows and red-turn mails queued; once, committed;
  (c) the same moment again, nothing changed: the projects whose recheck day has come (none) or whose
      fingerprint moved (none); median of K runs, each rolled back;
  (d) the next night after a day's work done behind the services' back (in SQL, no recompute): 1% of the running
      projects, half of them a waiting report accepted, half a draft submitted; plus whatever the day brings by
      itself (an overdue report is a day later every night); median of K runs, each rolled back with the changes;
  (e) the night after a quarter's due date (the day most stored rows name as their recheck day), the nights
      before it caught up by one sweep on its eve, committed: nearly every project's reporting calendar moved;
      median of K runs, each rolled back;
  (f) a full recompute: the moment of (c) after a monitoring setting changed (amber line 90% → 85%), which
      moves every fingerprint; median of K runs, each rolled back with the change (run before (e)).

Printed: each time with the number of projects computed, and (b)–(f) as multiples of (a).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

# `python bench/...` puts bench/ first on sys.path: import this checkout's code.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text, update  # noqa: E402

from tracker.clock import LOCAL_TZ  # noqa: E402
from tracker.db import make_engine, make_session_factory  # noqa: E402
from tracker.models import Project, ProjectAssessment, Report, ReportVersion  # noqa: E402
from tracker.schema import upgrade_database  # noqa: E402
from tracker.services import business_settings, monitoring  # noqa: E402
from tracker.services.audit import Actor  # noqa: E402

MOMENT = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)  # 02:00 in Beijing, when a nightly job runs
NIGHT = timedelta(days=1)

BASELINE = """
SELECT r.project_id, count(*), sum(v.value), max(r.period_end)
FROM reports r
JOIN report_versions rv ON rv.report_id = r.id AND rv.number = r.accepted_number
JOIN report_values v ON v.version_id = rv.id
GROUP BY r.project_id
"""

def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "db.sqlite"
        shutil.copy(args.db, copy)
        engine = make_engine(f"sqlite:///{copy}")
        upgrade_database(engine)
        sessions = make_session_factory(engine)
        with engine.connect() as conn:
            groups = len(conn.execute(text(BASELINE)).all())
            baseline = statistics.median(timed(lambda: conn.execute(text(BASELINE)).all())
                                         for _ in range(args.repeat))
            running = conn.scalar(select(func.count()).select_from(Project)
                                  .where(Project.status.in_(monitoring.ASSESSED_STATUSES)))
        lines: list[tuple[str, float, dict[str, int]]] = []

        def night(label: str, moment: datetime, prepare: Callable | None = None, *, repeat: int = args.repeat
                  ) -> None:
            """The sweep at `moment` after `prepare(db)`, each run rolled back with what it prepared."""
            times, counts = [], {}
            for _ in range(repeat):
                with sessions() as db:
                    if prepare is not None:
                        prepare(db)
                        db.flush()
                    times.append(timed(lambda db=db: counts.update(monitoring.sweep(db, moment))))
                    db.rollback()
            lines.append((f"{label} ({repeat}x, median)", statistics.median(times), counts))

        # (b) every stored assessment gone: all computed and written, committed.
        with sessions() as db:
            db.execute(ProjectAssessment.__table__.delete())
            db.commit()
        first: dict[str, int] = {}

        def first_sweep() -> None:
            with sessions() as db:
                first.update(monitoring.sweep(db, MOMENT))
                db.commit()

        lines.append(("(b) first sweep, every project new (once)", timed(first_sweep), first))
        night("(c) the same moment again, nothing changed", MOMENT)
        share = max(running // 200, 1)  # 0.5% + 0.5%

        def day_of_work(db) -> None:
            """A day's work done in SQL, so that nothing recomputes: in `share` projects a waiting report accepted
            (its latest version), in `share` others a draft submitted."""
            def first_reports(status: str) -> list[int]:
                return list(db.scalars(select(func.min(Report.id)).join(Project, Project.id == Report.project_id)
                                       .where(Report.status == status,
                                              Project.status.in_(monitoring.ASSESSED_STATUSES))
                                       .group_by(Report.project_id).limit(share)))

            latest = (select(func.max(ReportVersion.number)).where(ReportVersion.report_id == Report.id)
                      .scalar_subquery())
            accepted, drafts = first_reports("submitted"), first_reports("draft")
            db.execute(update(Report).where(Report.id.in_(accepted)).values(status="accepted", accepted_number=latest))
            at = MOMENT + NIGHT / 2
            db.execute(update(Report).where(Report.id.in_(drafts)).values(
                status="submitted", first_submitted_at=func.coalesce(Report.first_submitted_at, at),
                last_submitted_at=at))

        night(f"(d) next night, {2 * share} projects' reports accepted/submitted in SQL", MOMENT + NIGHT, day_of_work)

        def settings_changed(db) -> None:
            rules = business_settings.load(db)
            typed = {**business_settings.as_text(rules), "monitoring_amber_percent": "85"}
            business_settings.update(db, typed, seen=business_settings.fingerprint(rules),
                                     actor=Actor.system("bench"), now=MOMENT)

        night("(f) full recompute, after a settings change", MOMENT, settings_changed)

        # (e) the quarter's due date: the recheck day most rows share.
        with sessions() as db:
            busiest = db.execute(select(ProjectAssessment.recheck_on, func.count())
                                 .where(ProjectAssessment.recheck_on < monitoring.NEVER)
                                 .group_by(ProjectAssessment.recheck_on)
                                 .order_by(func.count().desc()).limit(1)).one()
            day = busiest[0]
            after_due = datetime.combine(day, clock_time(2), tzinfo=LOCAL_TZ).astimezone(UTC)  # that night, 02:00
            # The nights before it, as one catching-up sweep on its eve (committed), so that the night after the due
            # date is alone.
            monitoring.sweep(db, after_due - NIGHT)
            db.commit()
        night(f"(e) the night of {day} (a quarter's due date passed; {busiest[1]} rows named it)", after_due)

        engine.dispose()
    print(f"{running} running projects, {groups} with accepted reports")
    print(f"{'(a) one SQL aggregate over the accepted values (' + str(args.repeat) + 'x, median)':<78}"
          f"{baseline:9.1f} ms   1.0x")
    for label, ms, counts in sorted(lines):
        print(f"{label:<78}{ms:9.1f} ms {ms / baseline:5.1f}x  computed {counts.get('assessed')}, "
              f"changed {counts.get('changed')}, turned red {counts.get('turned_red')}")
    print("goal (monitoring issue): the sweep within 5x the aggregate")


if __name__ == "__main__":
    main()
