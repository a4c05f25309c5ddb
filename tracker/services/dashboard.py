"""The home pages' worklists (DESIGN §1, §2): what needs the officer's attention, counted over their projects, and
what each grantee must file next. Counts come from the stored assessments (tracker.services.monitoring) and a few
aggregate queries, whatever the number of projects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from indicators.deadlines import add_months
from indicators.reading.categories import CATEGORIES
from indicators.regions import city_name
from indicators.workdays import ReportingPeriod, quarter_label
from tracker import clock
from tracker.models import (
    GuidelineDocument,
    MailStatus,
    Organisation,
    OutboxMail,
    Programme,
    Project,
    ProjectAssessment,
    ProjectStatus,
    ProjectTarget,
    Report,
    ReportStatus,
    TargetSet,
    User,
)
from tracker.services import monitoring, reminders
from tracker.services import projects as project_service
from tracker.services.business_settings import BusinessSettings
from tracker.services.projects import ATTENTION, ProjectFilters, ProjectRow

WORST = 10  # at-risk projects shown on the officer's home; the list behind the link has them all


@dataclass(frozen=True)
class Count:
    key: str  # the list filter it links to (`/projects?attention=…` or `?risk=…`)
    label: str
    count: int
    detail: str = ""
    link: str = ""


@dataclass
class OfficerWorklist:
    counts: list[Count]
    worst: list[ProjectRow]
    at_risk: int
    rates: dict[str, list[RateRow]] = field(default_factory=dict)
    totals: list[CategoryTotal] = field(default_factory=list)


def _scoped_count(db: Session, user: User, filters: ProjectFilters) -> int:
    query = project_service.filtered_projects(user, filters).order_by(None).with_only_columns(Project.id)
    return db.scalar(select(func.count()).select_from(query.subquery())) or 0


def worklist_version(db: Session, user: User) -> tuple:
    """What the officer's worklist rests on, cheaply (three aggregate queries), so that it is kept across the
    changes it does not show: a grantee saving a draft moves the data generation many times a minute.
    - The stored assessments: their computed time moves whenever one is computed (a report submitted, accepted
      or returned, a task book confirmed, an extension, the nightly job), which is when the counts of reports to
      review, overdue and returned, and every monitoring figure, can change.
    - The user's projects: how many (a programme assigned) and their versions (a termination, an edit).
    - The organisations' versions (a name shown beside a project)."""
    assessments = tuple(db.execute(select(func.count(), func.max(ProjectAssessment.computed_at))
                                   .select_from(ProjectAssessment)).one())
    scope = project_service.scoped_projects(user).with_only_columns(Project.id, Project.version).subquery()
    projects = tuple(db.execute(select(func.count(), func.sum(scope.c.version))).one())
    organisations = db.scalar(select(func.sum(Organisation.version)))
    return (*assessments, *projects, organisations)


def officer_worklist(db: Session, user: User, today: date) -> OfficerWorklist:
    """The counts of the officer's home, each linking to the list it counts, the worst projects, the reporting
    rates and the committed-against-achieved totals."""
    waiting, since = review_waiting(db, user)
    longest = f"最长已等待{(today - since).days}天" if since is not None else ""
    counts = [Count("review", "待审核报告", waiting, longest, "/reports")]
    for key in ("overdue", "returned", "task_book", "ending", "ended"):
        n = _scoped_count(db, user, ProjectFilters(attention=key, today=today))
        counts.append(Count(key, ATTENTION[key], n, "", f"/projects?attention={key}"))
    red = _scoped_count(db, user, ProjectFilters(risk="red"))
    amber = _scoped_count(db, user, ProjectFilters(risk="amber"))
    counts.append(Count("red", "预警项目", red, "", "/projects?risk=red&sort=risk"))
    counts.append(Count("amber", "关注项目", amber, "", "/projects?risk=amber&sort=risk"))
    # Applications waiting for a committee (applying and forming a meeting move the project's version).
    applied = _scoped_count(db, user, ProjectFilters(status=ProjectStatus.ACCEPTANCE_APPLIED.value))
    counts.append(Count("acceptance", "待组织验收的申请", applied, "", "/acceptance#waiting"))
    worst_query = project_service.filtered_projects(user, ProjectFilters(risk="at_risk", sort="risk"))
    worst = project_service.project_rows(db, worst_query, offset=0, limit=WORST)
    return OfficerWorklist(counts, worst, red + amber, reporting_rates(db, user), committed_vs_achieved(db, user))


def review_waiting(db: Session, user: User) -> tuple[int, date | None]:
    """Submitted reports waiting for review in the user's scope, and the day the longest-waiting one came in."""
    scope = project_service.scoped_projects(user).with_only_columns(Project.id)
    count, oldest = db.execute(select(func.count(), func.min(Report.last_submitted_at))
                               .where(Report.status == ReportStatus.SUBMITTED, Report.project_id.in_(scope))).one()
    return count or 0, clock.local(oldest).date() if oldest is not None else None


# --- the grantee's to-do list ------------------------------------------------------------------------------------


@dataclass
class ProjectTodo:
    project: Project
    next_period: ReportingPeriod | None = None  # the earliest period still to file (overdue first)
    next_open: bool = False  # … and whether it can be filled in today
    overdue: list[ReportingPeriod] = field(default_factory=list)
    returned: list[tuple[int, str]] = field(default_factory=list)  # (period index, label)
    waiting_task_book: bool = False
    risk: ProjectAssessment | None = None
    acceptance_from: date | None = None  # the acceptance window opens (or opened) on this day …
    acceptance_until: date | None = None  # … and closes on this one

    @property
    def has_something(self) -> bool:
        return bool(self.next_period or self.returned or self.waiting_task_book or self.acceptance_from)


def grantee_todos(db: Session, user: User, rules: BusinessSettings, today: date) -> list[ProjectTodo]:
    """Per running project of the grantee's organisation: the next report to file (a period that cannot be filed is
    not offered: the task book must be confirmed first), returned reports to fix, the project's monitoring status,
    and the acceptance window when it is near. Finished and terminated projects have nothing to file."""
    projects = list(db.scalars(project_service.scoped_projects(user)
                               .where(Project.status.in_(reminders.REMINDED_STATUSES)).order_by(Project.code)))
    if not projects:
        return []
    todos = {p.id: ProjectTodo(p) for p in projects}
    for period in reminders.unsubmitted_periods(db, projects, due_days=rules.report_due_days):
        todo = todos[period.project.id]
        if period.period.due < today:
            todo.overdue.append(period.period)
        if todo.next_period is None:
            todo.next_period = period.period  # periods come in order: the earliest unsubmitted
    ids = list(todos)
    confirmed = set(db.scalars(select(TargetSet.project_id).where(TargetSet.project_id.in_(ids),
                                                                  TargetSet.confirmed.is_(True))))
    for todo in todos.values():
        todo.waiting_task_book = todo.project.id not in confirmed
        if todo.next_period is not None:
            days = rules.report_open_days
            if todo.next_period.is_final:  # the final report opens with the acceptance window (DESIGN §2)
                days = max(days, rules.acceptance_open_days)
            todo.next_open = today >= todo.next_period.end - timedelta(days=days)
        opens = todo.project.end_date - timedelta(days=rules.acceptance_open_days)
        if today >= opens - timedelta(days=30):
            todo.acceptance_from = opens
            todo.acceptance_until = add_months(todo.project.end_date, rules.acceptance_close_months)
    for project_id, index, start, final in db.execute(
            select(Report.project_id, Report.period_index, Report.period_start, Report.is_final)
            .where(Report.project_id.in_(ids), Report.status == ReportStatus.RETURNED).order_by(Report.period_index)):
        todos[project_id].returned.append((index, quarter_label(start, final=final)))
    for row in db.scalars(select(ProjectAssessment).where(ProjectAssessment.project_id.in_(ids))):
        todos[row.project_id].risk = row
    return list(todos.values())


# --- reporting rates (DHIS2's definitions) -----------------------------------------------------------------------


@dataclass(frozen=True)
class RateRow:
    """Reports due (periods past their due date, task book confirmed), submitted, and submitted on time."""

    name: str
    due: int
    submitted: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.submitted / self.due if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


RATE_DIMENSIONS = {"programme": "项目计划", "city": "城市", "officer": "项目管理专员"}


def _scope(user: User, programme_id: int | None):
    query = project_service.scoped_projects(user)
    if programme_id is not None:
        query = query.where(Project.programme_id == programme_id)
    return query.with_only_columns(Project.id)


def reporting_rates(db: Session, user: User, *, programme_id: int | None = None) -> dict[str, list[RateRow]]:
    """Per programme, city and officer over the user's projects (of one programme, if given), from the stored
    assessments: one grouped query each, whatever the number of projects."""
    scope = _scope(user, programme_id)
    sums = (func.sum(ProjectAssessment.reports_due), func.sum(ProjectAssessment.reports_submitted),
            func.sum(ProjectAssessment.reports_on_time))
    base = (select().select_from(ProjectAssessment).join(Project, Project.id == ProjectAssessment.project_id)
            .where(ProjectAssessment.project_id.in_(scope)))
    city = func.substr(Organisation.division_code, 1, 4)
    queries = {
        "programme": base.join(Programme, Programme.id == Project.programme_id)
        .add_columns(Programme.name, *sums).group_by(Programme.name),
        "city": base.join(Organisation, Organisation.id == Project.organisation_id)
        .add_columns(city, *sums).group_by(city),
        "officer": base.outerjoin(User, User.id == Project.officer_id)
        .add_columns(User.display_name, *sums).group_by(User.display_name),
    }
    out: dict[str, list[RateRow]] = {}
    for key, query in queries.items():
        rows = [RateRow(_rate_name(key, name), int(due or 0), int(sent or 0), int(on_time or 0))
                for name, due, sent, on_time in db.execute(query)]
        out[key] = sorted((r for r in rows if r.due), key=lambda r: (r.rate or 0, r.name))
    return out


def _rate_name(key: str, name: str | None) -> str:
    if key == "city":
        return city_name((name or "") + "00") or "未知城市"
    return name or "未指定"


# --- committed against achieved, by category ---------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryTotal:
    """The cumulative targets of one category and unit over the user's projects: what the task books commit and
    what the accepted reports have achieved so far (as stored by the assessment)."""

    category: str
    label: str
    unit: str
    committed: Decimal
    achieved: Decimal
    projects: int

    @property
    def share(self) -> float:
        return float(min(self.achieved / self.committed, Decimal(1))) if self.committed > 0 else 0.0


def _achieved_figures(db: Session, scope: Any) -> Any:
    """(project, target position, achieved) from the stored assessments' per-target figures, taken apart by the
    database's own JSON functions: decoding every project's assessment in Python was most of the officer home's
    time at 10,000 projects."""
    if db.get_bind().dialect.name == "postgresql":
        element = func.json_array_elements(ProjectAssessment.targets).table_valued("value")
        position, value = element.c.value.op("->>")("position"), element.c.value.op("->>")("achieved")
    else:
        element = func.json_each(ProjectAssessment.targets).table_valued("value")
        position, value = func.json_extract(element.c.value, "$.position"), func.json_extract(element.c.value,
                                                                                                 "$.achieved")
    return (select(ProjectAssessment.project_id, position, value).select_from(ProjectAssessment)
            .join(element, true()).where(ProjectAssessment.project_id.in_(scope), value.is_not(None)))


def committed_vs_achieved(db: Session, user: User, *, programme_id: int | None = None,
                          limit: int | None = 12) -> list[CategoryTotal]:
    """Sums per (category, unit) of counted targets (patents, papers, people, revenue…; not measured levels,
    per-year figures or deliverables, which do not add up), the most committed first. Two queries."""
    scope = _scope(user, programme_id)
    newest = (select(TargetSet.project_id, func.max(TargetSet.version).label("version"))
              .where(TargetSet.project_id.in_(scope)).group_by(TargetSet.project_id).subquery())
    # Plain rows (no ORM loading): tens of thousands of targets at provincial scale.
    connection = db.connection()
    targets = connection.execute(
        select(TargetSet.project_id, ProjectTarget.position, ProjectTarget.category, ProjectTarget.unit,
               ProjectTarget.value)
        .join(newest, (newest.c.project_id == TargetSet.project_id) & (newest.c.version == TargetSet.version))
        .join(ProjectTarget, ProjectTarget.target_set_id == TargetSet.id)
        .where(ProjectTarget.kind == "cumulative", ProjectTarget.op.in_((">=", ">")),
               ProjectTarget.value.is_not(None))).all()
    achieved = {(project_id, int(position)): Decimal(value)
                for project_id, position, value in connection.execute(_achieved_figures(db, scope))}
    totals: dict[tuple[str, str], list] = {}
    for project_id, position, category, unit, value in targets:
        if unit and unit.endswith("/年"):
            continue
        entry = totals.setdefault((category, unit or ""), [Decimal(0), Decimal(0), set()])
        entry[0] += value
        entry[1] += min(achieved.get((project_id, position), Decimal(0)), value)  # beyond the target adds nothing
        entry[2].add(project_id)
    found = [CategoryTotal(category, CATEGORIES.get(category, category), unit, committed, got, len(projects))
             for (category, unit), (committed, got, projects) in totals.items()]
    return sorted(found, key=lambda t: (-t.projects, t.label))[:limit]


def status_counts(db: Session, user: User, *, programme_id: int | None = None) -> dict[str, int]:
    """The projects monitoring watches (running or in acceptance), per status, and "none": not assessed yet."""
    scope = _scope(user, programme_id).where(Project.status.in_(monitoring.ASSESSED_STATUSES))
    counts = dict.fromkeys(("red", "amber", "green", "unknown", "none"), 0)
    for status, n in db.execute(select(ProjectAssessment.status, func.count())
                                .where(ProjectAssessment.project_id.in_(scope)).group_by(ProjectAssessment.status)):
        counts[status] = n
    total = db.scalar(select(func.count()).select_from(scope.subquery())) or 0
    counts["none"] = total - sum(v for k, v in counts.items() if k != "none")
    return counts


# --- the admin's data counts -------------------------------------------------------------------------------------


def admin_counts(db: Session) -> list[Count]:
    """What the system holds, each linking to where it is managed (a handful of counts, one query each)."""
    def count(model: Any, *where: Any) -> int:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return [
        Count("users", "有效账号", count(User, User.is_active.is_(True)), "", "/admin/users"),
        Count("organisations", "承担单位", count(Organisation), "", "/admin/organisations"),
        Count("programmes", "项目计划", count(Programme), "", "/admin/programmes"),
        Count("guidelines", "指南版本", count(GuidelineDocument), "", "/guidelines"),
        Count("projects", "项目", count(Project), "", "/projects"),
        Count("running", "在研和延期项目", count(Project, Project.status.in_(reminders.REMINDED_STATUSES)), "",
              "/projects?status=active"),
        Count("reports", "待审核报告", count(Report, Report.status == ReportStatus.SUBMITTED), "", "/reports"),
        Count("red", "预警项目", count(ProjectAssessment.__table__.join(Project.__table__),
                                        ProjectAssessment.status == "red",
                                        Project.status.in_(monitoring.ASSESSED_STATUSES)), "",
              "/projects?risk=red&sort=risk"),
        Count("mail", "待发邮件", count(OutboxMail, OutboxMail.status == MailStatus.PENDING), "",
              "/admin/outbox?status=pending"),
        Count("dead", "发送失败的邮件", count(OutboxMail, OutboxMail.status == MailStatus.DEAD), "",
              "/admin/outbox?status=dead"),
    ]
