"""The mail sender (DESIGN §3): delivers the outbox, one claimed row at a time.

For each due row: claim it with a conditional UPDATE and commit the claim; render it and hand it to the SMTP
server; commit the outcome. No transaction is held across the network (the one job that commits per row), so a
crash loses nothing: a row left in `sending` is claimed again once its claim expires, with the same Message-ID.
A delivery can repeat only when the process dies between the server's 250 and the commit, and then it carries the
same Message-ID.

Outcomes: a 4xx answer or a dropped connection is temporary (the row waits, with backoff, `outbox.BACKOFF`); a
5xx answer for the message or the recipient is permanent (dead, shown to the admin). A server that cannot be
reached, or refuses our login, ends the run with the row put back: every other mail stays pending and visible.

Templates: `templates/emails/<name>/subject.txt`, `body.txt` and `body.html`, rendered in the row's language.
"""

from __future__ import annotations

import os
import signal
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tracker import i18n
from tracker.models import MailStatus, OutboxMail
from tracker.services import business_settings, outbox
from tracker.templating import render_context

CLAIM = timedelta(minutes=10)  # a claimed row is someone's for this long; then it is due again
DEFAULT_FROM = "tracker@localhost"
SENDER_NAME = "科技项目绩效监测与验收跟踪系统"
TIMEOUT_SECONDS = 30


class TemporaryFailure(Exception):
    """The server or the network said "not now": try the row again later."""


class PermanentFailure(Exception):
    """The server refused this mail or its recipient for good."""


class ServerUnavailable(TemporaryFailure):
    """No mail can go now (cannot connect, cannot log in): stop the run, keep every row pending."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "plain" | "starttls" | "ssl"
    username: str
    password: str
    sender: str

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig | None:
        """`smtp://[user:password@]host[:port][?starttls=1][&from=addr]` or `smtps://…`; None when empty."""
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"TRACKER_SMTP_URL 无法识别：{parts.scheme or url[:20]}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        security = "ssl" if parts.scheme == "smtps" else (
            "starttls" if query.get("starttls", "").lower() in ("1", "true", "yes") else "plain")
        port = parts.port or (465 if security == "ssl" else 587 if security == "starttls" else 25)
        return cls(parts.hostname, port, security, unquote(parts.username or ""), unquote(parts.password or ""),
                   query.get("from") or DEFAULT_FROM)


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    """One SMTP connection for a run, opened at the first mail and reopened after a dropped connection."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        try:
            if c.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=TIMEOUT_SECONDS,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=TIMEOUT_SECONDS)
                if c.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if c.username:
                smtp.login(c.username, c.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ServerUnavailable(f"发信服务器拒绝登录（{exc.smtp_code}），请检查 TRACKER_SMTP_URL 中的账号") from exc
        except smtplib.SMTPResponseException as exc:
            raise ServerUnavailable(f"发信服务器拒绝连接：{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerUnavailable(f"无法连接发信服务器 {c.host}:{c.port}：{exc}") from exc
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            self._classify(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            self._drop_if(exc.smtp_code in (421,))
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
            raise PermanentFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop_if(True)
            raise TemporaryFailure(f"连接中断：{exc}") from exc
        else:
            if refused:  # a mail has one recipient: a refusal means it was not delivered
                self._classify(refused)

    @staticmethod
    def _classify(refused: dict[str, tuple[int, bytes]]) -> None:
        code, text = next(iter(refused.values()))
        if 400 <= code < 500:
            raise TemporaryFailure(f"{code} {_text(text)}")
        raise PermanentFailure(f"收件人被拒绝：{code} {_text(text)}")

    def _drop_if(self, condition: bool) -> None:
        if condition and self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def _text(raw: bytes | str) -> str:
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))[:300]


@contextmanager
def smtp_transport(url: str) -> Iterator[SmtpTransport | None]:
    """The transport TRACKER_SMTP_URL names, closed after the run; None when no server is configured."""
    config = SmtpConfig.from_url(url)
    transport = SmtpTransport(config) if config is not None else None
    try:
        yield transport
    finally:
        if transport is not None:
            transport.close()


# --- rendering ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render_mail(mail: OutboxMail, *, site_url: str) -> RenderedMail:
    """The mail as its recipient will read it, in their language (also shown on the admin's outbox page). Links
    are stored as paths and put under the site address at rendering, so they follow the current setting."""
    lang = i18n.normalize(mail.language)
    context: dict[str, Any] = {**(mail.context or {}), "lang": lang, "site_url": site_url.rstrip("/")}
    folder = f"emails/{mail.template}"
    subject = " ".join(render_context(f"{folder}/subject.txt", context).split())
    return RenderedMail(subject, render_context(f"{folder}/body.txt", context),
                        render_context(f"{folder}/body.html", context))


def build_message(mail: OutboxMail, rendered: RenderedMail, *, sender: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = formataddr((SENDER_NAME, sender))
    message["To"] = mail.recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = mail.message_id  # stable: a repeated delivery is recognisably the same mail
    message["X-Tracker-Mail"] = mail.dedupe_key[:200]
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


# --- the run -----------------------------------------------------------------------------------------------------


def _failpoint(name: str) -> None:
    """Crash tests (G20) kill the sender at a named point: TRACKER_FAILPOINTS=name[,name…]."""
    if name in os.environ.get("TRACKER_FAILPOINTS", "").split(","):
        os.kill(os.getpid(), signal.SIGKILL)


def _claim(db: Session, now: datetime) -> OutboxMail | None:
    """Claim the oldest due row, or None when nothing is due. The conditional UPDATE makes two senders claim
    different rows; the claim is committed before anything is sent."""
    while True:
        row_id = db.scalar(select(OutboxMail.id).where(outbox.due(now))
                           .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(1))
        if row_id is None:
            return None
        claimed = db.execute(update(OutboxMail).where(OutboxMail.id == row_id, outbox.due(now))
                             .values(status=MailStatus.SENDING, claimed_until=now + CLAIM,
                                     attempts=OutboxMail.attempts + 1))
        db.commit()
        if claimed.rowcount == 1:
            return db.get(OutboxMail, row_id, populate_existing=True)


def send_due_mail(db: Session, now: datetime, *, transport: Transport | None, sender: str = DEFAULT_FROM,
                  limit: int = 10_000) -> dict[str, int]:
    """Deliver every row due at `now` (one run of the `send-mail` job). Without a transport (no SMTP server
    configured) nothing is claimed and the mails stay pending."""
    counts = {"sent": 0, "retry": 0, "dead": 0, "pending": 0}
    if transport is None:
        counts["pending"] = db.scalar(select(func.count()).select_from(OutboxMail).where(outbox.due(now))) or 0
        return counts
    site_url = business_settings.load(db).site_url
    for _ in range(limit):
        mail = _claim(db, now)
        if mail is None:
            break
        try:
            message = build_message(mail, render_mail(mail, site_url=site_url), sender=sender, now=now)
        except Exception as exc:  # noqa: BLE001 - a broken template must not stop the other mails
            _finish(db, mail, MailStatus.DEAD, now, f"邮件模板无法生成：{type(exc).__name__}: {exc}")
            counts["dead"] += 1
            continue
        _failpoint("mail.before_send")
        try:
            transport.send(message)
        except ServerUnavailable as exc:
            _retry(db, mail, now, str(exc), count_attempt=False)
            counts["pending"] += 1
            break
        except TemporaryFailure as exc:
            counts["retry" if _retry(db, mail, now, str(exc)) else "dead"] += 1
            continue
        except PermanentFailure as exc:
            _finish(db, mail, MailStatus.DEAD, now, str(exc))
            counts["dead"] += 1
            continue
        _failpoint("mail.after_send")
        _finish(db, mail, MailStatus.SENT, now, "")
        counts["sent"] += 1
    return counts


def _finish(db: Session, mail: OutboxMail, status: str, now: datetime, error: str) -> None:
    mail.status, mail.claimed_until, mail.last_error = status, None, error[:2000]
    if status == MailStatus.SENT:
        mail.sent_at = now
        mail.context = outbox.without_secrets(mail.context)
    db.commit()


def _retry(db: Session, mail: OutboxMail, now: datetime, error: str, *, count_attempt: bool = True) -> bool:
    """Put the row back for a later attempt (True), or declare it dead after the last one (False)."""
    if not count_attempt:
        mail.attempts -= 1  # the server was unreachable: this mail was never tried
    delay = outbox.retry_delay(mail.attempts) if mail.attempts else outbox.BACKOFF[0]
    if delay is None:
        _finish(db, mail, MailStatus.DEAD, now, f"多次重试仍未发出：{error}")
        return False
    mail.status, mail.claimed_until, mail.last_error = MailStatus.PENDING, None, error[:2000]
    mail.next_attempt_at = now + delay
    db.commit()
    return True
