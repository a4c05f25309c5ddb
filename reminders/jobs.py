"""The scheduled jobs (DESIGN §3, §4): each a plain function of (session, now) that sweeps database state
idempotently (the Healthchecks pattern), so a missed tick is caught up by the next one and a doubled tick, or a
second process, finds nothing left to do. The scheduler only calls them; `tracker jobs run NAME` calls one by
hand. Their names are an interface (DESIGN §4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from reminders.mail import SmtpConfig, SmtpTransport, send_due_mail
from tracker.files.store import EvidenceStore
from tracker.services import business_settings, disbursements, monitoring, reminders, scheduling
from tracker.services.housekeeping import sweep
from tracker.settings import get_settings


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Session, datetime], dict[str, int]]
    every_minutes: int
    description: str


def queue_reminders(db: Session, now: datetime) -> dict[str, int]:
    """Queue the reminders, deadlines and officers' digests due at `now` (tracker.services.reminders). The stages
    that came while no sweep succeeded (since the last successful run) are recorded as skipped."""
    since = scheduling.last_success(db, "reminders", before=now)
    return reminders.queue_reminders(db, now, business_settings.load(db), since=since)


def send_mail(db: Session, now: datetime) -> dict[str, int]:
    """Deliver the outbox through TRACKER_SMTP_URL; without a server the mails stay pending and visible."""
    config = SmtpConfig.from_url(get_settings().smtp_url)
    if config is None:
        return send_due_mail(db, now, transport=None)
    transport = SmtpTransport(config)
    try:
        return send_due_mail(db, now, transport=transport, sender=config.sender)
    finally:
        transport.close()


def assess(db: Session, now: datetime) -> dict[str, int]:
    """Every running project's assessment recomputed (tracker.services.monitoring): the safety net behind the
    services that recompute it as they change things, and the passing of time (deadlines, overdue reports)."""
    return monitoring.sweep(db, now)


def create_disbursements(db: Session, now: datetime) -> dict[str, int]:
    """The disbursements of passed post-subsidy projects and passed milestones that are missing (the safety net
    behind the verdict's own transaction; tracker.services.disbursements)."""
    return disbursements.sweep(db, now)


def housekeeping(db: Session, now: datetime) -> dict[str, int]:
    """Expired sessions and pending uploads, evidence files nothing references (tracker.services.housekeeping)."""
    data_dir = get_settings().data_dir
    return sweep(db, now=now, evidence=EvidenceStore(data_dir / "evidence"), uploads=data_dir / "uploads")


# What the jobs count, in words (the counts themselves are the jobs' own keys).
COUNT_LABELS = {
    "queued": "生成邮件", "skipped": "跳过", "projects_looked_at": "检查项目", "no_recipient": "缺少收件人",
    "sent": "已发送", "retry": "待重试", "dead": "发送失败", "pending": "待发送", "sessions_deleted": "清理会话",
    "evidence_rows_removed": "删除佐证记录", "evidence_files_removed": "删除佐证文件", "uploads_removed": "清理上传",
    "assessed": "评估项目", "changed": "状态变化", "turned_red": "转为预警", "created": "新建拨付",
    "looked_at": "核对项目",
}


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("reminders", queue_reminders, 15, "生成催报提醒、延期与验收期限提醒和专员每日汇总（放入发件箱）"),
        Job("send-mail", send_mail, 1, "发送发件箱中到期的邮件"),
        Job("assess", assess, 24 * 60, "重新评估在研项目的绩效监测状态（进度、逾期报告、资金、到期未申请验收）"),
        Job("disbursements", create_disbursements, 60, "为验收通过的后补助项目和已通过的里程碑补建缺少的拨付记录"),
        Job("housekeeping", housekeeping, 60, "清理过期的登录会话和待确认的上传，以及没有任何记录引用的佐证文件"),
    )
}
