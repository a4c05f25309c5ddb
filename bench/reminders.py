"""The `reminders` sweep at 10,000 projects, next to one SQL query counting the same remindable periods (never run
by CI). Goal (issue: scheduled jobs and e-mail): a sweep tick within 5× that query.

usage: python bench/reminders.py [--projects N] [--repeat K]

In a temporary directory: the demo database (`tracker demo`, 60 projects with their report histories), grown to N
projects by copying its projects in SQL (each copy in 在研 or 延期 with a confirmed task book and a contact address,
and no reports, so that most of its periods are overdue: the heaviest case for reminders). Then, in turn:

  (a) the baseline: one SQL query counting the unsubmitted periods of running projects with a confirmed task book
      that are due within the reminders' lead (quarters from start to end, due 15 days after the quarter; it ignores
      holidays, so its count may differ by a few from the sweep's); median of K runs;
  (b) the first sweep at the bench's moment (a Friday 10:00): it looks at every project, queues every reminder and
      the officers' digests, and sets each project's next moment; once;
  (c) a tick 15 minutes later: only the projects whose next moment has come (none) and the digest check; median
      of K runs, each rolled back;
  (d) the next day's first tick after the digest time: the daily full pass that builds the digests and looks at
      every project again (most reminders already queued); median of K runs, each rolled back.

Printed: each time, and (b), (c), (d) as multiples of (a).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MOMENT = datetime(2027, 1, 8, 2, 0, tzinfo=UTC)  # 10:00 in Beijing

BASELINE = """
WITH RECURSIVE quarters(project_id, quarter_start, last_day, idx) AS (
    SELECT p.id, p.start_date, p.end_date, 1 FROM projects p
    WHERE p.status IN ('active', 'extended')
      AND EXISTS (SELECT 1 FROM target_sets t WHERE t.project_id = p.id AND t.confirmed)
    UNION ALL
    SELECT project_id,
           date(quarter_start, 'start of month',
                '+' || (3 - (CAST(strftime('%m', quarter_start) AS INTEGER) - 1) % 3) || ' months'),
           last_day, idx + 1
    FROM quarters
    WHERE date(quarter_start, 'start of month',
               '+' || (3 - (CAST(strftime('%m', quarter_start) AS INTEGER) - 1) % 3) || ' months') <= last_day
)
SELECT count(*) FROM quarters q
WHERE date(min(date(q.quarter_start, 'start of month',
                    '+' || (3 - (CAST(strftime('%m', q.quarter_start) AS INTEGER) - 1) % 3) || ' months',
                    '-1 day'), q.last_day), '+15 days') <= :horizon
  AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.project_id = q.project_id AND r.period_index = q.idx
                  AND r.first_submitted_at IS NOT NULL)
"""


def grow(url: str, projects: int) -> int:
    """Copy the demo's projects until there are `projects`: every copy running, confirmed, with an address."""
    from sqlalchemy import func, insert, select

    from tracker.db import make_engine
    from tracker.models import Project, TargetSet, project_contacts

    engine = make_engine(url)
    columns = [c for c in Project.__table__.columns if c.name not in ("id", "code")]
    with engine.begin() as conn:
        templates = conn.execute(select(Project)).mappings().all()
        have = len(templates)
        rows = []
        for i in range(projects - have):
            template = dict(templates[i % have])
            row = {c.name: template[c.name] for c in columns}
            row.update(code=f"BENCH-{i:06d}", status="active" if i % 5 else "extended", next_reminder_at=None,
                       pi_email=f"bench{i}@demo.invalid")
            rows.append(row)
        for start in range(0, len(rows), 1000):
            conn.execute(insert(Project), rows[start:start + 1000])
        new_ids = conn.execute(select(Project.id).where(Project.code.like("BENCH-%"))).scalars().all()
        now = datetime.now(UTC)
        sets = [{"project_id": pid, "version": 1, "confirmed": True, "confirmed_at": now, "created_at": now,
                 "reason": "bench"} for pid in new_ids]
        for start in range(0, len(sets), 1000):
            conn.execute(insert(TargetSet), sets[start:start + 1000])
        contact = conn.execute(select(project_contacts.c.user_id).limit(1)).scalar()
        if contact is not None:
            conn.execute(insert(project_contacts), [{"project_id": pid, "user_id": contact} for pid in new_ids[::50]])
        total = conn.execute(select(func.count()).select_from(Project)).scalar_one()
    engine.dispose()
    return total


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from sqlalchemy import text
    from sqlalchemy.orm import sessionmaker

    from tracker.db import make_engine
    from tracker.services import business_settings, reminders

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_DATA_DIR": str(Path(folder) / "files")}
        print("building the demo database …", flush=True)
        subprocess.run([sys.executable, "-m", "tracker", "demo"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        total = grow(url, args.projects)
        print(f"projects: {total}")
        engine = make_engine(url)
        factory = sessionmaker(bind=engine)
        with factory() as db:
            rules = business_settings.load(db)
        lead = max(0, -min(rules.reminder_stages))
        horizon = (MOMENT.date() + timedelta(days=lead)).isoformat()

        bases = []
        for _ in range(args.repeat):
            with engine.connect() as conn:
                elapsed, count = timed(lambda c=conn: c.execute(text(BASELINE), {"horizon": horizon}).scalar())
            bases.append(elapsed)
        base = statistics.median(bases)

        with factory() as db:
            first, counts = timed(lambda: reminders.queue_reminders(db, MOMENT, rules))
            periods = len(reminders.remindable_periods(db, reminders.remindable_projects(db),
                                                       today=MOMENT.date(), due_days=rules.report_due_days,
                                                       lead_days=lead))
            db.commit()

        def repeated(moment: datetime) -> tuple[float, dict]:
            times, result = [], {}
            for _ in range(args.repeat):
                with factory() as db:
                    elapsed, result = timed(lambda d=db: reminders.queue_reminders(d, moment, rules, since=MOMENT))
                    db.rollback()
                times.append(elapsed)
            return statistics.median(times), result

        tick, tick_counts = repeated(MOMENT + timedelta(minutes=15))
        daily, daily_counts = repeated(MOMENT + timedelta(days=1))
        engine.dispose()

    print(f"remindable periods: {count} by the SQL count, {periods} by the sweep's rules (holidays move some dues)")
    print(f"{'(a) one SQL count (median)':<44}{base * 1000:10.1f} ms    1.0x")
    print(f"{'(b) first sweep, every project (once)':<44}{first * 1000:10.1f} ms  {first / base:6.1f}x   {counts}")
    print(f"{'(c) a tick 15 minutes later (median)':<44}{tick * 1000:10.1f} ms  {tick / base:6.1f}x   "
          f"{tick_counts}")
    print(f"{'(d) the next day first tick (median)':<44}{daily * 1000:10.1f} ms  {daily / base:6.1f}x   "
          f"{daily_counts}")
    print("goal: a tick within 5x the count (shared machine: compare the ratios, not the milliseconds)")


if __name__ == "__main__":
    main()
