"""G23 at full count (never run by CI): the disbursement trigger and sweep in concurrent worker processes, one of
them killed with SIGKILL at a random moment and restarted, 50 times; then the exactly-once checks. CI's slow tier
runs the same scenario with 10 kills (tests/service/test_disbursement_crashes.py, which describes the phases).

usage: python bench/disbursement_soak.py [--kills N] [--database-url URL] [--seed S]

Without --database-url, a SQLite file in a temporary directory; with a PostgreSQL URL (e.g.
postgresql://postgres@127.0.0.1:5432/test), a database `<its name>_g23_soak` created beside it and dropped after a
clean run. Prints the figures: kills, sweep runs (and those killed mid-run), the desk's corrections and finance's
steps, rows by status, duplicates found, any other finding, seconds per phase. Exit status 1 when a check found
something. A verdict, not a timing: the seconds are printed, never judged.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

# `python bench/...` puts bench/ first on sys.path: import this checkout's code (and its tests).
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.service.test_disbursement_crashes import drop_database, fresh_database, run_scenario  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="g23-soak-") as directory:
        url = fresh_database(args.database_url, Path(directory), "soak")
        figures = run_scenario(url, Path(directory), kills=args.kills, seed=args.seed)
        print("\n".join(figures.lines()))
        if figures.findings:
            for name, items in figures.findings.items():
                print(f"FOUND {name}: {len(items)}: {items[:10]}")
            print(f"(the database is kept: {url})" if url.startswith("postgresql") else "")
            sys.exit(1)
        drop_database(url)
        print(f"G23: 0 duplicates, 0 missing, 0 stale, Σ within the award, every amount a whole-yuan Decimal, audit "
              f"chain intact after {figures.kills} kills")


if __name__ == "__main__":
    main()
