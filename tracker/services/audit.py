"""Writing and verifying the hash-chained audit log (G26)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, text
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


_COLUMNS = ("at", "user_id", "username", "role", "ip", "action", "object_type", "object_id", "before", "after",
            "result")


def _digest(entry: AuditEntry, prev_hash: str) -> str:
    return _hash([getattr(entry, column) for column in _COLUMNS], prev_hash)


def _hash(values: list[Any], prev_hash: str) -> str:
    """SHA-256 of the row's fields (in _COLUMNS order, the time as ISO 8601) and the previous row's hash."""
    payload = json.dumps([values[0].isoformat(), *values[1:], prev_hash], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _row(actor: Actor, action: str, now: datetime, object_type: str, object_id: Any, before: Any, after: Any,
         result: str, prev_hash: str) -> dict[str, Any]:
    """The columns of one audit row, chained onto `prev_hash`."""
    values = [now.astimezone(UTC), actor.user_id, actor.username[:64], actor.role, actor.ip[:64], action,
              object_type, str(object_id)[:64], _dump(before), _dump(after), result[:40]]
    row = dict(zip(_COLUMNS, values, strict=True))
    row["prev_hash"] = prev_hash
    row["hash"] = _hash(values, prev_hash)
    return row


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
    entry = AuditEntry(**_row(actor, action, now, object_type, object_id, before, after, result, _last_hash(db)))
    db.add(entry)
    db.flush()
    db.info[_LAST_HASH] = entry.hash
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
    (the same columns and hashes), with one read of the last hash and inserts in chunks: bulk writers such as an
    award list or the demo at scale, where an ORM object and a flush per row cost more than their own rows
    (DESIGN §3). Returns how many rows were added."""
    if not entries:
        return 0
    db.flush()  # rows recorded before these go first: ids follow the chain
    prev_hash = _last_hash(db)
    rows = []
    for item in entries:
        row = _row(item.actor, item.action, item.now, item.object_type, item.object_id, item.before, item.after,
                   item.result, prev_hash)
        prev_hash = row["hash"]
        rows.append(row)
    for i in range(0, len(rows), 5000):  # executemany keeps the order, so ids follow the chain
        db.execute(insert(AuditEntry.__table__), rows[i:i + 5000])
    # The next `record` in this transaction chains onto the last of these.
    db.info[_LAST_HASH] = prev_hash
    db.info["audited"] = True
    return len(rows)

