"""The `assess` sweep (monitoring) over a demo database, next to one SQL aggregate over the same rows (never run by
CI). Goal (issue: monitoring): the sweep within 5× the aggregate.

usage: python bench/assess.py --db PATH [--repeat K]

PATH is a demo database (`tracker demo --projects 10000`); it is copied into a temporary directory first, so the
file itself is left as it was. Then, in turn:

  (a) the baseline: one SQL query reading what the sweep reads, the accepted values of every project's reports
      grouped by project (count, sum, last period end); median of K runs;
  (b) the first sweep at the bench's moment: every running project assessed, the rows whose figures moved since
      the demo written, history rows and red-turn mails queued; once, committed;
  (c) the sweep again at the same moment: every project assessed, nothing left to write (the nightly steady
      state); median of K runs, each rolled back.

Printed: each time, and (b) and (c) as multiples of (a).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# `python bench/...` puts bench/ first on sys.path: import this checkout's code.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from tracker.db import make_engine, make_session_factory  # noqa: E402
from tracker.services import monitoring  # noqa: E402

MOMENT = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)  # 02:00 in Beijing, when a nightly job runs

BASELINE = """
SELECT r.project_id, count(*), sum(v.value), max(r.period_end)
FROM reports r
JOIN report_versions rv ON rv.report_id = r.id AND rv.number = r.accepted_number
JOIN report_values v ON v.version_id = rv.id
GROUP BY r.project_id
"""


def timed(run) -> float:
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
        sessions = make_session_factory(engine)
        with engine.connect() as conn:
            groups = len(conn.execute(text(BASELINE)).all())
            baseline = statistics.median(timed(lambda: conn.execute(text(BASELINE)).all())
                                         for _ in range(args.repeat))
        counts: dict[str, int] = {}

        def first() -> None:
            with sessions() as db:
                counts.update(monitoring.sweep(db, MOMENT))
                db.commit()

        def again() -> None:
            with sessions() as db:
                monitoring.sweep(db, MOMENT)
                db.rollback()

        first_ms = timed(first)
        again_ms = statistics.median(timed(again) for _ in range(args.repeat))
        engine.dispose()
    print(f"{groups} projects with accepted reports; the sweep: {counts}")
    print(f"(a) one SQL aggregate over the accepted values ({args.repeat}x, median)  {baseline:9.1f} ms   1.0x")
    print(f"(b) first sweep (writes what moved, once)                   {first_ms:9.1f} ms  "
          f"{first_ms / baseline:5.1f}x")
    print(f"(c) the sweep again, nothing to write ({args.repeat}x, median)        {again_ms:9.1f} ms  "
          f"{again_ms / baseline:5.1f}x")
    print("goal (monitoring issue): the sweep within 5x the aggregate")


if __name__ == "__main__":
    main()
