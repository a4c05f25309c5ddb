"""Writing and verifying the hash-chained audit log (G26)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from tracker.models import AuditEntry

GENESIS = "0" * 64
# db.info key: the hash of the last row this transaction appended, so that the next row chains onto it without
# reading the log again (a 5,000-row award list appends 5,000 rows).
_LAST_HASH = "tracker.audit.last_hash"


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
    flush: bool = True,
) -> AuditEntry:
    """Append one row in the caller's transaction.

    `flush=False` leaves the row pending for the caller's next flush (bulk writers: one batched INSERT for
    thousands of rows); rows are inserted in the order they were recorded, so the ids follow the chain."""
    prev_hash = _last_hash(db)
    entry = AuditEntry(
        at=now.astimezone(UTC), user_id=actor.user_id, username=actor.username[:64],
        role=actor.role, ip=actor.ip[:64], action=action, object_type=object_type,
        object_id=str(object_id)[:64], before=_dump(before), after=_dump(after), result=result[:40],
        prev_hash=prev_hash,
    )
    entry.hash = _digest(entry, prev_hash)
    db.add(entry)
    db.info[_LAST_HASH] = entry.hash
    if flush:
        db.flush()
    db.info["audited"] = True
    return entry


def _last_hash(db: Session) -> str:
    """The hash the next row chains onto: read once per transaction (under the lock), then remembered."""
    cached = db.info.get(_LAST_HASH)
    if cached is not None:
        return cached
    if db.get_bind().dialect.name == "postgresql":
        # Two transactions must not both chain onto the same last row. The lock is held until this transaction
        # ends (or the savepoint it was taken in rolls back), and the remembered hash is forgotten then too.
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext('tracker-audit'))"))
    db.flush()
    return db.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, transaction: SessionTransaction) -> None:
    # The end of the transaction or of a savepoint (committed or rolled back: a savepoint's rows may be gone, and
    # a lock taken inside it released). A flush's own inner transaction ending changes nothing.
    if transaction.nested or transaction.parent is None:
        session.info.pop(_LAST_HASH, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Any rollback, a failed flush's included: the rows appended since may never reach the database.
    session.info.pop(_LAST_HASH, None)


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
