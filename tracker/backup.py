"""Consistent backups while the application runs, and restores that check what they restored.

SQLite uses the online backup API (a consistent snapshot even with writers); PostgreSQL uses pg_dump in
its custom format. Beside the backup goes a manifest (`PATH.manifest.json`): the file's SHA-256, the
schema revision and the row count of every table. `restore` refuses a damaged file, refuses to overwrite
a non-empty database without `force`, and after restoring compares the counts with the manifest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import Engine


class BackupError(RuntimeError):
    """A refused or failed backup/restore; the message is for the operator, in Chinese."""


@dataclass(frozen=True)
class Manifest:
    sha256: str
    dialect: str
    revision: str | None
    counts: dict[str, int]

    def write(self, path: Path) -> None:
        manifest_path(path).write_text(json.dumps(self.__dict__, ensure_ascii=False, indent=1), "utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(manifest_path(path).read_text("utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise BackupError(f"找不到或无法读取备份清单 {manifest_path(path)}：{exc}") from exc


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# What `tracker db upgrade` writes into any database by itself: a database holding only these has no one's data.
SEEDED = frozenset({"alembic_version", "data_generation", "work_calendar_years", "work_calendar_days", "audit_log"})


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, of every table the database itself holds (not of the models this process happens to have
    imported: the command line imports none, and counted nothing)."""
    names = [n for n in inspect(engine).get_table_names() if not n.startswith("sqlite_")]
    counts = {}
    with engine.connect() as conn:
        for name in sorted(names):
            counts[name] = conn.execute(select(func.count()).select_from(table(name))).scalar_one()
    return counts


def holds_data(counts: dict[str, int]) -> bool:
    return any(n for name, n in counts.items() if name not in SEEDED)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup(engine: Engine, path: Path) -> Manifest:
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(engine.url.database)
        try:
            dest = sqlite3.connect(path)
            with dest:
                source.backup(dest)
            dest.close()
        finally:
            source.close()
    elif engine.dialect.name == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path), _libpq_url(engine)])
    else:
        raise BackupError(f"不支持的数据库类型：{engine.dialect.name}")
    manifest = Manifest(_sha256(path), engine.dialect.name, _revision(engine), table_counts(engine))
    manifest.write(path)
    return manifest


def restore(engine: Engine, path: Path, *, force: bool = False) -> Manifest:
    if not path.is_file():
        raise BackupError(f"备份文件不存在：{path}")
    manifest = Manifest.read(path)
    if _sha256(path) != manifest.sha256:
        raise BackupError("备份文件的校验和与清单不符：文件已损坏或被改动，拒绝恢复")
    if manifest.dialect != engine.dialect.name:
        raise BackupError(f"备份来自 {manifest.dialect}，不能恢复到 {engine.dialect.name}")
    current = table_counts(engine)
    if holds_data(current) and not force:
        raise BackupError("目标数据库不为空；确认要覆盖时请加 --force")
    engine.dispose()
    if engine.dialect.name == "sqlite":
        _restore_sqlite(engine, path)
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", _libpq_url(engine), str(path)])
    engine.dispose()
    restored = table_counts(engine)
    if restored != manifest.counts or _revision(engine) != manifest.revision:
        raise BackupError(f"恢复后的数据与备份清单不一致：期望 {manifest.counts}，实际 {restored}")
    return manifest


def _restore_sqlite(engine: Engine, path: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("备份文件未通过 SQLite 完整性检查")
        dest = sqlite3.connect(engine.url.database)
        try:
            with dest:
                source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"找不到 {argv[0]}：请安装 PostgreSQL 客户端工具（postgresql-client）")
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} 失败：{result.stderr.strip()[:500]}")
