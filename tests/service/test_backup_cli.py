"""`tracker backup` and `tracker restore` as an operator runs them: separate processes that import nothing but the
command line (round 2 finding 1: the manifest counted the tables of models the process had not imported, so it
counted nothing, and restore overwrote a database full of data without --force)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def tracker(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{db}", "TRACKER_DATA_DIR": str(db.parent / "files")}
    return subprocess.run([sys.executable, "-m", "tracker", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_a_backup_counts_what_the_database_holds_and_restore_refuses_to_overwrite_it(tmp_path):
    full, fresh = tmp_path / "full.db", tmp_path / "fresh.db"
    assert tracker(full, "db", "upgrade").returncode == 0
    made = tracker(full, "users", "create", "ops-admin", "--role", "admin", "--password-stdin",
                   stdin="Correct-Horse-Battery-42\n")
    assert made.returncode == 0, made.stderr
    backup = tmp_path / "full.bak"
    assert tracker(full, "backup", str(backup)).returncode == 0
    counts = json.loads(Path(f"{backup}.manifest.json").read_text())["counts"]
    assert counts["users"] == 1 and counts["alembic_version"] == 1  # every table, counted in the database

    refused = tracker(full, "restore", str(backup))  # a database holding someone's data: only with --force
    assert refused.returncode == 1 and "--force" in refused.stderr

    assert tracker(fresh, "db", "upgrade").returncode == 0  # only what an upgrade writes by itself: no force needed
    restored = tracker(fresh, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "已校验" in restored.stdout
