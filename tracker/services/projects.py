"""Projects from award lists: direction matching, inherited targets, organisations and grantee accounts.

An award list is imported all or nothing: every row is checked against the database first (direction,
duplicate codes, organisations), and only when no row has an error is anything written. The project code
(项目编号) is the key: importing the same list again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session, aliased, defer, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from indicators.assessment.monitoring import STATUS_LABELS as MONITORING_LABELS
from indicators.rules.period import PeriodError, add_period, project_end
from indicators.rules.period import from_dict as period_from_dict
from tracker import clock
from tracker.db import BulkInsert
from tracker.models import (
    AcceptanceApplication,
    ClauseCorrection,
    GuidelineClause,
    GuidelineDocument,
    GuidelineNode,
    Organisation,
    Project,
    ProjectAssessment,
    ProjectStatus,
    ProjectTarget,
    Role,
    TargetSet,
    User,
    meeting_members,
    programme_officers,
    project_contacts,
)
from tracker.services import audit, indicator_review
from tracker.services.accounts import AccountError, create_user, get_user_by_username, issue_activation
from tracker.services.audit import Actor
from tracker.services.guidelines import latest_rule_corrections, leaves_with_clauses
from tracker.services.monitoring import ASSESSED_STATUSES

PATH_SEPARATORS = (" / ", "/", "›", ">", "＞", "→")


@dataclass(frozen=True)
class ProjectInput:
    """One row of an award list, already read and checked by the reader (imports.awards)."""

    row: int
    project_code: str
    title: str
    direction: str
    content_items: tuple[str, ...]
    organisation_name: str
    uscc: str
    pi_name: str
    pi_phone: str | None
    pi_email: str | None
    officer: str | None
    start_date: date
    end_date: date | None
    period_months: int | None
    fiscal_funding: Decimal  # yuan
    self_funding: Decimal  # yuan
    funding_mode: str | None


@dataclass(frozen=True)
class ImportProblem:
    row: int | None
    column: str | None
    message: str
    cell: str = ""  # "E8" when the reader knows it, for the preview's table

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        return f"第{self.row}行 {self.column}：{self.message}" if self.column else f"第{self.row}行 {self.message}"


@dataclass(frozen=True)
class PlannedProject:
    """A row that passed every check: what importing it will create."""

    row: ProjectInput
    direction: tuple[str, ...]  # the leaf's path in the guideline
    end_date: date
    period_months: int | None
    new_organisation: bool  # no organisation has this 统一社会信用代码 yet


@dataclass
class ImportResult:
    created: list[Project] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    new_organisations: list[Organisation] = field(default_factory=list)
    # Activation links of new grantee accounts, shown to the officer until mail exists: (username, token).
    activations: list[tuple[str, str]] = field(default_factory=list)
    account_organisations: dict[str, Organisation] = field(default_factory=dict)  # username → its organisation
    planned: list[PlannedProject] = field(default_factory=list)  # the rows to create, also in a dry run

    @property
    def ok(self) -> bool:
        return not self.problems


# --- matching directions -------------------------------------------------------------------------


def _split_path(text: str) -> list[str]:
    for separator in PATH_SEPARATORS:
        if separator in text:
            return [part.strip() for part in text.split(separator) if part.strip()]
    return [text.strip()]


def leaf_index(db: Session, document: GuidelineDocument) -> list[GuidelineNode]:
    return list(db.scalars(select(GuidelineNode).where(GuidelineNode.document_id == document.id,
                                                       GuidelineNode.is_leaf.is_(True))
                           .order_by(GuidelineNode.position)))


def match_direction(leaves: list[GuidelineNode], written: str) -> tuple[GuidelineNode | None, str | None]:
    """The leaf a row names by its title or by its path (the end of the path is enough); else the reason."""
    parts = _split_path(written)
    if not parts or not parts[-1]:
        return None, "请填写方向"
    if len(parts) > 1:
        found = [leaf for leaf in leaves if list(leaf.path)[-len(parts):] == parts]
    else:
        found = [leaf for leaf in leaves if leaf.title == parts[0]]
    if not found:
        return None, f"指南中没有名为“{written}”的方向"
    if len(found) > 1:
        paths = "；".join(" / ".join(leaf.path) for leaf in found[:3])
        return None, f"方向“{written}”在指南中不唯一（{paths}），请填写完整路径"
    return found[0], None


# --- targets -------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def inherited_targets(db: Session, node: GuidelineNode) -> list[ProjectTarget]:
    """The direction's targets as project targets, officers' corrections included (DESIGN §2)."""
    clauses = list(node.clauses)
    corrections = indicator_review.latest_corrections(db, [c.id for c in clauses])
    return [ProjectTarget(**fields) for fields in _target_fields(clauses, corrections)]


def _target_fields(clauses: list[GuidelineClause], corrections: dict[int, ClauseCorrection]) -> list[dict[str, Any]]:
    """The columns of each inherited target: the newest correction of a clause, else its parsed targets."""
    fields: list[dict[str, Any]] = []
    for clause in clauses:
        correction = corrections.get(clause.id)
        found = correction.targets if correction else clause.targets
        combine = correction.combine if correction else clause.combine
        for t in found:
            value = _decimal(t.get("value"))
            fields.append(dict(
                position=len(fields), source="guideline", clause_id=clause.id, label=clause.label,
                clause_text=clause.text, clause_combine=combine, category=t.get("category") or "impact",
                metric=(t.get("metric") or clause.text)[:200], op=t.get("op"), value=value, unit=t.get("unit"),
                kind=t.get("kind") or ("qualitative" if value is None else "cumulative"), better=t.get("better"),
                guideline_value=value,
            ))
    return fields


def _selection_for(rule: dict[str, Any] | None, content_items: tuple[str, ...]) -> dict[str, Any] | None:
    """Keep the chosen content items' rules only (a project must meet the subset its items name)."""
    if not rule or not content_items or not rule.get("items"):
        return rule
    wanted = {item.strip("、，,. 。") for item in content_items}
    items = [item for item in rule["items"] if str(item.get("label", "")).strip("、，,. 。") in wanted]
    return {**rule, "items": items or rule["items"], "chosen": list(content_items)}


# --- period --------------------------------------------------------------------------------------


def _end_date(row: ProjectInput, period_rule: dict[str, Any] | None) -> tuple[date | None, int | None, str | None]:
    """(end, months, problem): the row's end date or period, checked against the direction's period rule."""
    rule_data = (period_rule or {}).get("rule") if period_rule else None
    rule = period_from_dict(rule_data) if rule_data else None
    months = row.period_months
    if row.end_date is not None:
        if row.end_date <= row.start_date:
            return None, None, "结束日期必须晚于开始日期"
        span = (row.end_date.year - row.start_date.year) * 12 + row.end_date.month - row.start_date.month
        months = months or max(span, 1)
        return row.end_date, months, None
    try:
        if rule is not None:
            end = project_end(rule, row.start_date, months=months)
            if months is None:
                months = rule.months
            return end, months, None
        if months:
            return add_period(row.start_date, months), months, None
    except PeriodError as exc:
        return None, None, str(exc)
    return None, None, "指南没有规定实施期限，请在立项清单中填写实施期限或结束日期"


# --- the import ----------------------------------------------------------------------------------


def _officer_for(db: Session, written: str | None, actor: Actor) -> tuple[User | None, str | None]:
    if not written:
        return (db.get(User, actor.user_id) if actor.user_id else None), None
    officer = get_user_by_username(db, written) or db.scalar(
        select(User).where(User.display_name == written.strip(), User.role == Role.OFFICER.value))
    if officer is None or officer.role != Role.OFFICER.value:
        return None, f"找不到项目管理专员“{written}”"
    return officer, None


def _same(project: Project, row: ProjectInput, node: GuidelineNode) -> bool:
    return (project.title == row.title and project.node_id == node.id and project.organisation.uscc == row.uscc
            and project.start_date == row.start_date and project.fiscal_funding == row.fiscal_funding
            and project.self_funding == row.self_funding)


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    """Bounded IN lists, whatever the length of the list."""
    return [values[i:i + size] for i in range(0, len(values), size)]


class _Lookups:
    """What checking and writing one list needs from the database, each read once for the list instead of once per
    row: a provincial list has thousands of rows but a few dozen organisations and officers and at most a few
    hundred directions. The answers are the ones the per-row queries gave; the organisations the import creates
    are added as it goes."""

    def __init__(self, db: Session, document: GuidelineDocument, rows: list[ProjectInput], actor: Actor) -> None:
        self.db, self.actor = db, actor
        self.leaves = leaves_with_clauses(db, document.id)
        self.rules = {key: row.data for key, row in latest_rule_corrections(db, [leaf.id for leaf in self.leaves])
                      .items()}
        codes = sorted({row.project_code for row in rows})
        self.projects = {p.code: p for chunk in _chunks(codes)
                         for p in db.scalars(select(Project).where(Project.code.in_(chunk)))}
        usccs = sorted({row.uscc for row in rows})
        self.organisations = {o.uscc: o for chunk in _chunks(usccs)
                              for o in db.scalars(select(Organisation).where(Organisation.uscc.in_(chunk)))}
        self._directions: dict[str, tuple[GuidelineNode | None, str | None]] = {}
        self._officers: dict[str | None, tuple[User | None, str | None]] = {}
        self._targets: dict[int, list[dict[str, Any]]] | None = None
        self._contacts: dict[int, User | None] = {}

    def direction(self, written: str) -> tuple[GuidelineNode | None, str | None]:
        if written not in self._directions:
            self._directions[written] = match_direction(self.leaves, written)
        return self._directions[written]

    def rule(self, node: GuidelineNode, kind: str) -> dict[str, Any] | None:
        """The direction's rule of this kind, the newest officer's correction first (`_effective_rule`)."""
        if (node.id, kind) in self.rules:
            return self.rules[(node.id, kind)]
        return getattr(node, f"{kind}_rule")

    def officer(self, written: str | None) -> tuple[User | None, str | None]:
        if written not in self._officers:
            self._officers[written] = _officer_for(self.db, written, self.actor)
        return self._officers[written]

    def targets(self, node: GuidelineNode) -> list[dict[str, Any]]:
        """The columns of the targets inherited from the direction (`inherited_targets`), every clause's
        corrections read at once."""
        if self._targets is None:
            clause_ids = [c.id for leaf in self.leaves for c in leaf.clauses]
            corrections = {}
            for chunk in _chunks(clause_ids):
                corrections.update(indicator_review.latest_corrections(self.db, chunk))
            self._targets = {leaf.id: _target_fields(list(leaf.clauses), corrections) for leaf in self.leaves}
        return self._targets[node.id]

    def contact(self, organisation: Organisation) -> User | None:
        """The organisation's reporting account (`_reporting_account`); asked after its account was created."""
        if organisation.id not in self._contacts:
            self._contacts[organisation.id] = _reporting_account(self.db, organisation)
        return self._contacts[organisation.id]


def import_projects(db: Session, rows: list[ProjectInput], document: GuidelineDocument, *, actor: Actor,
                    now: datetime, batch: str | None = None, dry_run: bool = False) -> ImportResult:
    """Check every row, then (unless dry_run or any problem) create the projects in the caller's transaction."""
    result = ImportResult()
    found = _Lookups(db, document, rows, actor)
    plans = []
    for row in rows:
        node, problem = found.direction(row.direction)
        if node is None:
            result.problems.append(ImportProblem(row.row, "方向", problem or ""))
            continue
        existing = found.projects.get(row.project_code)
        if existing is not None:
            if _same(existing, row, node):
                result.unchanged.append(row.project_code)
            else:
                result.problems.append(ImportProblem(row.row, "项目编号",
                                                     f"项目编号 {row.project_code} 已存在，且内容与本行不同"))
            continue
        period_rule = found.rule(node, "period")
        end, months, problem = _end_date(row, period_rule)
        if problem:
            result.problems.append(ImportProblem(row.row, "实施期限", problem))
            continue
        officer, problem = found.officer(row.officer)
        if problem:
            result.problems.append(ImportProblem(row.row, "项目管理专员", problem))
            continue
        organisation = found.organisations.get(row.uscc)
        if organisation is not None and not organisation.is_active:
            result.problems.append(ImportProblem(row.row, "统一社会信用代码", f"单位“{organisation.name}”已停用"))
            continue
        plans.append((row, node, end, months, officer, period_rule))
        result.planned.append(PlannedProject(row, tuple(node.path), end, months, organisation is None))
    if result.problems or dry_run:
        return result
    # Projects are written in runs of bulk INSERTs: a provincial list has thousands of projects and tens of thousands
    # of targets, and ORM objects with their flushes cost several times the rows themselves. Projects and targets go
    # to the driver converted once per value (BulkInsert: every project of a direction stores the same rules, every
    # target set the same targets); the projects are read back as ORM objects for the caller, and their target
    # sets, contacts and audit rows follow as plain rows (the projects load them when asked). A row bringing a new
    # organisation ends the run first, so that the audit log keeps its row order (the organisation and its
    # account, then the project).
    run: list[tuple[dict[str, Any], GuidelineNode, User | None]] = []
    sets_table = TargetSet.__table__
    inserts: dict[str, BulkInsert] = {}
    target_rows: dict[int, list[Any]] = {}

    def write_run() -> None:
        if not run:
            return
        if not inserts:
            inserts["projects"] = BulkInsert(db, Project.__table__, list(run[0][0]))
        # One executemany: ids are assigned in the order of the rows, as the ORM's one-by-one inserts did.
        inserts["projects"].execute([inserts["projects"].row(values) for values, _, _ in run])
        # The caller gets ORM objects; the rules (large JSON, the same few per direction) are not read back and
        # decoded but given the values just written.
        codes = [values["code"] for values, _, _ in run]
        by_code = {project.code: project for chunk in _chunks(codes) for project in db.scalars(
            select(Project).options(*(defer(getattr(Project, name)) for name in _RULES))
            .where(Project.code.in_(chunk)))}
        created = [by_code[code] for code in codes]
        for project, (values, _, _) in zip(created, run, strict=True):
            for name in _RULES:
                set_committed_value(project, name, values[name])
        set_ids = {project_id: set_id for project_id, set_id in db.execute(
            insert(sets_table).returning(sets_table.c.project_id, sets_table.c.id),
            [{"project_id": project.id, "version": 1, "confirmed": False, "created_at": now,
              "reason": "立项时从指南方向继承"} for project in created])}
        for _, node, _ in run:
            if node.id not in target_rows:
                fields = found.targets(node)
                if fields and "targets" not in inserts:
                    inserts["targets"] = BulkInsert(db, ProjectTarget.__table__, ["target_set_id", *fields[0]])
                target_rows[node.id] = [inserts["targets"].row({"target_set_id": 0, **f}) for f in fields]
        if "targets" in inserts:
            replace = inserts["targets"].replace
            inserts["targets"].execute([replace(row, "target_set_id", set_ids[project.id])
                                        for project, (_, node, _) in zip(created, run, strict=True)
                                        for row in target_rows[node.id]])
        contacts = [{"project_id": project.id, "user_id": contact.id}
                    for project, (_, _, contact) in zip(created, run, strict=True) if contact is not None]
        if contacts:
            db.execute(insert(project_contacts), contacts)
        audit.append_many(db, [
            audit.PendingEntry(actor, "project_created", now, object_type="project", object_id=project.id,
                               after={"code": project.code, "direction": list(node.path), "document": document.id,
                                      "targets": len(found.targets(node))})
            for project, (_, node, _) in zip(created, run, strict=True)])
        result.created.extend(created)
        run.clear()

    for row, node, end, months, officer, period_rule in plans:
        organisation = found.organisations.get(row.uscc)
        if organisation is None:
            write_run()
            organisation = _create_organisation(db, row, result, actor=actor, now=now)
            found.organisations[row.uscc] = organisation
        funding_rule = found.rule(node, "funding")
        values = dict(
            code=row.project_code, title=row.title, programme_id=document.programme_id, document_id=document.id,
            node_id=node.id, content_items=list(row.content_items), organisation_id=organisation.id,
            pi_name=row.pi_name, pi_phone=row.pi_phone, pi_email=row.pi_email,
            officer_id=officer.id if officer else None, start_date=row.start_date, end_date=end,
            period_months=months, fiscal_funding=row.fiscal_funding, self_funding=row.self_funding,
            funding_mode=row.funding_mode or _mode_of(funding_rule), funding_rule=funding_rule,
            selection_rule=_selection_for(found.rule(node, "selection"), row.content_items),
            period_rule=period_rule, status=ProjectStatus.ACTIVE.value, created_at=now, imported_batch=batch,
            version=1,
        )
        run.append((values, node, found.contact(organisation)))
    write_run()
    return result


_RULES = ("funding_rule", "selection_rule", "period_rule")


def _mode_of(funding_rule: dict[str, Any] | None) -> str | None:
    modes = ((funding_rule or {}).get("rule") or {}).get("modes") or []
    return "或".join(sorted(modes)) if modes else None


def _create_organisation(db: Session, row: ProjectInput, result: ImportResult, *, actor: Actor,
                         now: datetime) -> Organisation:
    """A new organisation by 统一社会信用代码, with a grantee account (activation link)."""
    organisation = Organisation(uscc=row.uscc, name=row.organisation_name, division_code=row.uscc[2:8],
                                kind="enterprise", is_active=True, contact_name=row.pi_name,
                                contact_phone=row.pi_phone, created_at=now, version=1)
    db.add(organisation)
    db.flush()
    audit.record(db, actor, "organisation_created", now=now, object_type="organisation", object_id=organisation.id,
                 after={"uscc": row.uscc, "name": row.organisation_name, "from": "award_list"})
    result.new_organisations.append(organisation)
    username = account_name(db, row)
    user = create_user(db, username=username, password=None, role=Role.GRANTEE, now=now,
                       display_name=row.pi_name, organisation=organisation, email=row.pi_email,
                       phone=row.pi_phone, actor=actor)
    result.activations.append((username, issue_activation(db, user, actor=actor, now=now)))
    result.account_organisations[username] = organisation
    return organisation


def account_name(db: Session, row: ProjectInput, taken: Container[str] = ()) -> str:
    """The user name of a new organisation's account: what its holder would type and recognise, the project
    leader's e-mail address; without one (or when another account has it), the organisation's 统一社会信用代码 as
    its licence prints it (upper case). Never taken (`taken`: names a preview has already given out, lower
    case): a name in use gets a number (`…-2`)."""
    def free(name: str) -> bool:
        return name.lower() not in taken and get_user_by_username(db, name) is None

    code = row.uscc.upper()
    email = (row.pi_email or "").strip().lower()
    if email and len(email) <= 64 and not any(ch.isspace() for ch in email) and free(email):
        return email
    number = 1
    while not free(code if number == 1 else f"{code}-{number}"):
        number += 1
    return code if number == 1 else f"{code}-{number}"


def organisation_accounts(db: Session, project: Project) -> list[User]:
    """The active grantee accounts of the project's organisation: the ones it may name as the project's contacts."""
    return list(db.scalars(select(User).where(User.organisation_id == project.organisation_id,
                                              User.role == Role.GRANTEE.value, User.is_active.is_(True))
                           .order_by(User.username)))


def set_contacts(db: Session, project: Project, user_ids: list[int], *, actor: Actor, now: datetime) -> None:
    """The organisation chooses which of its accounts report for the project and receive its reminders."""
    accounts = {u.id: u for u in organisation_accounts(db, project)}
    unknown = [i for i in user_ids if i not in accounts]
    if unknown:
        raise AccountError("只能选择本单位的有效账号", field="contacts")
    before = sorted(u.username for u in project.contacts)
    project.contacts = [accounts[i] for i in dict.fromkeys(user_ids)]
    db.flush()
    audit.record(db, actor, "project_contacts_changed", now=now, object_type="project", object_id=project.id,
                 before={"contacts": before}, after={"contacts": sorted(u.username for u in project.contacts)})


def _reporting_account(db: Session, organisation: Organisation) -> User | None:
    """The account that reports for a new project by default: the organisation's first grantee account (the one
    its first award list created). The organisation can assign others; never all of a large organisation's."""
    return db.scalar(select(User).where(User.organisation_id == organisation.id, User.role == Role.GRANTEE.value,
                                        User.is_active.is_(True)).order_by(User.id).limit(1))


def current_targets(project: Project) -> TargetSet:
    """The newest target set (the confirmed task book, or the inherited draft before confirmation)."""
    return project.target_sets[-1]


def project_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Project)) or 0


# --- reading projects within the user's scope -----------------------------------------------------

# The list's risk filter: a monitoring status, or the projects that need attention.
RISK_FILTERS = {"at_risk": ("red", "amber"), "red": ("red",), "amber": ("amber",), "green": ("green",),
                "unknown": ("unknown",)}
RISK_FILTER_LABELS = {"at_risk": "预警和关注", "red": "预警", "amber": "关注", "green": "正常", "unknown": "无法判断"}
# The officer's worklist (DESIGN §2 monitoring): what each count on the home page links to.
ATTENTION = {
    "overdue": "有逾期未报的报告",
    "returned": "报告已退回待修改",
    "task_book": "任务书待确认",
    "ending": "90天内结束",
    "ended": "已到期未申请验收",
}
ENDING_DAYS = 90
RUNNING = (ProjectStatus.ACTIVE.value, ProjectStatus.EXTENDED.value)


def _attention(query, attention: str, today: date):
    if attention in ("overdue", "returned"):  # a terminated project's last counts are history, not work
        column = ProjectAssessment.overdue_reports if attention == "overdue" else ProjectAssessment.returned_reports
        return query.where(Project.status.in_(RUNNING),
                           Project.id.in_(select(ProjectAssessment.project_id).where(column > 0)))
    if attention == "task_book":
        confirmed = select(TargetSet.project_id).where(TargetSet.confirmed.is_(True))
        return query.where(Project.status.in_(RUNNING), Project.id.not_in(confirmed))
    if attention == "ending":
        return query.where(Project.status.in_(RUNNING), Project.end_date >= today,
                           Project.end_date <= today + timedelta(days=ENDING_DAYS))
    return query.where(Project.status.in_(RUNNING), Project.end_date < today)  # ended, no application yet


PROJECT_SORTS = {
    "code": Project.code,
    "title": Project.title,
    "start": Project.start_date,
    "end": Project.end_date,
    "funding": Project.fiscal_funding,
}


@dataclass(frozen=True)
class ProjectFilters:
    programme_id: int | None = None
    node_id: int | None = None
    city: str = ""  # a division code prefix of 4 digits (4502 = 柳州市)
    organisation_id: int | None = None
    officer_id: int | None = None
    status: str = ""
    risk: str = ""  # a monitoring status, or "at_risk" for red and amber
    attention: str = ""  # one of ATTENTION: what the officer's worklist links to
    today: date | None = None  # for the attention filters that depend on the date
    q: str = ""
    sort: str = "code"
    descending: bool = False


def scoped_projects(user: User | None):
    """A SELECT of the projects this user may see (DESIGN §1); callers add filters and paging. None: every project
    (the command line, which runs with the operator's authority)."""
    query = select(Project)
    if user is None:
        return query
    if user.role == Role.GRANTEE.value:
        return query.where(Project.organisation_id == (user.organisation_id or -1))
    if user.role == Role.OFFICER.value:
        # The officer's programmes as a subquery: loading them as objects cost more than the page's own query.
        assigned = select(programme_officers.c.programme_id).where(programme_officers.c.user_id == user.id)
        return query.where(Project.programme_id.in_(assigned))
    if user.role in (Role.ADMIN.value, Role.FINANCE.value):
        return query
    # Experts: the projects of the acceptance meetings they sit on.
    cases = (select(AcceptanceApplication.project_id)
             .join(meeting_members, meeting_members.c.meeting_id == AcceptanceApplication.meeting_id)
             .where(meeting_members.c.user_id == user.id))
    return query.where(Project.id.in_(cases))


def project_for(db: Session, user: User, project_id: int) -> Project | None:
    """The project if the user may see it; a foreign one is None exactly like a missing one."""
    return db.scalar(scoped_projects(user).where(Project.id == project_id))


def project_page(db: Session, user: User, project_id: int) -> Project | None:
    """`project_for` with everything the project page shows, in four queries instead of one per relation."""
    return db.scalar(scoped_projects(user).where(Project.id == project_id).options(
        joinedload(Project.programme), joinedload(Project.organisation), joinedload(Project.node),
        joinedload(Project.document), joinedload(Project.officer), selectinload(Project.contacts),
        selectinload(Project.target_sets).options(selectinload(TargetSet.targets),
                                                  selectinload(TargetSet.milestones))))


def filtered_projects(user: User | None, filters: ProjectFilters):
    query = scoped_projects(user)
    if filters.programme_id:
        query = query.where(Project.programme_id == filters.programme_id)
    if filters.node_id:
        query = query.where(Project.node_id == filters.node_id)
    if filters.organisation_id:
        query = query.where(Project.organisation_id == filters.organisation_id)
    if filters.officer_id:
        query = query.where(Project.officer_id == filters.officer_id)
    if filters.status:
        query = query.where(Project.status == filters.status)
    if filters.city.isdigit() and len(filters.city) == 4:
        query = query.join(Organisation, Organisation.id == Project.organisation_id).where(
            Organisation.division_code.startswith(filters.city))
    if filters.q.strip():
        like = f"%{filters.q.strip()[:50]}%"
        query = query.where(Project.title.ilike(like) | Project.code.ilike(like))
    if filters.attention in ATTENTION:
        query = _attention(query, filters.attention, filters.today or clock.today_local())
    risks = RISK_FILTERS.get(filters.risk)
    if risks or filters.sort == "risk":
        query = query.outerjoin(ProjectAssessment, ProjectAssessment.project_id == Project.id)
    if risks:  # projects monitoring still watches: a terminated project's last status is its history
        query = query.where(ProjectAssessment.status.in_(risks), Project.status.in_(ASSESSED_STATUSES))
    if filters.sort == "risk":  # worst first (descending: the mildest first), then by code
        severity = func.coalesce(ProjectAssessment.severity, 0)
        return query.order_by(severity if filters.descending else severity.desc(), Project.code, Project.id)
    column = PROJECT_SORTS.get(filters.sort, Project.code)
    return query.order_by(column.desc() if filters.descending else column, Project.id)


@dataclass(frozen=True)
class ProjectRow:
    """A line of the project list: the project's own columns and the names of what it belongs to."""

    id: int
    code: str
    title: str
    start_date: date
    end_date: date
    fiscal_funding: Decimal
    status: str
    organisation_name: str
    division_code: str
    direction: str
    officer_name: str | None
    risk: str | None = None  # the stored monitoring status (None: not assessed)
    risk_reasons: tuple[str, ...] = ()

    @property
    def status_label(self) -> str:
        return ProjectStatus(self.status).label

    @property
    def risk_label(self) -> str:
        return MONITORING_LABELS.get(self.risk or "", "未评估")


def project_rows(db: Session, query, *, offset: int, limit: int) -> list[ProjectRow]:
    """One page of the project list (two queries, whatever the page).

    The page's ids come first from the sorted, filtered query alone, which an index answers in order without
    reading rows; then one joined query reads the columns the list shows for those ids, as plain rows rather than
    ORM objects (at 50 objects and their relations the ORM took several times the time of the queries)."""
    ids = list(db.scalars(query.with_only_columns(Project.id).offset(offset).limit(limit)))
    if not ids:
        return []
    officer = aliased(User)
    found = {row.id: ProjectRow(*row[:-1], tuple(row[-1] or ())) for row in db.execute(
        select(Project.id, Project.code, Project.title, Project.start_date, Project.end_date,
               Project.fiscal_funding, Project.status, Organisation.name, Organisation.division_code,
               GuidelineNode.title, officer.display_name, ProjectAssessment.status, ProjectAssessment.reasons)
        .join(Organisation, Organisation.id == Project.organisation_id)
        .join(GuidelineNode, GuidelineNode.id == Project.node_id)
        .outerjoin(officer, officer.id == Project.officer_id)
        .outerjoin(ProjectAssessment, ProjectAssessment.project_id == Project.id)
        .where(Project.id.in_(ids)))}
    return [found[i] for i in ids]


@dataclass(frozen=True)
class FilterChoices:
    organisations: list[tuple[int, str]]
    officers: list[tuple[int, str]]
    directions: list[tuple[int, str]]  # of the chosen programme only


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str | None) -> tuple[tuple[int, int | str], ...]:
    """Names as people sort them: `单位2` before `单位10` (the numbers in a name compare as numbers)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in _DIGITS.split(text or "") if part)


def filter_choices(db: Session, user: User, programme_id: int | None) -> FilterChoices:
    """The organisations, officers and (within a programme) directions that have a project the user sees.

    Asked per organisation (officer, direction) with an indexed EXISTS rather than by collecting the values of
    every visible project: there are far fewer of them than projects."""
    def having_projects(column, *extra):
        return scoped_projects(user).with_only_columns(literal(1)).where(column, *extra).exists()

    organisations = sorted(db.execute(select(Organisation.id, Organisation.name).where(
        having_projects(Project.organisation_id == Organisation.id))).all(), key=lambda r: natural_key(r[1]))
    officers = sorted(db.execute(select(User.id, User.display_name).where(
        having_projects(Project.officer_id == User.id))).all(), key=lambda r: natural_key(r[1]))
    directions = []
    if programme_id:
        documents = select(GuidelineDocument.id).where(GuidelineDocument.programme_id == programme_id)
        directions = db.execute(select(GuidelineNode.id, GuidelineNode.title).where(
            GuidelineNode.document_id.in_(documents),
            having_projects(Project.node_id == GuidelineNode.id, Project.programme_id == programme_id))
            .order_by(GuidelineNode.position)).all()
    return FilterChoices([tuple(r) for r in organisations], [tuple(r) for r in officers],
                         [tuple(r) for r in directions])


def page_of_projects(db: Session, query, *, offset: int, limit: int, options: tuple = ()) -> list[Project]:
    """One page of projects as ORM objects with `options` loading their relations (the API's list): the ids
    first, from the index, as in `project_rows`, then only those rows."""
    ids = list(db.scalars(query.with_only_columns(Project.id).offset(offset).limit(limit)))
    if not ids:
        return []
    rows = {p.id: p for p in db.scalars(select(Project).where(Project.id.in_(ids)).options(*options))}
    return [rows[i] for i in ids]


def current_target_counts(db: Session, project_ids: list[int]) -> dict[int, int]:
    """Project id → number of targets in its newest target set, for many projects in a few queries (the import's
    result page lists thousands)."""
    newest = (select(TargetSet.project_id, func.max(TargetSet.version).label("version"))
              .group_by(TargetSet.project_id).subquery())
    counts: dict[int, int] = {}
    for chunk in _chunks(project_ids):
        rows = db.execute(
            select(TargetSet.project_id, func.count(ProjectTarget.id))
            .join(newest, (newest.c.project_id == TargetSet.project_id) & (newest.c.version == TargetSet.version))
            .outerjoin(ProjectTarget, ProjectTarget.target_set_id == TargetSet.id)
            .where(TargetSet.project_id.in_(chunk)).group_by(TargetSet.project_id))
        counts.update({project_id: count for project_id, count in rows})
    return counts


def target_counts(db: Session, target_set_ids: list[int]) -> dict[int, int]:
    """Target set id → number of targets, for many sets in one query (the API's version summaries)."""
    if not target_set_ids:
        return {}
    rows = db.execute(select(ProjectTarget.target_set_id, func.count()).where(
        ProjectTarget.target_set_id.in_(target_set_ids)).group_by(ProjectTarget.target_set_id))
    return {set_id: count for set_id, count in rows}
