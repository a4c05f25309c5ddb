"""G28 at full count (never run by CI): faults of the database and of the disk under the real app, with the checks of
tests/service/test_db_faults.py (CI's slow tier runs them with reduced counts on SQLite and PostgreSQL, and
describes each scenario).

usage: python bench/db_faults.py [--database-url URL] [--terminations N] [--kills N] [--enospc N] [--seed S]

Without --database-url, SQLite files in a temporary directory; with a PostgreSQL URL (e.g.
postgresql://postgres@127.0.0.1:5432/test), databases `<its name>_g28_soak_*` created beside it and dropped after a
clean run. Runs, and prints the figures of:

- `pg_terminate_backend` of the app's connection at a random moment of an award-list import, N times (PostgreSQL
  only; default 100): answers, batches all there or not at all, the next request;
- the database full (SQLite `max_page_count`, PostgreSQL SQLSTATE 53100): 503 in Chinese, nothing written, reads 200;
- ENOSPC at a random offset of an evidence file or a pending award list, N times (default 30): 503, no row, no
  temporary file;
- `kill -9` of the web process during an award-list import, N times (default 50): the batch all or nothing,
  `PRAGMA integrity_check` = ok on SQLite, the restarted server serves.

Exit status 1 when a check found something. A verdict, not a timing: the seconds are printed, never judged.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from pathlib import Path

# `python bench/...` puts bench/ first on sys.path: import this checkout's code (and its tests).
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.service.test_db_faults import (  # noqa: E402
    build_world,
    check_full_database,
    drop_database,
    fresh_database,
    run_enospc,
    run_kills,
    run_terminations,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--terminations", type=int, default=100)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--enospc", type=int, default=30)
    parser.add_argument("--seed", type=int, default=28)
    args = parser.parse_args()
    postgresql = args.database_url.startswith("postgres")
    found: list[str] = []
    with tempfile.TemporaryDirectory(prefix="g28-soak-") as name:
        directory = Path(name)

        def world(kind: str):
            (directory / kind).mkdir()
            return build_world(fresh_database(args.database_url, directory / kind, f"soak_{kind}"), directory / kind)

        if postgresql and args.terminations:
            made = world("term")
            figures = run_terminations(made, runs=args.terminations, seed=args.seed)
            print("\n".join(figures.lines()), flush=True)
            if figures.partial or figures.next_request_failed or figures.unexpected:
                found.append("terminations")
            else:
                drop_database(made.url)

        made = world("full")
        try:
            print(check_full_database(made), flush=True)
            drop_database(made.url)
        except AssertionError:
            print("database full: FAILED\n" + traceback.format_exc(), flush=True)
            found.append("full")

        if args.enospc:
            made = world("enospc")
            figures = run_enospc(made, cases=args.enospc, seed=args.seed)
            print("\n".join(figures.lines()), flush=True)
            if figures.findings:
                found.append("enospc")
            else:
                drop_database(made.url)

        if args.kills:
            made = world("kill")
            figures = run_kills(made, directory / "kill", kills=args.kills, seed=args.seed)
            print("\n".join(figures.lines()), flush=True)
            if figures.partial or figures.integrity or figures.after_restart:
                found.append("kills")
            else:
                drop_database(made.url)

    if found:
        print(f"G28: FOUND problems in {found}")
        sys.exit(1)
    print("G28: 0 partial writes, every fault answered in Chinese (503), the next request served")


if __name__ == "__main__":
    main()
