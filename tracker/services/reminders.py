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
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, load_only, selectinload

from indicators.deadlines import add_months, extension_deadline, latest_stage, next_stage_day, window_opening
from indicators.workdays import ReportingPeriod, quarter_label
from tracker import clock
from tracker.models import (
    AssessmentChange,
    MailStatus,
    OutboxMail,
    Project,
    ProjectAssessment,
    ProjectStatus,
    Report,
    ReportStatus,
    Role,
    TargetSet,
    User,
)
from tracker.services import outbox
from tracker.services.business_settings import BusinessSettings
from tracker.services.outbox import valid_address
from tracker.services.work_calendar import reporting_calendars

REMINDED_STATUSES = (ProjectStatus.ACTIVE, ProjectStatus.EXTENDED)
REPLACED = "已由较晚的提醒代替（系统停机后只发送最近的一次提醒）"
SUBMITTED = "报告已提交，不再提醒"
DIGEST_OVERDUE_DAYS = 7  # the officer's digest lists periods at least this late
DIGEST_LIMIT = 50  # rows per digest section; the counts are complete
CLOSING_NOTICE_DAYS = 30  # the grantee is told this long before the acceptance application closes
NO_ADDRESS = "无法提醒：缺少联系人邮箱"
NOTHING_TODAY = "今日没有需要汇总的事项"


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


def remindable_projects(db: Session, *, due_at: datetime | None = None) -> list[Project]:
    """Projects in 在研 or 延期 (with their contacts); with `due_at`, only those the sweep must look at by then.
    Only the columns reminders read are loaded (not the rules, which the daily pass would parse 10,000 times)."""
    query = select(Project).where(Project.status.in_(REMINDED_STATUSES))
    if due_at is not None:
        query = query.where(or_(Project.next_reminder_at.is_(None), Project.next_reminder_at <= due_at))
    columns = load_only(Project.code, Project.title, Project.status, Project.start_date, Project.end_date,
                        Project.pi_name, Project.pi_email, Project.programme_id, Project.next_reminder_at)
    return list(db.scalars(query.options(columns, selectinload(Project.contacts)).order_by(Project.id)))


def unsubmitted_periods(db: Session, projects: list[Project], *, due_days: int) -> list[RemindablePeriod]:
    """Every reporting period of these projects whose task book is confirmed and whose report was never
    submitted (overdue, due, or still to come); three queries whatever the number of projects."""
    if not projects:
        return []
    ids = [p.id for p in projects]
    confirmed = set(db.scalars(select(TargetSet.project_id).where(TargetSet.project_id.in_(ids),
                                                                  TargetSet.confirmed.is_(True))))
    submitted = set(db.execute(select(Report.project_id, Report.period_index).where(
        Report.project_id.in_(ids), Report.first_submitted_at.is_not(None))).all())
    calendars = reporting_calendars(db, [p for p in projects if p.id in confirmed], due_days)
    found = []
    for project in projects:
        if project.id not in confirmed:
            continue
        for period in calendars[project.id]:
            if (project.id, period.index) not in submitted:
                found.append(RemindablePeriod(project, period))
    return found


def remindable_periods(db: Session, projects: list[Project], *, today: date, due_days: int,
                       lead_days: int) -> list[RemindablePeriod]:
    """The unsubmitted periods due within `lead_days` of `today`, or overdue: the ones a reminder may concern."""
    horizon = today + timedelta(days=lead_days)
    return [p for p in unsubmitted_periods(db, projects, due_days=due_days) if p.period.due <= horizon]


# --- the sweep ---------------------------------------------------------------------------------------------------


@dataclass
class _Sweep:
    db: Session
    now: datetime
    rules: BusinessSettings
    since: datetime | None  # the start of the last successful sweep: stages that came since were missed
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # dedupe key → outbox row, written at the end
    newest: dict[str, str] = field(default_factory=dict)  # "period:{p}:{i}:" + recipient → the stage key queued

    @property
    def local_now(self) -> datetime:
        return clock.local(self.now)

    @property
    def today(self) -> date:
        return self.local_now.date()

    @property
    def send_after(self) -> datetime:
        return window_opening(self.local_now, self.rules.send_window_start, self.rules.send_window_end)

    def add(self, key: str, template: str, to: Recipient, context: dict[str, Any], project: Project | None, *,
            skipped: str | None = None, send_after: datetime | None = None) -> None:
        self.rows[key] = outbox.row(dedupe_key=key, template=template, recipient=to.address, user=to.user,
                                    context=context, now=self.now, project_id=project.id if project else None,
                                    send_after=send_after or self.send_after, skipped=skipped)

    def write(self) -> None:
        """Queue the mails not queued yet, in bulk; skip what the new reminders replace."""
        present = outbox.existing_keys(self.db, list(self.rows))
        new = [row for key, row in self.rows.items() if key not in present]
        outbox.queue_many(self.db, new)
        for row in new:
            self.counts["skipped" if row["status"] == MailStatus.SKIPPED else "queued"] += 1
        replaced = [key for key in _pending_period_keys(self.db, {int(k.split(":")[1]) for k in self.newest})
                    if self.newest.get(_period_recipient(key), key) != key]
        self.counts["skipped"] += outbox.skip(self.db, replaced, reason=REPLACED, now=self.now)


def _period_recipient(key: str) -> str:
    """`period:{p}:{i}:stage:{s}:to:{r}` → `period:{p}:{i}:to:{r}` (one reminder per period and recipient)."""
    parts = key.split(":")
    return ":".join(parts[:3] + parts[5:])


def _pending_period_keys(db: Session, project_ids: set[int]) -> list[str]:
    if not project_ids:
        return []
    return list(db.scalars(select(OutboxMail.dedupe_key).where(
        OutboxMail.status == MailStatus.PENDING, OutboxMail.project_id.in_(project_ids),
        OutboxMail.dedupe_key.like("period:%"))))


def queue_reminders(db: Session, now: datetime, rules: BusinessSettings, *, since: datetime | None = None
                    ) -> dict[str, int]:
    """The `reminders` sweep (idempotent): queue every reminder due at `now`.

    Each project carries the moment the sweep must look at it again, so a tick reads only the projects whose
    moment has come (one indexed query). Once a day, from the digest time, a full pass also builds the officers'
    digests and sets every project's moment afresh, which catches whatever a change forgot to invalidate."""
    sweep = _Sweep(db, now, rules, since)
    full = _digests_due(sweep)
    projects = remindable_projects(db, due_at=None if full else now)
    periods = unsubmitted_periods(db, projects, due_days=rules.report_due_days)
    due = [p for p in projects if p.next_reminder_at is None or p.next_reminder_at <= now]
    due_ids = {p.id for p in due}
    _period_reminders(sweep, [p for p in periods if p.project.id in due_ids])
    _project_deadlines(sweep, due)
    _schedule(sweep, projects, periods)
    sweep.write()
    if full:
        _digests(sweep, periods)
    sweep.counts["projects_looked_at"] = len(due)
    return dict(sweep.counts)


def _period_reminders(sweep: _Sweep, periods: list[RemindablePeriod]) -> None:
    rules, today = sweep.rules, sweep.today
    send_after = sweep.send_after
    missed_since = clock.local(sweep.since).date() if sweep.since is not None else today
    for item in periods:
        stage = latest_stage(item.period.due, today, rules.reminder_stages, rules.reminder_repeat_days)
        if stage is None:
            continue
        recipients = recipients_of(item.project)
        if not recipients:
            sweep.counts["no_recipient"] += 1
            continue
        context = {"project_code": item.project.code, "project_title": item.project.title,
                   "period": item.period.label, "due": item.period.due.isoformat(),
                   "days_left": (item.period.due - send_after.date()).days, "provisional": item.period.provisional,
                   "path": f"/projects/{item.project.id}/reports/{item.period.index}"}
        for to in recipients:
            key = period_key(item.project.id, item.period.index, stage, to.key)
            sweep.add(key, "report_reminder", to, {**context, "name": to.name}, item.project, send_after=send_after)
            sweep.newest[_period_recipient(key)] = key
            # The stages this one replaces while the sweep was not running: recorded as skipped.
            for earlier in rules.reminder_stages:
                day = item.period.due + timedelta(days=earlier)
                if earlier < stage and missed_since < day <= today:
                    sweep.add(period_key(item.project.id, item.period.index, earlier, to.key), "report_reminder",
                              to, {**context, "name": to.name}, item.project, skipped=REPLACED)


def period_key(project_id: int, period_index: int, stage: int, recipient: str) -> str:
    return f"period:{project_id}:{period_index}:stage:{stage}:to:{recipient}"


def cancel_period_reminders(db: Session, project_id: int, period_index: int) -> int:
    """A submitted report: its reminders still waiting to leave are skipped."""
    return outbox.skip_prefix(db, f"period:{project_id}:{period_index}:", reason=SUBMITTED)


def _deadlines(project: Project, rules: BusinessSettings) -> dict[str, date]:
    """The project's deadline reminders and the day each starts: the extension deadline (only before any
    extension), the acceptance application's opening and its closing."""
    found = {}
    if project.status == ProjectStatus.ACTIVE and rules.extension_notice_months:
        deadline = extension_deadline(project.end_date, rules.extension_notice_months)
        found["extension"] = deadline - timedelta(days=rules.extension_reminder_days)
    found["acceptance_open"] = project.end_date - timedelta(days=rules.acceptance_open_days)
    found["acceptance_closing"] = (add_months(project.end_date, rules.acceptance_close_months)
                                   - timedelta(days=CLOSING_NOTICE_DAYS))
    return found


def _project_deadlines(sweep: _Sweep, projects: list[Project]) -> None:
    rules, today = sweep.rules, sweep.today
    for project in projects:
        base = {"project_code": project.code, "project_title": project.title, "end": project.end_date.isoformat(),
                "path": f"/projects/{project.id}"}
        closing = add_months(project.end_date, rules.acceptance_close_months)
        mails: list[tuple[str, str, dict[str, Any]]] = []
        starts = _deadlines(project, rules)
        if "extension" in starts:
            deadline = extension_deadline(project.end_date, rules.extension_notice_months)
            if starts["extension"] <= today <= deadline:
                mails.append((f"extension-deadline:{project.id}:{deadline.isoformat()}", "extension_deadline",
                              {**base, "deadline": deadline.isoformat(), "max_months": rules.extension_max_months}))
        if starts["acceptance_open"] <= today <= closing:
            mails.append((f"acceptance-open:{project.id}:{project.end_date.isoformat()}", "acceptance_open",
                          {**base, "opening": starts["acceptance_open"].isoformat(), "closing": closing.isoformat()}))
        if starts["acceptance_closing"] <= today <= closing:
            mails.append((f"acceptance-closing:{project.id}:{closing.isoformat()}", "acceptance_closing",
                          {**base, "closing": closing.isoformat(), "days_left": (closing - today).days}))
        recipients = recipients_of(project) if mails else []
        if mails and not recipients:
            sweep.counts["no_recipient"] += 1
        for key, template, context in mails:
            for to in recipients:
                sweep.add(f"{key}:to:{to.key}", template, to, {**context, "name": to.name}, project)


def _schedule(sweep: _Sweep, projects: list[Project], periods: list[RemindablePeriod]) -> None:
    """When to look at each project again: the first midnight at which one of its stages or deadlines comes;
    with nothing ahead, in a month (a change that matters empties the moment, so the next tick looks at once)."""
    rules, today = sweep.rules, sweep.today
    days: dict[int, list[date]] = defaultdict(list)
    for item in periods:
        day = next_stage_day(item.period.due, today, rules.reminder_stages, rules.reminder_repeat_days)
        if day is not None:
            days[item.project.id].append(day)
    for project in projects:
        ahead = days[project.id] + [d for d in _deadlines(project, rules).values() if d > today]
        if ahead:
            moment = datetime.combine(min(ahead), time(0), tzinfo=clock.LOCAL_TZ)
        else:
            moment = sweep.now + timedelta(days=30)
        if project.next_reminder_at != moment:  # the daily pass mostly confirms: no write then
            project.next_reminder_at = moment
    sweep.db.flush()


def _digests_due(sweep: _Sweep) -> bool:
    """From the digest time on, until every officer who can receive one has today's (sent or not needed)."""
    if sweep.local_now.time() < sweep.rules.digest_time:
        return False
    officers = sweep.db.execute(select(User.id, User.email).where(User.role == Role.OFFICER.value,
                                                                  User.is_active.is_(True))).all()
    keys = [_digest_key(officer_id, sweep.today) for officer_id, email in officers if valid_address(email)]
    return len(outbox.existing_keys(sweep.db, keys)) < len(keys)


def _turned_red_since(db: Session, since: datetime) -> list[tuple[AssessmentChange, Project]]:
    """Projects that turned red since `since` and are still red (tracker.services.monitoring writes the rows)."""
    rows = db.execute(select(AssessmentChange, Project).join(Project, Project.id == AssessmentChange.project_id)
                      .join(ProjectAssessment, ProjectAssessment.project_id == Project.id)
                      .where(AssessmentChange.status == "red", AssessmentChange.changed_at >= since,
                             ProjectAssessment.status == "red")
                      .order_by(AssessmentChange.id)).all()
    return [(change, project) for change, project in rows]


def _digest_key(officer_id: int, day: date) -> str:
    return f"digest:{officer_id}:{day.isoformat()}"


def _digests(sweep: _Sweep, periods: list[RemindablePeriod]) -> None:
    """One mail a day per officer: their programmes' periods a week or more overdue and the reports waiting for
    their review. Nothing to say: recorded as skipped, so the day's digest is done either way."""
    db, today = sweep.db, sweep.today
    officers = db.scalars(select(User).where(User.role == Role.OFFICER.value, User.is_active.is_(True))
                          .options(selectinload(User.programmes)).order_by(User.id)).all()
    late = [p for p in periods if p.period.due <= today - timedelta(days=DIGEST_OVERDUE_DAYS)]
    waiting = db.execute(select(Report.period_start, Report.is_final, Report.period_index, Report.last_submitted_at,
                                Project.id, Project.code, Project.title, Project.programme_id)
                         .join(Project, Project.id == Report.project_id)
                         .where(Report.status == ReportStatus.SUBMITTED)
                         .order_by(Report.last_submitted_at)).all()
    red = _turned_red_since(db, sweep.now - timedelta(days=1))  # since yesterday's digest
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
        turned_red = [{"code": project.code, "title": project.title, "reason": "；".join(change.reasons[:3]),
                       "path": f"/projects/{project.id}"}
                      for change, project in red if project.programme_id in mine][:DIGEST_LIMIT]
        to = Recipient(f"u{officer.id}", officer.email, officer.display_name or officer.username, officer)
        context = {"name": to.name, "date": today.isoformat(), "overdue": overdue[:DIGEST_LIMIT],
                   "overdue_total": len(overdue), "review": review[:DIGEST_LIMIT], "review_total": len(review),
                   "red": turned_red, "overdue_days": DIGEST_OVERDUE_DAYS}
        key = _digest_key(officer.id, today)
        nothing = not (overdue or review or turned_red)
        queued = outbox.queue_mail(db, dedupe_key=key, template="officer_digest", recipient=to.address, user=officer,
                                   context=context, now=sweep.now, skipped=NOTHING_TODAY if nothing else None)
        if queued is not None and not nothing:
            sweep.counts["queued"] += 1
            # An older digest still waiting (the mail server was down) is out of date: today's says it all.
            outbox.skip_prefix(db, f"digest:{officer.id}:", keep=key, reason="已由较新的每日汇总代替")
