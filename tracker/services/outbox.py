"""Queuing mail (DESIGN §3): a service that wants a mail sent adds an outbox row in its own transaction, so the
mail exists exactly when the change that caused it is committed. The sender (reminders.mail) delivers it later.

`dedupe_key` names the mail, not the row: queuing the same key again is a no-op, so a sweep may run twice, or in
two processes at once, and still queue each mail once.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tracker.models import MailStatus, OutboxMail, User
from tracker.services import audit
from tracker.services.audit import Actor

# Deliberately plain: one @, no spaces or angle brackets, a dot in the domain. Anything else cannot be sent.
ADDRESS_RE = re.compile(r"[^@\s<>,;\"']{1,64}@[A-Za-z0-9\-]{1,63}(\.[A-Za-z0-9\-]{1,63})+")
MESSAGE_ID_DOMAIN = "outbox.tracker.invalid"
INVALID_ADDRESS = "收件人邮箱地址无效，无法发送"


def valid_address(address: str | None) -> bool:
    return bool(address) and len(address) <= 254 and ADDRESS_RE.fullmatch(address.strip()) is not None


def queue_mail(db: Session, *, dedupe_key: str, template: str, recipient: str, context: dict[str, Any],
               now: datetime, user: User | None = None, language: str | None = None, project_id: int | None = None,
               send_after: datetime | None = None, skipped: str | None = None) -> int | None:
    """Add one mail to the outbox in the caller's transaction; the new row's id, or None when the key exists.

    An address that cannot be sent to is still recorded, as dead with the reason, so the admin sees it instead of
    the mail vanishing. `send_after` holds a mail back (the reminders' send window). `skipped` records a mail
    that will not be sent, with the reason (a reminder stage a later one replaced)."""
    values = row(dedupe_key=dedupe_key, template=template, recipient=recipient, context=context, now=now, user=user,
                 language=language, project_id=project_id, send_after=send_after, skipped=skipped)
    statement = _insert(db).values(**values).returning(OutboxMail.id)
    return db.execute(statement).scalar_one_or_none()


def row(*, dedupe_key: str, template: str, recipient: str, context: dict[str, Any], now: datetime,
        user: User | None = None, language: str | None = None, project_id: int | None = None,
        send_after: datetime | None = None, skipped: str | None = None) -> dict[str, Any]:
    """The outbox row of one mail (see queue_mail), for queue_many."""
    address = (recipient or "").strip()
    status, error = (MailStatus.PENDING, "") if valid_address(address) else (MailStatus.DEAD, INVALID_ADDRESS)
    if skipped:
        status, error = MailStatus.SKIPPED, skipped
    return {
        "dedupe_key": dedupe_key[:200], "template": template, "recipient": address[:254],
        "recipient_user_id": user.id if user is not None else None,
        "language": language or (user.language if user is not None else "zh_CN"),
        "context": context, "project_id": project_id,
        "status": status, "attempts": 0, "next_attempt_at": max(send_after or now, now), "last_error": error[:500],
        "message_id": f"<{secrets.token_hex(16)}@{MESSAGE_ID_DOMAIN}>", "created_at": now,
    }


def queue_many(db: Session, rows: list[dict[str, Any]]) -> None:
    """Queue many mails at once (a sweep's); each key already present is skipped, as in queue_mail."""
    for i in range(0, len(rows), 1000):
        db.execute(_insert(db), rows[i:i + 1000])


def _insert(db: Session):
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(OutboxMail).on_conflict_do_nothing(index_elements=["dedupe_key"])


# The context entry listing the keys that carry a secret (an activation link's token).
SECRET_KEYS = "_secret"  # noqa: S105 - a key name, not a secret
SCRUBBED = "（已发送，链接不再保存）"


def without_secrets(context: dict[str, Any] | None) -> dict[str, Any]:
    """A sent mail's context without its secrets: the database keeps no usable one-time link."""
    context = dict(context or {})
    for key in context.get(SECRET_KEYS) or ():
        if key in context:
            context[key] = SCRUBBED
    return context


def exists(db: Session, dedupe_key: str) -> bool:
    return db.scalar(select(OutboxMail.id).where(OutboxMail.dedupe_key == dedupe_key)) is not None


def skip(db: Session, keys: list[str], *, reason: str, now: datetime) -> int:
    """Mark still-pending mails as skipped (replaced by a later one, or no longer needed)."""
    if not keys:
        return 0
    result = db.execute(update(OutboxMail).where(OutboxMail.dedupe_key.in_(keys),
                                                 OutboxMail.status == MailStatus.PENDING)
                        .values(status=MailStatus.SKIPPED, last_error=reason[:500], claimed_until=None))
    return result.rowcount or 0


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def skip_prefix(db: Session, prefix: str, *, reason: str, suffix: str = "", keep: str = "") -> int:
    """Skip the pending mails whose key starts with `prefix` (and ends with `suffix`), but for the key `keep`: a
    period's reminders once its report is in, or the older reminders a newer one replaces."""
    condition = OutboxMail.dedupe_key.like(_like(prefix) + "%" + _like(suffix), escape="\\")
    result = db.execute(update(OutboxMail).where(condition, OutboxMail.dedupe_key != keep,
                                                 OutboxMail.status == MailStatus.PENDING)
                        .values(status=MailStatus.SKIPPED, last_error=reason[:500], claimed_until=None))
    return result.rowcount or 0


def existing_keys(db: Session, keys: list[str]) -> set[str]:
    """Which of these keys are in the outbox already (in chunks: a sweep asks about thousands)."""
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        found.update(db.scalars(select(OutboxMail.dedupe_key).where(OutboxMail.dedupe_key.in_(keys[i:i + 500]))))
    return found


def counts_by_status(db: Session) -> dict[str, int]:
    rows = db.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all()
    return {status: count for status, count in rows}


def resend(db: Session, mail: OutboxMail, *, actor: Actor, now: datetime) -> None:
    """The admin sends a dead mail again (after fixing the address or the server): a fresh set of attempts."""
    if mail.status != MailStatus.DEAD:
        raise ValueError("只有发送失败的邮件可以重新发送")
    if not valid_address(mail.recipient):
        raise ValueError(INVALID_ADDRESS)
    before = {"status": mail.status, "attempts": mail.attempts, "last_error": mail.last_error[:200]}
    mail.status, mail.attempts, mail.next_attempt_at, mail.claimed_until = MailStatus.PENDING, 0, now, None
    db.flush()
    audit.record(db, actor, "mail_resent", now=now, object_type="outbox", object_id=mail.id, before=before,
                 after={"status": mail.status})


def due(now: datetime):
    """The rows a sender may claim now: pending and due, or left in `sending` by a sender that died."""
    return ((OutboxMail.status == MailStatus.PENDING) & (OutboxMail.next_attempt_at <= now)) | (
        (OutboxMail.status == MailStatus.SENDING) & (OutboxMail.claimed_until < now))


# Waits after the n-th failed attempt; after the last one the mail is dead.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=6), timedelta(hours=12), timedelta(hours=24), timedelta(hours=24))
MAX_ATTEMPTS = len(BACKOFF) + 1


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after this many failed attempts; None: give up."""
    return BACKOFF[attempts - 1] if 1 <= attempts <= len(BACKOFF) else None
