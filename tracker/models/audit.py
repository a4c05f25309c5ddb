"""The audit log: append-only and hash-chained (DESIGN §5, G26).

Each row's hash covers its own fields and the previous row's hash, so an edited, deleted or reordered row
breaks the chain from that point on (`tracker audit verify`). The ORM refuses updates and deletes, and
database triggers refuse them on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    username: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(20), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(String(40), default="ok")
    prev_hash: Mapped[str] = mapped_column(String(64))
    # Unique and always set before the insert: the insert sentinel (no schema change) that lets the ORM insert many
    # rows in batched INSERTs on SQLite (an award list appends thousands) instead of one statement each.
    hash: Mapped[str] = mapped_column(String(64), unique=True, insert_sentinel=True)


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(*_args: object) -> None:
    raise AuditLogIsAppendOnly("审计日志只能追加，不能修改")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(*_args: object) -> None:
    raise AuditLogIsAppendOnly("审计日志只能追加，不能删除")
