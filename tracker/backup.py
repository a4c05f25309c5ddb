"""Consistent backups while the application runs, and restores that check what they restored (G29).

A backup is three files side by side, all three needed to restore:

- `PATH`: the database. SQLite: the online backup API (a consistent snapshot even with writers), saved in
  rollback-journal mode so that the copy is one self-contained file. PostgreSQL: `pg_dump --format=custom`, run
  in a snapshot exported by a REPEATABLE READ transaction, so that what the manifest counts is what the dump holds.
- `PATH.evidence.tar`: every file of the evidence store (`TRACKER_DATA_DIR/evidence`), under its path relative to
  the store (`ab/<32 hex>.<ext>`), written after the database snapshot (files are written before the rows that name
  them, and never changed, so every file a row of the snapshot names is already there).
- `PATH.manifest.json`, written last: the dump's SHA-256, the dialect, the schema revision, the row count of every
  table the database holds (counted in the snapshot), and `evidence`: the archive's name and SHA-256, each file's
  relative path, size and SHA-256, the totals, and the files that `evidence_files` rows name but the store lacked
  (`missing`) or held with other contents (`corrupt`) at backup time.

`restore` refuses a damaged dump, a backup from the other database kind, and a target database holding someone's
data unless `force`; puts the evidence files back (each checked against the manifest before it is moved into
place; it never deletes a file and, without `force`, never replaces one that differs); restores the database; then
verifies the result: the row count of every table and the schema revision equal to the manifest, SQLite's integrity
and foreign keys, the audit log's hash chain, and every `evidence_files` row's file present in the target's store
with its recorded size and SHA-256. A failed check raises `BackupError` naming the first few files or tables with
the total: the database is restored by then, and the caller exits non-zero.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from tracker.files.store import EvidenceStore

FORMAT = 2  # 1: the database and its counts only; 2: with the evidence archive
SHOWN = 5  # names listed in one message before "等 N 个"


class BackupError(RuntimeError):
    """A refused or failed backup/restore; the message is for the operator, in Chinese, on one line."""


@dataclass(frozen=True)
class Manifest:
    sha256: str
    dialect: str
    revision: str | None
    counts: dict[str, int]
    format: int = 1
    created_at: str = ""
    evidence: dict[str, Any] | None = None

    def write(self, path: Path) -> None:
        target = manifest_path(path)
        part = target.with_name(target.name + ".part")
        part.write_text(json.dumps(self.__dict__, ensure_ascii=False, indent=1), "utf-8")
        os.replace(part, target)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(manifest_path(path).read_text("utf-8"))
            known = {f.name for f in fields(cls)}
            manifest = cls(**{key: value for key, value in data.items() if key in known})
            if not isinstance(manifest.counts, dict) or not (manifest.evidence is None
                                                              or isinstance(manifest.evidence, dict)):
                raise ValueError("字段类型不对")
            return manifest
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise BackupError(f"找不到或无法读取备份清单 {manifest_path(path)}：{_reason(exc)}") from exc

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def summary(self, path: Path) -> str:
        line = f"备份完成：{path}（数据库 {len(self.counts)} 张表 {self.rows} 行"
        if self.evidence is not None:
            line += (f"；佐证文件 {self.evidence['count']} 个，{_size(self.evidence['bytes'])}，"
                     f"在 {self.evidence['archive']}")
        return line + f"；清单 {manifest_path(path).name}）"


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def evidence_archive_path(path: Path) -> Path:
    return path.with_name(path.name + ".evidence.tar")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    text_ = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(text_.split())


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} 字节"


def _listed(names: list[str]) -> str:
    shown = "、".join(names[:SHOWN])
    return shown + (f" 等 {len(names)} 个" if len(names) > SHOWN else "")


# What `tracker db upgrade` writes into any database by itself: a database holding only these has no one's data.
SEEDED = frozenset({"alembic_version", "data_generation", "work_calendar_years", "work_calendar_days", "audit_log"})


@dataclass(frozen=True)
class _File:
    size: int
    sha256: str
    display_name: str


@dataclass(frozen=True)
class _State:
    """What a database holds, read in one transaction: rows per table, the schema revision and the evidence files
    its `evidence_files` rows name (storage name → recorded size, SHA-256 and the name users see)."""

    counts: dict[str, int]
    revision: str | None
    files: dict[str, _File]


def _table_names(conn: Connection) -> list[str]:
    return sorted(n for n in inspect(conn).get_table_names() if not n.startswith("sqlite_"))


def _counts(conn: Connection, names: list[str]) -> dict[str, int]:
    return {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in names}


def _state(conn: Connection) -> _State:
    names = _table_names(conn)
    revision = None
    if "alembic_version" in names:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    files = {}
    if "evidence_files" in names:
        rows = conn.execute(text("SELECT storage_name, size, sha256, display_name FROM evidence_files"))
        files = {name: _File(size, digest, shown) for name, size, digest, shown in rows}
    return _State(_counts(conn, names), revision, files)


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, of every table the database itself holds (not of the models this process happens to have
    imported: the command line imports none, and counted nothing)."""
    with engine.connect() as conn:
        return _counts(conn, _table_names(conn))


def holds_data(counts: dict[str, int]) -> bool:
    return any(n for name, n in counts.items() if name not in SEEDED)


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


# --- backup -------------------------------------------------------------------------------------------------------


def backup(engine: Engine, path: Path, *, evidence_root: Path | None = None) -> Manifest:
    """Write `path`, the evidence archive beside it (when `evidence_root`, the store's folder, is given) and the
    manifest. Raises BackupError when it cannot, and also after writing all three when rows of the snapshot name
    evidence files that the store lacks or holds with other contents: the backup is as complete as the source."""
    if engine.dialect.name not in {"sqlite", "postgresql"}:
        raise BackupError(f"不支持的数据库类型：{engine.dialect.name}")
    if path.is_dir():
        raise BackupError(f"备份路径是一个目录，请给出文件名：{path}")
    blocked = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
    if blocked is not None:
        raise BackupError(f"无法写出备份 {path}：路径中的 {blocked} 不是目录")
    part = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = _backup_sqlite(engine, part) if engine.dialect.name == "sqlite" else _backup_postgresql(engine, part)
        if not state.counts:
            raise BackupError("数据库中没有任何表（尚未初始化？请先运行 tracker db upgrade），未写出备份")
        os.replace(part, path)
        evidence = None
        if evidence_root is not None:
            evidence = _archive(EvidenceStore(evidence_root), evidence_archive_path(path), state.files)
        manifest = Manifest(_sha256(path), engine.dialect.name, state.revision, state.counts, FORMAT,
                            datetime.now(UTC).isoformat(timespec="seconds"), evidence)
        manifest.write(path)
    except OSError as exc:
        raise BackupError(f"无法写出备份 {path}：{_reason(exc)}") from exc
    finally:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
    if evidence and (evidence["missing"] or evidence["corrupt"]):
        raise BackupError(f"备份已写出，但源数据目录 {evidence_root} 中{_file_problems(evidence, state.files)}；"
                          "这些文件无法从此备份恢复")
    return manifest


def _file_problems(evidence: dict[str, Any], files: dict[str, _File]) -> str:
    parts = []
    for key, word in (("missing", "缺少"), ("corrupt", "内容与记录不符（损坏）")):
        names = evidence[key]
        if names:
            parts.append(f"{word}的佐证文件 {len(names)} 个：{_listed([_label(n, files.get(n)) for n in names])}")
    return "；".join(parts)


def _label(name: str, row: _File | None) -> str:
    return f"{' '.join(row.display_name.split())}（{name}）" if row else name


def _backup_sqlite(engine: Engine, dest_path: Path) -> _State:
    source = sqlite3.connect(engine.url.database)
    try:
        dest = sqlite3.connect(dest_path)
        try:
            with dest:
                source.backup(dest)
            dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dest.close()
    finally:
        source.close()
    copy = create_engine(f"sqlite:///{dest_path}", poolclass=NullPool)
    try:
        with copy.connect() as conn:
            return _state(conn)
    finally:
        copy.dispose()


def _backup_postgresql(engine: Engine, dest_path: Path) -> _State:
    # pg_dump reads in the snapshot this transaction exports, and the counts are read in the same one: they agree
    # however many writers run meanwhile.
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        _run(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}", "--file", str(dest_path),
              _libpq_url(engine)])
        state = _state(conn)
        conn.rollback()
    return state


class _Hashing:
    """A file object for tarfile that hashes what it hands over."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.digest = fh, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        return data


def _archive(store: EvidenceStore, dest: Path, rows: dict[str, _File]) -> dict[str, Any]:
    part = dest.with_name(dest.name + ".part")
    files: list[dict[str, Any]] = []
    try:
        with tarfile.open(part, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, _modified in sorted(store.stored()):
                relative = f"{name[:2]}/{name}"
                try:
                    with (store.root / relative).open("rb") as fh:
                        status = os.fstat(fh.fileno())
                        info = tarfile.TarInfo(relative)
                        info.size, info.mode, info.mtime = status.st_size, 0o440, int(status.st_mtime)
                        hashing = _Hashing(fh)
                        tar.addfile(info, hashing)
                except FileNotFoundError:
                    continue  # removed since the listing (an orphan the housekeeping job swept): not the snapshot's
                files.append({"path": relative, "size": info.size, "sha256": hashing.digest.hexdigest()})
        with part.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(part, dest)
    finally:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
    archived = {entry["path"].split("/", 1)[1]: entry for entry in files}
    missing = sorted(name for name in rows if name not in archived)
    corrupt = sorted(name for name, row in rows.items() if name in archived
                     and (archived[name]["size"], archived[name]["sha256"]) != (row.size, row.sha256))
    return {"archive": dest.name, "sha256": _sha256(dest), "root": "evidence", "count": len(files),
            "bytes": sum(entry["size"] for entry in files), "files": files, "missing": missing, "corrupt": corrupt}


# --- restore ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    """What a restore restored and verified."""

    manifest: Manifest
    counts: dict[str, int]
    revision: str | None
    audit_entries: int
    files_checked: int | None  # evidence files verified against their rows; None: no evidence store was given
    bytes_checked: int
    files_written: int

    def summary(self) -> str:
        line = (f"恢复完成并已校验：{len(self.counts)} 张表 {sum(self.counts.values())} 行与备份清单一致，"
                f"数据库版本 {self.revision or '无'}，审计日志 {self.audit_entries} 条哈希链完整")
        if self.files_checked is not None:
            line += (f"，佐证文件 {self.files_checked} 个（{_size(self.bytes_checked)}）齐全且 SHA-256 一致"
                     f"（本次写入 {self.files_written} 个）")
        return line


def restore(engine: Engine, path: Path, *, force: bool = False, evidence_root: Path | None = None) -> Restored:
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
    store = EvidenceStore(evidence_root) if evidence_root is not None else None
    unpacked = _Unpacked()
    if store is not None and manifest.evidence is not None:
        unpacked = _unpack(store, evidence_archive_path(path), manifest.evidence, force=force)
    engine.dispose()
    try:
        if engine.dialect.name == "sqlite":
            _restore_sqlite(engine, path)
        else:
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                  "--dbname", _libpq_url(engine), str(path)])
    except OSError as exc:
        raise BackupError(f"无法恢复数据库：{_reason(exc)}") from exc
    engine.dispose()
    return _verify(engine, manifest, store, unpacked)


@dataclass
class _Unpacked:
    written: int = 0
    damaged: frozenset[str] = frozenset()  # storage names whose copy in the archive did not match the manifest
    note: str = ""  # why files may be missing: the archive is absent, altered or cut short


def _unpack(store: EvidenceStore, archive: Path, evidence: dict[str, Any], *, force: bool) -> _Unpacked:
    """Put the archive's files into the store, each checked against the manifest before it is moved into place."""
    expected: dict[str, dict[str, Any]] = {}
    for entry in evidence.get("files", []):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            expected[entry["path"]] = {**entry, "target": store.path_of(entry["path"].split("/", 1)[-1])}
    if not archive.is_file():
        return _Unpacked(note=f"备份中的佐证文件归档 {archive.name} 不存在（应与备份文件放在同一目录）")
    note = ""
    if _sha256(archive) != evidence.get("sha256"):
        note = f"佐证文件归档 {archive.name} 的校验和与清单不符（已逐个核对，不符的文件未写入）"
    differing = [e["target"].name for e in expected.values()
                 if e["target"].is_file() and _sha256(e["target"]) != e["sha256"]]
    if differing and not force:
        raise BackupError(f"目标数据目录 {store.root} 中已有 {len(differing)} 个同名但内容不同的佐证文件"
                          f"（{_listed(differing)}）；确认要覆盖时请加 --force")
    written, damaged = 0, set()
    try:
        with tarfile.open(archive, "r:") as tar:
            for member in tar:
                entry = expected.get(member.name)
                if entry is None or not member.isreg():
                    continue  # not a file the manifest lists: never written
                target: Path = entry["target"]
                if target.is_file() and target.stat().st_size == entry["size"] and _sha256(target) == entry["sha256"]:
                    continue
                source = tar.extractfile(member)
                if source is None or not _write_checked(source, target, entry["sha256"]):
                    damaged.add(target.name)
                    continue
                written += 1
    except (tarfile.TarError, EOFError, OSError) as exc:
        note = note or f"佐证文件未能全部从归档 {archive.name} 放回数据目录（{_reason(exc)}）"
    if written:
        os.sync()  # one sync for all, as EvidenceStore.put_many
    return _Unpacked(written, frozenset(damaged), note)


def _write_checked(source: IO[bytes], target: Path, sha256: str) -> bool:
    target.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    temp = target.with_name(f".{target.stem[:16]}.restore.part")  # never a storage name
    digest = hashlib.sha256()
    try:
        with temp.open("wb") as out:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            return False
        os.chmod(temp, 0o440)
        os.replace(temp, target)  # a fresh mtime: the housekeeping grace period starts now
        return True
    finally:
        temp.unlink(missing_ok=True)


def _verify(engine: Engine, manifest: Manifest, store: EvidenceStore | None, unpacked: _Unpacked) -> Restored:
    problems: list[str] = []
    with engine.connect() as conn:
        state = _state(conn)
        if engine.dialect.name == "sqlite":
            integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
            if integrity != "ok":
                problems.append(f"SQLite 完整性检查未通过：{integrity}")
            orphans = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if orphans:
                problems.append(f"{len(orphans)} 行的外键指向不存在的行（{_listed(sorted({r[0] for r in orphans}))}）")
    if state.counts != manifest.counts:
        differing = [f"{name} 应为 {manifest.counts.get(name, '无')} 实为 {state.counts.get(name, '无')}"
                     for name in sorted(set(manifest.counts) | set(state.counts))
                     if manifest.counts.get(name) != state.counts.get(name)]
        problems.append(f"{len(differing)} 张表的行数与备份清单不符：{_listed(differing)}")
    if state.revision != manifest.revision:
        problems.append(f"数据库版本 {state.revision} 与备份清单的 {manifest.revision} 不符")
    audit_entries = state.counts.get("audit_log", 0)
    if audit_entries:
        broken = _audit_problems(engine)
        if broken:
            problems.append(f"审计日志哈希链校验失败：{len(broken)} 处问题（第 {_listed(broken)} 条）")
    checked = checked_bytes = 0
    if store is not None:
        missing, corrupt = [], []
        for name, row in sorted(state.files.items()):
            label = _label(name, row)
            try:
                on_disk = store.path_of(name)
                size = on_disk.stat().st_size
            except (ValueError, OSError):
                (corrupt if name in unpacked.damaged else missing).append(label)
                continue
            if size != row.size or _sha256(on_disk) != row.sha256:
                corrupt.append(label)
                continue
            checked, checked_bytes = checked + 1, checked_bytes + size
        if missing:
            problems.append(f"缺少佐证文件 {len(missing)} 个：{_listed(missing)}")
        if corrupt:
            problems.append(f"佐证文件损坏（大小或 SHA-256 与记录不符）{len(corrupt)} 个：{_listed(corrupt)}")
        if (missing or corrupt) and manifest.evidence is None:
            problems.append(f"此备份不含佐证文件（旧版备份）：请把原数据目录的 evidence/ 复制到 {store.root}")
        elif (missing or corrupt) and unpacked.note:
            problems.append(unpacked.note)
    if problems:
        raise BackupError("恢复已完成，但校验未通过：" + "；".join(problems))
    return Restored(manifest, state.counts, state.revision, audit_entries, None if store is None else checked,
                    checked_bytes, unpacked.written)


def _audit_problems(engine: Engine) -> list[str]:
    from sqlalchemy.orm import Session

    from tracker.services.audit import verify_chain

    with Session(engine) as db:
        return sorted({str(p.entry_id) for p in verify_chain(db)}, key=int)


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
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"无法恢复 SQLite 数据库：{_reason(exc)}") from exc
    finally:
        source.close()


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"找不到 {argv[0]}：请安装 PostgreSQL 客户端工具（postgresql-client）")
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} 失败：{' '.join(result.stderr.split())[:500]}")
