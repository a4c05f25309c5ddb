"""Who must be reminded of what (DESIGN §2, §3): the rules the `reminders` job applies, kept here so that the
project pages and the monitoring use the same ones.

- A **remindable period** is a reporting period of a project in 在研 or 延期 whose task book is confirmed and whose
  report has not been submitted; its due date comes from the reporting calendar. Never a terminated, finished or
  accepted project, nor one before its task book.
- A project's **recipients** are its contact person (the e-mail of the award list) and the grantee accounts
  assigned to it, not every account of the organisation.
- `queue_reminders` is the sweep: for each remindable period the latest reminder stage that has come (stages in
  the business settings), once per recipient; the earlier stages it replaces are recorded as skipped; mails leave
  inside the send window. Also the extension deadline, the acceptance window's opening and closing, and one
  daily digest per officer. Every mail has a dedupe key, so running the sweep again queues nothing new.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from indicators.deadlines import add_months, latest_stage, window_opening
from indicators.workdays import ReportingPeriod, quarter_label, reporting_periods, years_needed
from tracker import clock
from tracker.models import Project, ProjectStatus, Report, ReportStatus, Role, TargetSet, User
from tracker.services import outbox
from tracker.services.business_settings import BusinessSettings
from tracker.services.outbox import valid_address
from tracker.services.project_changes import extension_deadline
from tracker.services.work_calendar import load_calendar

REMINDED_STATUSES = (ProjectStatus.ACTIVE, ProjectStatus.EXTENDED)
REPLACED = "已由较晚的提醒代替（系统停机后只发送最近的一次提醒）"
SUBMITTED = "报告已提交，不再提醒"
DIGEST_OVERDUE_DAYS = 7  # the officer's digest lists periods at least this late
DIGEST_LIMIT = 50  # rows per digest section; the counts are complete
CLOSING_NOTICE_DAYS = 30  # the grantee is told this long before the acceptance application closes
NO_ADDRESS = "无法提醒：缺少联系人邮箱"


@dataclass(frozen=True)
class Recipient:
    key: str  # in the dedupe key: "u{user id}", or "pi" for the award list's contact address
    address: str
    name: str
    user: User | None = None


def recipients_of(project: Project) -> list[Recipient]:
    """The project's assigned grantee accounts that have an address, then the contact person of the award list
    (unless one of the accounts already has that address)."""
    found: list[Recipient] = []
    seen: set[str] = set()
    for user in project.contacts:
        if user.is_active and valid_address(user.email) and user.email.lower() not in seen:
            seen.add(user.email.lower())
            found.append(Recipient(f"u{user.id}", user.email, user.display_name or user.username, user))
    if valid_address(project.pi_email) and project.pi_email.lower() not in seen:
        found.append(Recipient("pi", project.pi_email, project.pi_name or "项目负责人"))
    return found


@dataclass(frozen=True)
class RemindablePeriod:
    project: Project
    period: ReportingPeriod


def remindable_projects(db: Session) -> list[Project]:
    """Projects in 在研 or 延期 with a confirmed task book, their contacts loaded (one query each)."""
    confirmed = exists().where(TargetSet.project_id == Project.id, TargetSet.confirmed.is_(True))
    return list(db.scalars(select(Project).where(Project.status.in_(REMINDED_STATUSES), confirmed)
                           .options(selectinload(Project.contacts)).order_by(Project.id)))


def remindable_periods(db: Session, projects: list[Project], *, today: date, due_days: int,
                       lead_days: int) -> list[RemindablePeriod]:
    """The periods of these projects whose report is not submitted and that are due within `lead_days` of
    `today` (or overdue); two queries whatever the number of projects."""
    if not projects:
        return []
    submitted = set(db.execute(select(Report.project_id, Report.period_index).where(
        Report.project_id.in_([p.id for p in projects]), Report.first_submitted_at.is_not(None))).all())
    years: set[int] = set()
    for project in projects:
        years |= years_needed(project.start_date, project.end_date, due_days)
    calendar = load_calendar(db, years)
    horizon = today + timedelta(days=lead_days)
    found = []
    for project in projects:
        for period in reporting_periods(project.start_date, project.end_date, calendar, due_days):
            if period.due <= horizon and (project.id, period.index) not in submitted:
                found.append(RemindablePeriod(project, period))
    return found


# --- the sweep ---------------------------------------------------------------------------------------------------


@dataclass
class _Sweep:
    db: Session
    now: datetime
    rules: BusinessSettings
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def local_now(self) -> datetime:
        return clock.local(self.now)

    @property
    def today(self) -> date:
        return self.local_now.date()

    def send_after(self) -> datetime:
        return window_opening(self.local_now, self.rules.send_window_start, self.rules.send_window_end)

    def queue(self, key: str, template: str, to: Recipient, context: dict[str, Any], project: Project | None,
              *, skipped: str | None = None, send_after: datetime | None = None) -> bool:
        queued = outbox.queue_mail(self.db, dedupe_key=key, template=template, recipient=to.address, user=to.user,
                                   context=context, now=self.now, project_id=project.id if project else None,
                                   send_after=send_after if send_after is not None else self.send_after(),
                                   skipped=skipped)
        if queued is not None:
            self.counts["skipped" if skipped else "queued"] += 1
        return queued is not None


def queue_reminders(db: Session, now: datetime, rules: BusinessSettings) -> dict[str, int]:
    """The `reminders` sweep (idempotent): queue every reminder due at `now`."""
    sweep = _Sweep(db, now, rules)
    projects = remindable_projects(db)
    lead = max(0, -min(rules.reminder_stages, default=0))
    periods = remindable_periods(db, projects, today=sweep.today, due_days=rules.report_due_days, lead_days=lead)
    _period_reminders(sweep, periods)
    _project_deadlines(sweep, list(db.scalars(select(Project).where(Project.status.in_(REMINDED_STATUSES))
                                              .options(selectinload(Project.contacts)))))
    _digests(sweep, periods)
    return dict(sweep.counts)


def _period_reminders(sweep: _Sweep, periods: list[RemindablePeriod]) -> None:
    rules, today = sweep.rules, sweep.today
    wanted: list[tuple[str, RemindablePeriod, int, Recipient]] = []
    for item in periods:
        stage = latest_stage(item.period.due, today, rules.reminder_stages, rules.reminder_repeat_days)
        if stage is None:
            continue
        recipients = recipients_of(item.project)
        if not recipients:
            sweep.counts["no_recipient"] += 1
            continue
        for to in recipients:
            wanted.append((period_key(item.project.id, item.period.index, stage, to.key), item, stage, to))
    present = outbox.existing_keys(sweep.db, [key for key, *_ in wanted])
    send_after = sweep.send_after()
    for key, item, stage, to in wanted:
        if key in present:
            continue
        days_left = (item.period.due - send_after.date()).days
        context = {"name": to.name, "project_code": item.project.code, "project_title": item.project.title,
                   "period": item.period.label, "due": item.period.due.isoformat(), "days_left": days_left,
                   "provisional": item.period.provisional,
                   "path": f"/projects/{item.project.id}/reports/{item.period.index}"}
        sweep.queue(key, "report_reminder", to, context, item.project, send_after=send_after)
        # The stages this one replaces: recorded as skipped, and no longer sent if still waiting.
        for earlier in rules.reminder_stages:
            if earlier < stage:
                earlier_key = period_key(item.project.id, item.period.index, earlier, to.key)
                sweep.queue(earlier_key, "report_reminder", to, context, item.project, skipped=REPLACED)
                outbox.skip(sweep.db, [earlier_key], reason=REPLACED, now=sweep.now)


def period_key(project_id: int, period_index: int, stage: int, recipient: str) -> str:
    return f"period:{project_id}:{period_index}:stage:{stage}:to:{recipient}"


def cancel_period_reminders(db: Session, project_id: int, period_index: int) -> int:
    """A submitted report: its reminders still waiting to leave are skipped."""
    return outbox.skip_prefix(db, f"period:{project_id}:{period_index}:", reason=SUBMITTED)


def _project_deadlines(sweep: _Sweep, projects: list[Project]) -> None:
    """The extension deadline (only before any extension) and the acceptance application window."""
    rules, today = sweep.rules, sweep.today
    for project in projects:
        recipients = recipients_of(project)
        base = {"project_code": project.code, "project_title": project.title, "end": project.end_date.isoformat(),
                "path": f"/projects/{project.id}"}
        mails: list[tuple[str, str, dict[str, Any]]] = []
        if project.status == ProjectStatus.ACTIVE and rules.extension_notice_months:
            deadline = extension_deadline(project.end_date, rules.extension_notice_months)
            if deadline - timedelta(days=rules.extension_reminder_days) <= today <= deadline:
                mails.append((f"extension-deadline:{project.id}:{deadline.isoformat()}", "extension_deadline",
                              {**base, "deadline": deadline.isoformat(),
                               "max_months": rules.extension_max_months}))
        opening = project.end_date - timedelta(days=rules.acceptance_open_days)
        closing = add_months(project.end_date, rules.acceptance_close_months)
        if opening <= today <= closing:
            mails.append((f"acceptance-open:{project.id}:{project.end_date.isoformat()}", "acceptance_open",
                          {**base, "opening": opening.isoformat(), "closing": closing.isoformat()}))
        if closing - timedelta(days=CLOSING_NOTICE_DAYS) <= today <= closing:
            mails.append((f"acceptance-closing:{project.id}:{closing.isoformat()}", "acceptance_closing",
                          {**base, "closing": closing.isoformat(), "days_left": (closing - today).days}))
        if mails and not recipients:
            sweep.counts["no_recipient"] += 1
        for key, template, context in mails:
            for to in recipients:
                sweep.queue(f"{key}:to:{to.key}", template, to, {**context, "name": to.name}, project)


def _digests(sweep: _Sweep, periods: list[RemindablePeriod]) -> None:
    """One mail a day per officer, from the digest time on: their programmes' periods a week or more overdue and
    the reports waiting for their review; nothing to say, no mail."""
    if sweep.local_now.time() < sweep.rules.digest_time:
        return
    db, today = sweep.db, sweep.today
    officers = db.scalars(select(User).where(User.role == Role.OFFICER.value, User.is_active.is_(True))
                          .options(selectinload(User.programmes)).order_by(User.id)).all()
    late = [p for p in periods if p.period.due <= today - timedelta(days=DIGEST_OVERDUE_DAYS)]
    waiting = db.execute(select(Report.period_start, Report.is_final, Report.period_index, Report.last_submitted_at,
                                Project.id, Project.code, Project.title, Project.programme_id)
                         .join(Project, Project.id == Report.project_id)
                         .where(Report.status == ReportStatus.SUBMITTED)
                         .order_by(Report.last_submitted_at)).all()
    for officer in officers:
        if not valid_address(officer.email):
            continue
        mine = {p.id for p in officer.programmes}
        overdue = [{"code": p.project.code, "title": p.project.title, "period": p.period.label,
                    "due": p.period.due.isoformat(), "days": (today - p.period.due).days,
                    "path": f"/projects/{p.project.id}/reports/{p.period.index}"}
                   for p in late if p.project.programme_id in mine]
        review = [{"code": code, "title": title, "period": quarter_label(start, final=final),
                   "since": f"{clock.local(submitted):%Y-%m-%d}" if submitted else "",
                   "path": f"/projects/{project_id}/reports/{index}"}
                  for start, final, index, submitted, project_id, code, title, programme_id in waiting
                  if programme_id in mine]
        turned_red: list[dict[str, Any]] = []  # filled by the monitoring's assessment
        if not (overdue or review or turned_red):
            continue
        to = Recipient(f"u{officer.id}", officer.email, officer.display_name or officer.username, officer)
        context = {"name": to.name, "date": today.isoformat(), "overdue": overdue[:DIGEST_LIMIT],
                   "overdue_total": len(overdue), "review": review[:DIGEST_LIMIT], "review_total": len(review),
                   "red": turned_red, "overdue_days": DIGEST_OVERDUE_DAYS}
        sweep.queue(f"digest:{officer.id}:{today.isoformat()}", "officer_digest", to, context, None,
                    send_after=sweep.now)
