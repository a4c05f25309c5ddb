"""G29's restore drill, as an operator runs it: a demo of 100 projects with report histories and evidence files,
`tracker backup`, then `tracker restore` into a fresh database and a fresh data directory, each a separate process
given nothing but the environment; then the same backup with its evidence archive damaged. The 1,000-project soak
is bench/restore_drill.py. On SQLite, and on PostgreSQL when TRACKER_TEST_DATABASE_URL names one (CI runs both)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import postgresql_url_for_this_process
from tracker.backup import table_counts
from tracker.db import make_engine

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]

PROJECTS = 100
SUMMARY = re.compile(r"恢复完成并已校验：(\d+) 张表 (\d+) 行与备份清单一致，数据库版本 (\w+)，审计日志 (\d+) 条哈希链完整，"
                     r"佐证文件 (\d+) 个（[^）]+）齐全且 SHA-256 一致（本次写入 (\d+) 个）")


def tracker(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_DATA_DIR": str(data_dir), "TRACKER_ENV": "dev"}
    return subprocess.run([sys.executable, "-m", "tracker", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fresh_database(tmp_path) -> Iterator[Callable[[str], str]]:
    """A new, empty database per call: a SQLite file not yet created, or a PostgreSQL database of its own beside
    the one this test process owns (dropped at the end)."""
    base = postgresql_url_for_this_process()
    created: list[str] = []
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT") if base else None

    def make(label: str) -> str:
        if admin is None:
            return f"sqlite:///{tmp_path / f'{label}.db'}"
        name = f"tracker_drill_{label}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(base).set(database=name).render_as_string(hide_password=False)

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def evidence_rows(url: str) -> dict[str, tuple[int, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {name: (size, digest) for name, size, digest in
                    conn.execute(text("SELECT storage_name, size, sha256 FROM evidence_files"))}
    finally:
        engine.dispose()


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        return table_counts(engine)
    finally:
        engine.dispose()


def damage(archive: Path) -> tuple[str, str]:
    """Rewrite the evidence archive without one file and with one byte of another flipped: (dropped, flipped)."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if m.isreg()]
    dropped, flipped = members[3][0].name, members[7][0].name
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, data in members:
            if member.name == dropped:
                continue
            if member.name == flipped:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            tar.addfile(member, io.BytesIO(data))
    return dropped.split("/")[1], flipped.split("/")[1]


def test_restore_drill_backup_then_restore_into_a_fresh_database_verifies_every_table_and_file(
        fresh_database, tmp_path):
    timings = {}
    source_url, source_files = fresh_database("source"), tmp_path / "source-files"

    started = time.monotonic()
    seeded = tracker(source_url, source_files, "demo", "--projects", str(PROJECTS))
    timings["seed"] = time.monotonic() - started
    assert seeded.returncode == 0, seeded.stderr
    source_counts = counts(source_url)
    source_evidence = evidence_rows(source_url)
    # A database worth the drill: every project, report histories with versions in several states, evidence files.
    assert source_counts["projects"] == PROJECTS
    assert source_counts["report_versions"] > source_counts["reports"] > 5 * PROJECTS
    assert source_counts["report_reviews"] > 0 and len(source_evidence) > PROJECTS

    backup = tmp_path / "backups" / "tracker.bak"
    started = time.monotonic()
    made = tracker(source_url, source_files, "backup", str(backup))
    timings["backup"] = time.monotonic() - started
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"备份完成：{backup}") and f"佐证文件 {len(source_evidence)} 个" in made.stdout
    manifest = json.loads(Path(f"{backup}.manifest.json").read_text("utf-8"))
    archive = Path(f"{backup}.evidence.tar")
    assert manifest["counts"] == source_counts  # counted in the database (the snapshot of the dump)
    assert manifest["evidence"]["archive"] == archive.name and manifest["evidence"]["sha256"] == sha256(archive)
    listed = {entry["path"]: entry for entry in manifest["evidence"]["files"]}
    assert {path.split("/")[1] for path in listed} == set(source_evidence)
    assert manifest["evidence"]["count"] == len(listed)
    assert manifest["evidence"]["bytes"] == sum(entry["size"] for entry in listed.values())
    assert manifest["evidence"]["missing"] == [] and manifest["evidence"]["corrupt"] == []

    # The drill: a new database and an empty data directory, as on a replacement server.
    target_url, target_files = fresh_database("target"), tmp_path / "target-files"
    started = time.monotonic()
    restored = tracker(target_url, target_files, "restore", str(backup))
    timings["restore+verify"] = time.monotonic() - started
    assert restored.returncode == 0, restored.stderr
    assert "Traceback" not in restored.stderr
    line = restored.stdout.strip()
    assert "\n" not in line
    summary = SUMMARY.fullmatch(line)
    assert summary, line
    assert (int(summary[1]), int(summary[2])) == (len(source_counts), sum(source_counts.values()))
    assert summary[3] == manifest["revision"] and int(summary[4]) == source_counts["audit_log"]
    assert int(summary[5]) == int(summary[6]) == len(source_evidence)
    assert counts(target_url) == source_counts == manifest["counts"]
    # Every evidence file the restored rows name, where the store finds it, with the size and hash of its row.
    restored_evidence = evidence_rows(target_url)
    assert restored_evidence == source_evidence
    for name, (size, digest) in restored_evidence.items():
        stored = target_files / "evidence" / name[:2] / name
        assert stored.stat().st_size == size and sha256(stored) == digest, name
        assert stored.stat().st_mode & 0o777 == 0o440

    # Restoring again over the restored data needs --force; with it, the files already there are kept.
    refused = tracker(target_url, target_files, "restore", str(backup))
    assert refused.returncode == 1 and "--force" in refused.stderr and len(refused.stderr.splitlines()) == 1

    # The same backup with its evidence archive damaged: restored, then reported by name, exit status 1.
    damaged = tmp_path / "damaged" / "tracker.bak"
    damaged.parent.mkdir()
    for suffix in ("", ".manifest.json", ".evidence.tar"):
        shutil.copyfile(f"{backup}{suffix}", f"{damaged}{suffix}")
    dropped, flipped = damage(Path(f"{damaged}.evidence.tar"))
    other_url, other_files = fresh_database("damaged"), tmp_path / "damaged-files"
    started = time.monotonic()
    reported = tracker(other_url, other_files, "restore", str(damaged))
    timings["damaged restore"] = time.monotonic() - started
    assert reported.returncode == 1, reported.stdout
    assert "Traceback" not in reported.stderr
    assert len(reported.stderr.splitlines()) == 1, reported.stderr
    assert reported.stderr.startswith("错误：恢复已完成，但校验未通过")
    assert "缺少佐证文件 1 个：" in reported.stderr and dropped in reported.stderr
    assert "佐证文件损坏" in reported.stderr and flipped in reported.stderr
    assert "校验和与清单不符" in reported.stderr  # the archive as a whole
    assert not (other_files / "evidence" / flipped[:2] / flipped).exists()  # a damaged copy is never put in place
    assert counts(other_url) == source_counts  # the database itself was restored

    # A file the source's rows name but its store lost: the backup is written, says which, and fails.
    lost = sorted(source_evidence)[0]
    (source_files / "evidence" / lost[:2] / lost).unlink()
    partial = tmp_path / "backups" / "partial.bak"
    warned = tracker(source_url, source_files, "backup", str(partial))
    assert warned.returncode == 1 and len(warned.stderr.splitlines()) == 1, warned.stderr
    assert "备份已写出" in warned.stderr and lost in warned.stderr and "缺少的佐证文件 1 个" in warned.stderr
    assert json.loads(Path(f"{partial}.manifest.json").read_text("utf-8"))["evidence"]["missing"] == [lost]
    print(f"\nrestore drill, {PROJECTS} projects, {len(source_evidence)} evidence files: "
          + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in timings.items()))
