"""G29's restore drill at full size (never run by CI; CI's slow tier runs tests/service/test_restore_drill.py with 100).

usage: python bench/restore_drill.py [--projects N] [--evidence-mb M] [--database-url URL] [--keep]

Without --database-url, SQLite files in a temporary directory; with a PostgreSQL URL (e.g.
postgresql://postgres@127.0.0.1:5432/test), two databases created beside the named one and dropped at the end.
As an operator runs it, each step a `python -m tracker` process given only the environment:

1. seed: `tracker demo --projects N` (default 1,000: the report histories and evidence files written in bulk,
   DESIGN §3); then, with --evidence-mb M (default 200, G29's "about 200 MB"), the demo's small evidence files are
   grown with random bytes to M MB in all, their rows' size and SHA-256 updated to match;
2. `tracker backup PATH` (the database, PATH.evidence.tar, PATH.manifest.json);
3. `tracker restore PATH` into a new database and an empty data directory: restore and every verification.

The baseline of the same run is the raw copy without any check: for SQLite, copying the database file and the
evidence folder; for PostgreSQL, `pg_dump -Fc` and `pg_restore` into a third database plus copying the evidence
folder. Printed: the load average, each step's seconds (and the backup and restore as ratios of the raw copy),
the sizes of the three backup files, the row counts, the command's own summary lines; the goal is restore + verify
≤ 120 s. Exit status 1 when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 120


def tracker(url: str, data_dir: Path, *args: str) -> tuple[float, str]:
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_DATA_DIR": str(data_dir), "TRACKER_ENV": "dev"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tracker", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"tracker {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return seconds, done.stdout.strip()


def grow_evidence(url: str, data_dir: Path, megabytes: int) -> tuple[int, int]:
    """Append random bytes to every evidence file (after a PDF's %%EOF or a PNG's IEND: still readable) until the
    store holds about `megabytes`; update each row's size and SHA-256. Returns (files, bytes)."""
    import hashlib

    engine = create_engine(url if not url.startswith("postgresql://") else "postgresql+psycopg://" + url[13:])
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, storage_name FROM evidence_files ORDER BY id")).all()
        if not rows:
            return 0, 0
        extra = max(0, megabytes * (1 << 20) // len(rows))
        total = 0
        updates = []
        for row_id, name in rows:
            path = data_dir / "evidence" / name[:2] / name
            path.chmod(0o640)
            with path.open("ab") as fh:
                fh.write(secrets.token_bytes(extra))
            path.chmod(0o440)
            data = path.read_bytes()
            total += len(data)
            updates.append({"id": row_id, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        conn.execute(text("UPDATE evidence_files SET size = :size, sha256 = :sha256 WHERE id = :id"), updates)
    engine.dispose()
    return len(rows), total


def raw_copy(url: str, source_files: Path, work: Path, spare_url: str) -> float:
    start = time.perf_counter()
    if url.startswith("sqlite"):
        shutil.copyfile(make_url(url).database, work / "raw.db")
    else:
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        spare = make_url(spare_url).set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(work / "raw.dump"), libpq],
                       check=True)
        subprocess.run(["pg_restore", "--no-owner", "--single-transaction", "--dbname", spare,
                        str(work / "raw.dump")], check=True)
    shutil.copytree(source_files / "evidence", work / "raw-evidence")
    return time.perf_counter() - start


def size(path: Path) -> str:
    return f"{path.stat().st_size / (1 << 20):.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--evidence-mb", type=int, default=200, help="grow the evidence files to this total (0: no)")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (and print it)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-restore-"))
    created: list[str] = []
    admin = None
    if args.database_url:
        base = make_url(args.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        admin = create_engine(base, isolation_level="AUTOCOMMIT")

    def database(label: str) -> str:
        if admin is None:
            return f"sqlite:///{work / f'{label}.db'}"
        name = f"tracker_bench_drill_{label}_{uuid.uuid4().hex[:6]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    kind = "PostgreSQL" if admin is not None else "SQLite"
    print(f"{kind}, {args.projects} projects; load average {os.getloadavg()[0]:.2f}", flush=True)
    try:
        source, source_files = database("source"), work / "source-files"
        seconds, out = tracker(source, source_files, "demo", "--projects", str(args.projects))
        print(f"seed: tracker demo --projects {args.projects}  {seconds:6.1f} s")
        for line in out.splitlines()[:5]:
            print(f"  | {line}")
        if args.evidence_mb:
            start = time.perf_counter()
            files, total = grow_evidence(source, source_files, args.evidence_mb)
            print(f"seed: evidence grown to {total / (1 << 20):.0f} MB in {files} files  "
                  f"{time.perf_counter() - start:6.1f} s")

        baseline = raw_copy(source, source_files, work, database("raw") if admin is not None else "")
        print(f"baseline: raw copy of the database and the evidence folder, no checks  {baseline:6.1f} s")

        backup = work / "backup" / "tracker.bak"
        seconds, out = tracker(source, source_files, "backup", str(backup))
        print(f"backup: tracker backup  {seconds:6.1f} s  {seconds / baseline:5.1f}x the raw copy")
        print(f"  | {out}")
        manifest = json.loads(Path(f"{backup}.manifest.json").read_text("utf-8"))
        print(f"  sizes: database {size(backup)}, evidence archive {size(Path(f'{backup}.evidence.tar'))}, "
              f"manifest {size(Path(f'{backup}.manifest.json'))}")
        counts = manifest["counts"]
        print(f"  counts: {len(counts)} tables, {sum(counts.values())} rows; projects {counts['projects']}, "
              f"reports {counts['reports']}, report versions {counts['report_versions']}, "
              f"evidence files {counts['evidence_files']} ({manifest['evidence']['count']} in the archive, "
              f"{manifest['evidence']['bytes'] / (1 << 20):.1f} MB), audit rows {counts['audit_log']}")

        target, target_files = database("target"), work / "target-files"
        seconds, out = tracker(target, target_files, "restore", str(backup))
        verdict = "met" if seconds <= GOAL_SECONDS else "NOT met"
        print(f"restore + verify: tracker restore into a new database  {seconds:6.1f} s  "
              f"{seconds / baseline:5.1f}x the raw copy  (goal ≤ {GOAL_SECONDS} s: {verdict})")
        print(f"  | {out}")
    finally:
        if admin is not None:
            with admin.connect() as conn:
                for name in created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
