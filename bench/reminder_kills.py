"""G20 at full count (never run by CI): 50 reminder cycles with a killed job process each, on SQLite and, when
TRACKER_TEST_DATABASE_URL names one, on PostgreSQL. CI's slow tier runs the same test with 10.

usage: python bench/reminder_kills.py [--kills N]

It runs tests/service/test_reminder_crashes.py with TRACKER_G20_KILLS=N and prints pytest's verdict and time
for each database: 0 lost mails, 0 duplicate outbox rows, a repeated delivery only after a kill between the
server's 250 and the commit (at most one per such kill, same Message-ID).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/service/test_reminder_crashes.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    args = parser.parse_args()
    databases = [("SQLite", "")]
    if os.environ.get("TRACKER_TEST_DATABASE_URL", "").startswith("postgres"):
        databases.append(("PostgreSQL", os.environ["TRACKER_TEST_DATABASE_URL"]))
    for label, url in databases:
        env = {**os.environ, "TRACKER_G20_KILLS": str(args.kills), "TRACKER_TEST_DATABASE_URL": url}
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-m", "slow", "-p",
                                 "no:cacheprovider", TEST], cwd=ROOT, env=env, capture_output=True, text=True)
        verdict = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
        print(f"{label}: {args.kills} killed cycles: {verdict} ({time.perf_counter() - start:.0f} s)")
        if result.returncode:
            print(result.stdout[-4000:])
            sys.exit(result.returncode)


if __name__ == "__main__":
    main()
