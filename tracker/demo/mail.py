"""The demo's mail and job history, so that the admin's outbox and jobs pages show a running system: the mails
the report histories queued went out when they were written (one bounced), tonight's assessment has run (what
time alone changed since the last review: overdue reports, deadlines passed), the hourly disbursements sweep
has found nothing missing, today's reminders wait in the outbox, and each job has a few recorded runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import MailStatus, OutboxMail
from tracker.services import business_settings, disbursements, monitoring, reminders
from tracker.services.scheduling import finish_run, start_run

BOUNCE = "550 5.1.1 收件人地址不存在（演示：该单位的邮箱已停用）"
RUNNER = "demo"


def load_demo_mail(db: Session, *, now: datetime) -> dict[str, int]:
    """Queue today's reminders through the real sweep and record the jobs' recent runs; returns the outbox counts."""
    rules = business_settings.load(db)
    history = db.scalars(select(OutboxMail).where(OutboxMail.status == MailStatus.PENDING,
                                                  OutboxMail.created_at < now).order_by(OutboxMail.id)).all()
    for i, mail in enumerate(history):
        mail.attempts = 1
        if i == len(history) // 2:  # one bounced: the admin sees why and can send it again
            mail.status, mail.last_error = MailStatus.DEAD, BOUNCE
        else:
            mail.status, mail.sent_at = MailStatus.SENT, mail.created_at + timedelta(minutes=1)
    db.flush()
    # The jobs of the last hour, as the scheduler would have run them.
    for minutes_ago in (45, 30, 15):
        _run(db, "send-mail", now - timedelta(minutes=minutes_ago), {"sent": 0, "retry": 0, "dead": 0, "pending": 0})
    _run(db, "housekeeping", now - timedelta(minutes=50), {"sessions_deleted": 0, "evidence_rows_removed": 0,
                                                            "evidence_files_removed": 0, "uploads_removed": 0})
    # The nightly assessment, as the scheduler runs it (its red-turn mails wait in the outbox with the reminders).
    _run(db, "assess", now - timedelta(minutes=55), monitoring.sweep(db, now - timedelta(minutes=55)))
    # The hourly disbursements sweep finds nothing missing: each disbursement came with its verdict.
    _run(db, "disbursements", now - timedelta(minutes=40), disbursements.sweep(db, now - timedelta(minutes=40)))
    # As if the scheduler had been down for ten days: the stages missed meanwhile show as skipped.
    counts = reminders.queue_reminders(db, now, rules, since=now - timedelta(days=10))
    _run(db, "reminders", now, counts)
    rows = db.execute(select(OutboxMail.status)).scalars().all()
    return {status.value: rows.count(status.value) for status in MailStatus}


def _run(db: Session, job: str, at: datetime, counts: dict[str, int]) -> None:
    run = start_run(db, job, now=at, runner=RUNNER)
    finish_run(db, run.id, now=at + timedelta(seconds=1), counts=counts)


def summary_line(counts: dict[str, int]) -> str:
    return (f"演示邮件：已发送 {counts['sent']}，待发送 {counts['pending']}，发送失败 {counts['dead']}，"
            f"已跳过 {counts['skipped']}")
