"""The outbox (DESIGN §3): every mail is a row first, committed with the change that caused it, then delivered
by the sender, which claims one row at a time. A crash never loses a mail; `dedupe_key` makes queuing the same
mail twice a no-op, and the stored Message-ID makes a repeated delivery recognisable as the same mail."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, UTCDateTime
from tracker.models.accounts import User


class MailStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt (the first one, or a retry after a temporary failure)
    SENDING = "sending"  # claimed by a sender until claimed_until; a crash leaves it here until then
    SENT = "sent"
    DEAD = "dead"  # refused for good (a 5xx, an impossible address, too many attempts): the admin sees it
    SKIPPED = "skipped"  # replaced before it was sent (a later reminder stage after downtime, a submitted report)

    @property
    def label(self) -> str:
        return MAIL_STATUS_LABELS[self]


MAIL_STATUS_LABELS = {
    MailStatus.PENDING: "待发送",
    MailStatus.SENDING: "发送中",
    MailStatus.SENT: "已发送",
    MailStatus.DEAD: "发送失败",
    MailStatus.SKIPPED: "已跳过",
}


class OutboxMail(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'dead', 'skipped')", name="status"),
        # The sender's sweep: what is due now, oldest first.
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Free-form and unique: `period:{project}:{period}:stage:{stage}:to:{user}`, `activation:{token}`…
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(60))  # templates/emails/<template>/
    recipient: Mapped[str] = mapped_column(String(254), info={"pii": "email"})
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    language: Mapped[str] = mapped_column(String(10), default="zh_CN")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient_user: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return MailStatus(self.status).label
