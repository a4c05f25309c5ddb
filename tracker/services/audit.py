"""Writing and verifying the hash-chained audit log (G26)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tracker.models import AuditEntry

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who does something: a signed-in user, an anonymous visitor, or the system (CLI, jobs)."""

    user_id: int | None
    username: str
    role: str
    ip: str = ""

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(None, name, "system")

    @classmethod
    def of(cls, user: Any, ip: str = "") -> Actor:
        if user is None:
            return cls(None, "", "anonymous", ip)
        return cls(user.id, user.username, user.role, ip)


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields of an object as JSON-friendly values, for before/after."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _dump(value: Any) -> str:
    if value is None or value == "":
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _digest(entry: AuditEntry, prev_hash: str) -> str:
    payload = json.dumps(
        [entry.at.isoformat(), entry.user_id, entry.username, entry.role, entry.ip, entry.action,
         entry.object_type, entry.object_id, entry.before, entry.after, entry.result, prev_hash],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    db: Session,
    actor: Actor,
    action: str,
    *,
    now: datetime,
    object_type: str = "",
    object_id: Any = "",
    before: Any = None,
    after: Any = None,
    result: str = "ok",
) -> AuditEntry:
    """Append one row in the caller's transaction."""
    if db.get_bind().dialect.name == "postgresql":
        # Two transactions must not both chain onto the same last row.
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext('tracker-audit'))"))
    db.flush()
    last = db.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    prev_hash = last or GENESIS
    entry = AuditEntry(
        at=now.astimezone(UTC), user_id=actor.user_id, username=actor.username[:64],
        role=actor.role, ip=actor.ip[:64], action=action, object_type=object_type,
        object_id=str(object_id)[:64], before=_dump(before), after=_dump(after), result=result[:40],
        prev_hash=prev_hash,
    )
    entry.hash = _digest(entry, prev_hash)
    db.add(entry)
    db.flush()
    db.info["audited"] = True
    return entry


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    reason: str


def verify_chain(db: Session) -> list[ChainProblem]:
    """Walk the log in id order; report every row whose link or content does not match."""
    problems = []
    prev_hash = GENESIS
    for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        if entry.prev_hash != prev_hash:
            problems.append(ChainProblem(entry.id, "与上一条记录的链接不符（记录被删除、插入或调换了顺序）"))
        if _digest(entry, entry.prev_hash) != entry.hash:
            problems.append(ChainProblem(entry.id, "记录内容与其哈希不符（记录被改动）"))
        prev_hash = entry.hash
    return problems


@dataclass(frozen=True)
class PendingEntry:
    """One audit row to append with `append_many`: the arguments of `record`."""

    actor: Actor
    action: str
    now: datetime
    object_type: str = ""
    object_id: Any = ""
    before: Any = None
    after: Any = None
    result: str = "ok"


def append_many(db: Session, entries: list[PendingEntry]) -> int:
    """Append many rows in the caller's transaction, in order, chained exactly as `record` chains them one by one
    (the same columns and hashes), with one read of the last hash and inserts in chunks: bulk writers such as
    the demo at scale (DESIGN §3). Returns how many rows were added."""
    if not entries:
        return 0
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext('tracker-audit'))"))
    db.flush()
    prev_hash = db.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    rows = []
    for item in entries:
        row = {"at": item.now.astimezone(UTC), "user_id": item.actor.user_id, "username": item.actor.username[:64],
               "role": item.actor.role, "ip": item.actor.ip[:64], "action": item.action,
               "object_type": item.object_type, "object_id": str(item.object_id)[:64], "before": _dump(item.before),
               "after": _dump(item.after), "result": item.result[:40], "prev_hash": prev_hash}
        # The row as a plain object for `_digest` (an AuditEntry per row costs more than the hash itself).
        row["hash"] = prev_hash = _digest(SimpleNamespace(**row), prev_hash)  # type: ignore[arg-type]
        rows.append(row)
    table = AuditEntry.__table__
    for i in range(0, len(rows), 5000):  # executemany keeps the order, so ids follow the chain
        db.execute(table.insert(), rows[i:i + 5000])
    db.info["audited"] = True
    return len(rows)

