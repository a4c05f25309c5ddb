"""The acceptance checklist (验收清单, DESIGN §2 Acceptance): per project what the committee examined and decided,
as Excel, as a printable HTML page and as a PDF with the embedded Chinese font.

    cases = cases_for_meeting(db, meeting)            # or cases_for_project(db, project)
    checklist_workbook(cases, generated_at=now)       # .xlsx bytes: a 汇总 sheet, then one sheet per project
    checklist_html(cases, generated_at=now)           # templates/print/checklist.html, one project per page
    checklist_pdf(cases, generated_at=now)            # that page through WeasyPrint (tracker.exports.pdf)

`checklist_cases` reads everything into plain dataclasses first, so the three renderings show the same facts and
hold no database session. What each part comes from:
- the targets are those of the task-book version the application was made against (`application.target_set`);
  the achieved value, done and self-claim (自评) are the grantee's own words on the application;
- the evidence of a target is what the accepted versions of its progress reports cited for it (matched by the
  target's position, which task-book versions keep), plus the application's own files (audit report, invoices);
- 系统核验 is the readiness the system stored on the application when it was made (`application.readiness`);
- each expert's column is their latest check version; a member who has not checked is shown as such;
- the certificate figures and the verdict are those of the verdict in force (the newest); a correction says which
  verdict it replaced and why.
Money is stored in yuan and shown in 万元, exactly (no float, no rounding). Everything the users typed is escaped in
the HTML (autoescaping) and written as text, never as a formula, in Excel (xlsx_safety, G19).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from indicators.assessment.monitoring import OP_WORDS
from indicators.assessment.readiness import STATUS_LABELS as READINESS_LABELS
from indicators.assessment.readiness import TARGET_LABELS
from indicators.evidence_ids import EVIDENCE_KINDS as REPORT_EVIDENCE_KINDS
from indicators.reading.categories import CATEGORIES
from indicators.reading.target_edit import KIND_LABELS
from indicators.regions import city_name
from tracker.clock import local
from tracker.exports.pdf import html_to_pdf
from tracker.exports.xlsx_safety import set_safe_value
from tracker.models import (
    FIGURE_LABELS,
    AcceptanceApplication,
    AcceptanceMeeting,
    AcceptanceVerdict,
    ApplicationEvidence,
    Project,
    ProjectTarget,
    Report,
    ReportEvidence,
    ReportVersion,
    TargetSet,
    User,
)
from tracker.services.acceptance import application_of, figures_needed
from tracker.services.committees import latest_checks
from tracker.services.verdicts import current_verdict, milestone_checks
from tracker.templating import format_number, render

TITLE = "验收清单"
TEMPLATE = "print/checklist.html"
WAN = Decimal(10_000)
NO_VERDICT = "尚未作出结论"
NOT_CHECKED = "尚未提交核查意见"
CLAIMS = {True: "达到", False: "未达到", None: "由专家组判断"}
AGREES = {True: "认可", False: "不认可"}
PATH_SEPARATOR = " / "


# --- the data ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFacts:
    code: str
    title: str
    programme: str  # 项目计划 (the guideline document's programme)
    direction_path: str  # the direction's place in the guideline, from the root
    direction: str  # the leaf direction's own title
    organisation: str  # 承担单位
    uscc: str  # its 统一社会信用代码
    city: str
    pi: str  # 项目负责人
    start_date: date
    end_date: date
    fiscal_wan: Decimal  # 财政资助, 万元
    self_wan: Decimal  # 承诺自筹经费, 万元
    funding_mode: str
    officer: str  # 项目管理专员
    status: str

    @property
    def fiscal_text(self) -> str:
        return _wan_text(self.fiscal_wan)

    @property
    def self_text(self) -> str:
        return _wan_text(self.self_wan)


@dataclass(frozen=True)
class Member:
    name: str
    organisation: str
    is_leader: bool

    @property
    def role(self) -> str:
        return "组长" if self.is_leader else "成员"


@dataclass(frozen=True)
class MeetingFacts:
    code: str  # 会议编号
    title: str
    held_on: date
    place: str
    leader: str
    members: tuple[Member, ...]  # the leader first


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence behind a target or a figure: an identifier (patent number…) and/or a file."""

    kind: str  # its label (授权专利号, 专项审计报告…)
    identifier: str = ""
    description: str = ""
    file_name: str = ""
    source: str = ""  # where it was cited (第3期进展报告, 验收申请)

    @property
    def text(self) -> str:
        parts = [f"{self.kind}：{self.identifier}" if self.identifier else self.kind]
        if self.description:
            parts.append(self.description)
        if self.file_name:
            parts.append(f"附件《{self.file_name}》")
        return "，".join(parts)


@dataclass(frozen=True)
class ExpertItem:
    """One expert's check of one target (None: they have not checked the case)."""

    expert: str
    agrees: bool | None
    comment: str = ""

    @property
    def label(self) -> str:
        return AGREES[self.agrees] if self.agrees is not None else NOT_CHECKED

    @property
    def text(self) -> str:
        return f"{self.label}：{self.comment}" if self.comment else self.label


@dataclass(frozen=True)
class TargetLine:
    number: int  # 序号, from 1
    label: str  # the clause marker (①, （3）) or ""
    category: str
    metric: str
    clause_text: str  # the guideline's words (指南条款)
    kind: str
    goal: str  # 任务书目标值: comparator, value and unit (≥3件), or what is asked of a deliverable/qualitative one
    achieved: str  # what the grantee declared (完成值), with its unit
    achieved_value: Decimal | int | None  # the same as a number, when it is one (Excel)
    unit: str
    claim: str  # 自评：达到 / 未达到 / 由专家组判断
    note: str  # the grantee's explanation
    evidence: tuple[Evidence, ...]
    state: str  # 系统核验 (readiness when applying): 已达到, 未达到, 缺佐证材料, 需专家判断
    reason: str
    checks: tuple[ExpertItem, ...]  # in the order of `ChecklistCase.experts`

    @property
    def evidence_text(self) -> str:
        return "\n".join(e.text for e in self.evidence) or "无"


@dataclass(frozen=True)
class ExpertOpinion:
    name: str
    is_leader: bool
    organisation: str
    opinion: str  # "" when not checked
    recommendation: str  # 建议结论, or NOT_CHECKED
    version: int | None
    submitted_at: datetime | None

    @property
    def checked(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class FigureLine:
    key: str
    label: str
    declared_wan: Decimal | None  # 承担单位申报
    certified_wan: Decimal | None  # 验收证书核定
    required: bool
    why: str

    @property
    def declared_text(self) -> str:
        return _wan_text(self.declared_wan) or "—"

    @property
    def certified_text(self) -> str:
        return _wan_text(self.certified_wan) or "—"


@dataclass(frozen=True)
class VerdictFacts:
    label: str  # 通过 / 不通过 / 结题 / 终止
    opinion: str  # 专家组意见
    certificate_no: str
    decided_on: date
    decided_by: str
    superseded: str = ""  # a correction: which verdict it replaced and why


@dataclass(frozen=True)
class MilestoneLine:
    number: int
    title: str
    due_date: date
    amount_wan: Decimal
    condition: str
    result: str  # 通过 / 未通过 / 尚未核查
    checked_on: date | None
    evidence: str
    comment: str

    @property
    def amount_text(self) -> str:
        return _wan_text(self.amount_wan)


@dataclass(frozen=True)
class SignatureLine:
    role: str  # 专家组组长签字, 专家签字, 项目管理专员签字
    name: str


@dataclass(frozen=True)
class ChecklistCase:
    """One project's checklist: everything the three renderings show, read once."""

    project: ProjectFacts
    submitted_on: date  # 验收申请日期
    summary: str  # 自评总结
    readiness: str  # 验收条件 as the system saw it when applying, in words
    meeting: MeetingFacts | None
    experts: tuple[ExpertOpinion, ...]  # the leader first, then the members
    targets: tuple[TargetLine, ...]
    figures: tuple[FigureLine, ...]
    application_evidence: tuple[Evidence, ...]
    verdict: VerdictFacts | None
    milestones: tuple[MilestoneLine, ...]  # 里程碑式补助 projects only
    signatures: tuple[SignatureLine, ...] = field(default=())

    @property
    def verdict_label(self) -> str:
        return self.verdict.label if self.verdict is not None else NO_VERDICT


# --- formatting helpers ------------------------------------------------------------------------------------------


def wan_text(yuan: Decimal | None) -> str:
    """Yuan as 万元 text, exact: at least two decimals, more when the amount has them (123.456789)."""
    return _wan_text(_wan(yuan))


def _wan_text(wan: Decimal | None) -> str:
    if wan is None:
        return ""
    exponent = wan.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{wan:,.{places}f}"


def _wan(yuan: Decimal | None) -> Decimal | None:
    """Yuan → 万元, exact: a 2-place amount divided by 10^4 never rounds (the context keeps 28 digits)."""
    return None if yuan is None else Decimal(yuan) / WAN


def goal_text(target: ProjectTarget) -> str:
    """The task-book value as the rest of the app writes it (≥3件), or what a target without a number asks."""
    if target.op and target.value is not None:
        return f"{OP_WORDS.get(target.op, target.op)}{format_number(target.value)}{target.unit or ''}"
    if target.kind == "deliverable":
        return "完成"
    return "定性指标，由专家组判断"


def _plain(value: Decimal | None) -> Decimal | int | None:
    """A stored Numeric(24, 6) as people write it: 4 not 4.000000, and never 1E+3."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else value.normalize()


def _name(user: User | None) -> str:
    return (user.display_name or user.username) if user is not None else ""


def _local_date(moment: datetime) -> date:
    return local(moment).date()


# --- assembling --------------------------------------------------------------------------------------------------


def _load(db: Session, ids: Sequence[int]) -> list[AcceptanceApplication]:
    """The applications with what the checklist reads, in the given order."""
    if not ids:
        return []
    found = {a.id: a for a in db.scalars(select(AcceptanceApplication).where(AcceptanceApplication.id.in_(ids))
                                         .options(
        joinedload(AcceptanceApplication.project).options(
            joinedload(Project.organisation), joinedload(Project.programme), joinedload(Project.node),
            joinedload(Project.officer)),
        joinedload(AcceptanceApplication.target_set).options(selectinload(TargetSet.targets),
                                                             selectinload(TargetSet.milestones)),
        selectinload(AcceptanceApplication.targets), selectinload(AcceptanceApplication.figures),
        selectinload(AcceptanceApplication.evidence).joinedload(ApplicationEvidence.file),
        joinedload(AcceptanceApplication.meeting).options(
            selectinload(AcceptanceMeeting.members).joinedload(User.organisation),
            joinedload(AcceptanceMeeting.leader))))}
    return [found[i] for i in ids if i in found]


def cases_for_meeting(db: Session, meeting: AcceptanceMeeting) -> list[ChecklistCase]:
    """The checklist of every project the meeting examines, in the meeting's order."""
    ids = list(db.scalars(select(AcceptanceApplication.id).where(AcceptanceApplication.meeting_id == meeting.id)
                          .order_by(AcceptanceApplication.id)))
    return checklist_cases(db, _load(db, ids))


def cases_for_project(db: Session, project: Project) -> list[ChecklistCase]:
    """The project's checklist (its application); empty when it has not applied for acceptance."""
    application = application_of(db, project)
    return checklist_cases(db, _load(db, [application.id])) if application is not None else []


def checklist_cases(db: Session, applications: Iterable[AcceptanceApplication]) -> list[ChecklistCase]:
    return [_case(db, application) for application in applications]


def _case(db: Session, application: AcceptanceApplication) -> ChecklistCase:
    project = application.project
    meeting = application.meeting
    members = _members(meeting)
    checks = latest_checks(db, application)
    # The meeting's experts (leader first), then anyone who checked and has since left it (kept: it was said).
    people = [(m, u) for m, u in members] + [
        (Member(_name(c.expert), _org_name(c.expert), False), c.expert) for c in checks.values()
        if c.expert_id not in {u.id for _m, u in members}]
    experts = tuple(_opinion(member, checks.get(user.id)) for member, user in people)
    states = {row.get("position"): row for row in ((application.readiness or {}).get("targets") or [])}
    cited = _report_evidence(db, project)
    targets = tuple(_target_line(t, application, states.get(t.position, {}), cited.get(t.position, ()),
                                 [(member.name, checks.get(user.id)) for member, user in people])
                    for t in application.target_set.targets)
    verdict = current_verdict(db, project)
    return ChecklistCase(
        project=_project_facts(project),
        submitted_on=_local_date(application.submitted_at),
        summary=application.summary,
        readiness=_readiness_text(application.readiness),
        meeting=_meeting_facts(meeting, members),
        experts=experts,
        targets=targets,
        figures=_figures(application, verdict),
        application_evidence=tuple(_application_evidence(e) for e in application.evidence),
        verdict=_verdict_facts(db, verdict),
        milestones=_milestones(db, project, application.target_set),
        signatures=_signatures(members, project))


def _org_name(user: User | None) -> str:
    return user.organisation.name if user is not None and user.organisation is not None else ""


def _members(meeting: AcceptanceMeeting | None) -> list[tuple[Member, User]]:
    if meeting is None:
        return []
    ordered = sorted(meeting.members, key=lambda u: u.id != meeting.leader_id)  # stable: the leader first
    return [(Member(_name(u), _org_name(u), u.id == meeting.leader_id), u) for u in ordered]


def _project_facts(project: Project) -> ProjectFacts:
    org = project.organisation
    node = project.node
    return ProjectFacts(
        code=project.code, title=project.title, programme=project.programme.name if project.programme else "",
        direction_path=PATH_SEPARATOR.join(node.path) if node is not None else "",
        direction=node.title if node is not None else "",
        organisation=org.name if org is not None else "", uscc=org.uscc if org is not None else "",
        city=city_name(org.division_code) if org is not None else "", pi=project.pi_name,
        start_date=project.start_date, end_date=project.end_date,
        fiscal_wan=_wan(project.fiscal_funding), self_wan=_wan(project.self_funding),
        funding_mode=project.funding_mode or "", officer=_name(project.officer), status=project.status_label)


def _meeting_facts(meeting: AcceptanceMeeting | None, members: list[tuple[Member, User]]
                   ) -> MeetingFacts | None:
    if meeting is None:
        return None
    return MeetingFacts(meeting.code, meeting.title, meeting.held_on, meeting.place, _name(meeting.leader),
                        tuple(m for m, _u in members))


def _readiness_text(stored: dict[str, Any] | None) -> str:
    if not stored:
        return "申请时尚无评估结果"
    label = READINESS_LABELS.get(stored.get("status", ""), stored.get("status", ""))
    words = [label]
    with contextlib.suppress(ArithmeticError):  # a score this code cannot read is left out
        words.append(f"满足度{int(Decimal(str(stored.get('score', '0'))) * 100)}%")
    if stored.get("requirement"):
        words.append(f"要求：{stored['requirement']}")
    return "；".join(words)


def _report_evidence(db: Session, project: Project) -> dict[int, tuple[Evidence, ...]]:
    """Target position → the evidence the accepted report versions cite for it, oldest first, each item once."""
    rows = db.execute(
        select(ReportEvidence, ProjectTarget.position, Report.period_index, Report.is_final)
        .join(ReportVersion, ReportVersion.id == ReportEvidence.version_id)
        .join(Report, Report.id == ReportVersion.report_id)
        .join(ProjectTarget, ProjectTarget.id == ReportEvidence.target_id)
        .where(Report.project_id == project.id, ReportVersion.number == Report.accepted_number)
        .options(joinedload(ReportEvidence.file))
        .order_by(Report.period_index, ReportEvidence.position))
    found: dict[int, dict[tuple[str, str, int | None], Evidence]] = {}
    for item, position, period, is_final in rows:
        key = (item.kind, item.identifier.strip().upper(), item.file_id)  # a later report repeats earlier items
        seen = found.setdefault(position, {})
        if key not in seen:
            seen[key] = Evidence(REPORT_EVIDENCE_KINDS.get(item.kind, item.kind), item.identifier,
                                 item.description, item.file.display_name if item.file is not None else "",
                                 "结题报告" if is_final else f"第{period}期进展报告")
    return {position: tuple(items.values()) for position, items in found.items()}


def _target_line(target: ProjectTarget, application: AcceptanceApplication, state: dict[str, Any],
                 evidence: tuple[Evidence, ...], checks: list[tuple[str, Any]]) -> TargetLine:
    declared = application.target_for(target.id)
    value = declared.value if declared is not None else None
    if target.kind == "deliverable":
        done = declared.done if declared is not None else None
        achieved = "已完成" if done else ("未完成" if done is False else "未填报")
    elif value is not None:
        achieved = f"{format_number(value)}{target.unit or ''}"
    else:
        achieved = "见说明" if target.kind == "qualitative" and declared is not None and declared.note else "未填报"
    items = []
    for name, check in checks:
        item = check.item_for(target.id) if check is not None else None
        items.append(ExpertItem(name, item.agrees, item.comment) if item is not None else ExpertItem(name, None))
    return TargetLine(
        number=target.position + 1, label=target.label or "", category=CATEGORIES.get(target.category,
                                                                                         target.category),
        metric=target.metric, clause_text=target.clause_text, kind=KIND_LABELS.get(target.kind, target.kind),
        goal=goal_text(target), achieved=achieved,
        achieved_value=_plain(value) if target.kind != "deliverable" else None,
        unit=target.unit or "",
        claim=CLAIMS[declared.claimed_met if declared is not None else None],
        note=declared.note if declared is not None else "", evidence=evidence,
        state=TARGET_LABELS.get(state.get("state", ""), "未评估"), reason=state.get("reason", ""),
        checks=tuple(items))


def _opinion(member: Member, check: Any) -> ExpertOpinion:
    if check is None:
        return ExpertOpinion(member.name, member.is_leader, member.organisation, "", NOT_CHECKED, None, None)
    return ExpertOpinion(member.name, member.is_leader, member.organisation, check.opinion,
                         check.recommendation_label, check.version, check.submitted_at)


def _figures(application: AcceptanceApplication, verdict: AcceptanceVerdict | None) -> tuple[FigureLine, ...]:
    """The figures the funding rule needs, then any other the application or the certificate carries."""
    needs = {n.key: n for n in figures_needed(application.project)}
    keys = list(needs)
    for key in [f.key for f in application.figures] + ([f.key for f in verdict.figures] if verdict else []):
        if key not in keys:
            keys.append(key)
    lines = []
    for key in keys:
        need = needs.get(key)
        lines.append(FigureLine(
            key, FIGURE_LABELS.get(key) or (need.label if need else key), _wan(application.figure(key)),
            _wan(verdict.figure(key)) if verdict is not None else None, bool(need and need.required),
            need.why if need is not None else ""))
    return tuple(lines)


def _application_evidence(item: ApplicationEvidence) -> Evidence:
    what = item.kind_label
    if item.figure_key:
        what += f"（{FIGURE_LABELS.get(item.figure_key, item.figure_key)}）"
    return Evidence(what, "", item.description, item.file.display_name if item.file is not None else "", "验收申请")


def _verdict_facts(db: Session, verdict: AcceptanceVerdict | None) -> VerdictFacts | None:
    if verdict is None:
        return None
    superseded = ""
    if verdict.supersedes_id is not None:
        previous = db.get(AcceptanceVerdict, verdict.supersedes_id)
        if previous is not None:
            superseded = (f"本结论更正{_local_date(previous.decided_at):%Y年%m月%d日}作出的“{previous.label}”结论"
                          f"，更正原因：{verdict.reason}")
    return VerdictFacts(verdict.label, verdict.opinion, verdict.certificate_no, _local_date(verdict.decided_at),
                        _name(verdict.decided_by), superseded)


def _milestones(db: Session, project: Project, target_set: TargetSet) -> tuple[MilestoneLine, ...]:
    if not project.is_milestone_funded or not target_set.milestones:
        return ()
    checked = milestone_checks(db, project)
    lines = []
    for m in target_set.milestones:
        check = checked.get(m.position)
        result = "尚未核查" if check is None else ("通过" if check.passed else "未通过")
        lines.append(MilestoneLine(
            m.position + 1, m.title, m.due_date, _wan(m.amount), m.condition, result,
            check.checked_on if check is not None else None,
            check.evidence if check is not None else "", check.comment if check is not None else ""))
    return tuple(lines)


def _signatures(members: list[tuple[Member, User]], project: Project) -> tuple[SignatureLine, ...]:
    lines = [SignatureLine("专家组组长签字" if m.is_leader else "专家签字", m.name) for m, _u in members]
    if not members:
        lines.append(SignatureLine("专家组组长签字", ""))
    lines.append(SignatureLine("项目管理专员签字", _name(project.officer)))
    return tuple(lines)


# --- Excel -------------------------------------------------------------------------------------------------------

SUMMARY_SHEET = "汇总"
FIXED_COLUMNS = 8  # A–H: every section but the experts' columns of the targets table
TARGET_HEADERS = (("序号", 6), ("指南条款", 34), ("考核指标", 22), ("任务书目标", 14), ("完成值（承担单位填报）", 16),
                  ("自评", 10), ("佐证材料", 34), ("系统核验（申请时）", 22))
EXPERT_WIDTH = 22
WAN_FORMAT = "#,##0.00####"  # 万元 with up to the 6 places a yuan amount can have, never rounded away
DATE_FORMAT = "yyyy-mm-dd"

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TITLE_FONT = Font(bold=True, size=16)
_SECTION_FONT = Font(bold=True, size=12)
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_LABEL_FILL = PatternFill("solid", fgColor="F2F2F2")
_SECTION_FILL = PatternFill("solid", fgColor="BDD7EE")
_STATE_FILL = {"已达到": PatternFill("solid", fgColor="E2EFDA"), "未达到": PatternFill("solid", fgColor="FCE4D6"),
               "缺佐证材料": PatternFill("solid", fgColor="FFF2CC"),
               "需专家判断": PatternFill("solid", fgColor="FFF2CC")}
_DISAGREE_FILL = PatternFill("solid", fgColor="FCE4D6")
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_title(code: str, taken: set[str]) -> str:
    """A project code as an Excel sheet name: no []:*?/\\, at most 31 characters, no leading or trailing
    apostrophe, unique among `taken` (case-insensitive, as Excel compares them); adds it to `taken`."""
    base = _BAD_SHEET_CHARS.sub("_", code).strip("'").strip() or "项目"
    base = base[:31]
    title, n = base, 1
    while title.lower() in taken:
        n += 1
        suffix = f"({n})"
        title = base[:31 - len(suffix)] + suffix
    taken.add(title.lower())
    return title


def _header_text(text: str) -> str:
    """Text for a print header or footer: `&` starts a code there, so it is doubled."""
    return text.replace("&", "&&")


class _Sheet:
    """Writes one project's sheet top-down: rows of cells with borders and wrapping, merged where asked."""

    def __init__(self, ws: Worksheet, width: int) -> None:
        self.ws = ws
        self.width = width  # the number of columns in use
        self.row = 1

    def cell(self, row: int, column: int, value: Any, *, font: Font | None = None, fill: PatternFill | None = None,
             align: Alignment = _WRAP, number_format: str | None = None, border: bool = True) -> Any:
        cell = self.ws.cell(row=row, column=column)
        if isinstance(value, str):
            set_safe_value(cell, value)  # G19: typed text is never a formula
        else:
            cell.value = value
        cell.alignment = align
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if number_format:
            cell.number_format = number_format
        elif isinstance(value, date):
            cell.number_format = DATE_FORMAT
        if border:
            cell.border = _BORDER
        return cell

    def span(self, first: int, last: int, value: Any, **style: Any) -> None:
        """A value over columns first..last of the current row (merged, bordered all along)."""
        self.cell(self.row, first, value, **style)
        if last > first:
            for column in range(first + 1, last + 1):  # a merged range shows the borders of its own cells
                self.ws.cell(row=self.row, column=column).border = _BORDER if style.get("border", True) else Border()
            self.ws.merge_cells(start_row=self.row, start_column=first, end_row=self.row, end_column=last)

    def next(self, height: float | None = None) -> None:
        if height is not None:
            self.ws.row_dimensions[self.row].height = height
        self.row += 1

    def title(self, text: str, subtitle: str) -> None:
        self.span(1, self.width, text, font=_TITLE_FONT, align=_CENTER, border=False)
        self.next(30)
        self.span(1, self.width, subtitle, align=Alignment(horizontal="center", wrap_text=True), border=False)
        self.next(20)

    def section(self, text: str, *, gap: bool = True) -> None:
        if gap:
            self.row += 1  # a blank line before each section
        self.span(1, FIXED_COLUMNS, text, font=_SECTION_FONT, fill=_SECTION_FILL,
                  align=Alignment(vertical="center"))
        self.next(20)

    def pairs(self, items: Sequence[tuple[str, Any]]) -> None:
        """Label/value pairs, two a row: label A–B, value C–D, label E–F, value G–H."""
        for start in range(0, len(items), 2):
            for (label, value), (a, b, c, d) in zip(items[start:start + 2], ((1, 2, 3, 4), (5, 6, 7, 8)),
                                                    strict=False):
                self.span(a, b, label, font=_BOLD, fill=_LABEL_FILL)
                fmt = WAN_FORMAT if isinstance(value, Decimal) else None
                self.span(c, d, value, number_format=fmt)
            if len(items[start:start + 2]) == 1:
                self.span(5, 8, "")
            self.next()

    def wide(self, label: str, value: Any, height: float | None = None) -> None:
        """A label (A–B) and a long text over C–H."""
        self.span(1, 2, label, font=_BOLD, fill=_LABEL_FILL)
        self.span(3, FIXED_COLUMNS, value)
        self.next(height if height is not None else _height(value, 100))

    def header(self, titles: Sequence[tuple[int, int, str]]) -> None:
        for first, last, text in titles:
            self.span(first, last, text, font=_BOLD, fill=_HEADER_FILL, align=_CENTER)
        self.next(30)


def _height(text: Any, chars_per_line: int, minimum: float = 18) -> float:
    """A row height that shows wrapped text whole (Excel does not grow merged rows by itself)."""
    if not isinstance(text, str) or not text:
        return minimum
    lines = sum(max(1, -(-len(part) // chars_per_line)) for part in text.split("\n"))
    return max(minimum, min(409, 15 * lines + 3))


def _unit_format(unit: str) -> str:
    """An Excel number format showing the value as typed with its unit (4件, 1234.5万元)."""
    unit = unit.replace('"', "").replace("\\", "")
    return f'General"{unit}"' if unit else "General"


def _project_sheet(ws: Worksheet, case: ChecklistCase, generated: str) -> None:
    experts = case.experts
    width = FIXED_COLUMNS + len(experts)
    for index, (_title, column_width) in enumerate(TARGET_HEADERS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column_width
    for index in range(FIXED_COLUMNS + 1, width + 1):
        ws.column_dimensions[get_column_letter(index)].width = EXPERT_WIDTH
    p = case.project
    sheet = _Sheet(ws, width)
    meeting = case.meeting
    org = f"{p.organisation}（{p.uscc}）" if p.uscc else p.organisation
    held = (f"验收会：{meeting.code}（{meeting.held_on:%Y-%m-%d}，{meeting.place}）" if meeting is not None
            else "尚未组织验收会")
    sheet.title(f"{TITLE}：{p.code} {p.title}", f"承担单位：{org}　项目负责人：{p.pi}　{held}")

    # The targets come first, under the title, so that their frozen header leaves the screen to them.
    sheet.section("考核指标完成情况核查", gap=False)
    header_row = sheet.row
    for index, (text, _w) in enumerate(TARGET_HEADERS, start=1):
        sheet.cell(header_row, index, text, font=_BOLD, fill=_HEADER_FILL, align=_CENTER)
    for index, expert in enumerate(experts, start=FIXED_COLUMNS + 1):
        sheet.cell(header_row, index, f"专家核查：{expert.name}{'（组长）' if expert.is_leader else ''}",
                   font=_BOLD, fill=_HEADER_FILL, align=_CENTER)
    sheet.next(32)
    ws.freeze_panes = ws.cell(row=sheet.row, column=3)  # the header, and each target's number and clause
    for t in case.targets:
        r = sheet.row
        metric = f"{t.label} {t.metric}".strip() + f"\n（{t.category}，{t.kind}）"
        claim = t.claim + (f"\n说明：{t.note}" if t.note else "")
        state = t.state + (f"\n{t.reason}" if t.reason else "")
        sheet.cell(r, 1, t.number, align=_CENTER)
        sheet.cell(r, 2, t.clause_text or "（任务书自设指标）")
        sheet.cell(r, 3, metric)
        sheet.cell(r, 4, t.goal)
        if t.achieved_value is not None:  # a number to compute with, shown with its unit
            sheet.cell(r, 5, t.achieved_value, number_format=_unit_format(t.unit))
        else:
            sheet.cell(r, 5, t.achieved)
        sheet.cell(r, 6, claim)
        sheet.cell(r, 7, t.evidence_text)
        sheet.cell(r, 8, state, fill=_STATE_FILL.get(t.state))
        for index, item in enumerate(t.checks, start=FIXED_COLUMNS + 1):
            sheet.cell(r, index, item.text, fill=_DISAGREE_FILL if item.agrees is False else None)
        sheet.next(max([_height(t.clause_text, 18), _height(t.evidence_text, 18), _height(state, 12),
                        _height(claim, 6), *(_height(i.text, 12) for i in t.checks)]))

    sheet.section("项目基本情况")
    sheet.pairs([("项目编号", p.code), ("项目名称", p.title), ("项目计划", p.programme), ("指南方向", p.direction_path),
                 ("承担单位", p.organisation), ("统一社会信用代码", p.uscc), ("项目负责人", p.pi),
                 ("项目管理专员", p.officer), ("开始日期", p.start_date), ("结束日期", p.end_date),
                 ("财政资助（万元）", p.fiscal_wan), ("承诺自筹经费（万元）", p.self_wan), ("资助方式", p.funding_mode),
                 ("项目状态", p.status), ("验收申请日期", case.submitted_on), ("所在城市", p.city)])
    sheet.wide("验收条件（申请时）", case.readiness)
    sheet.wide("自评总结", case.summary)

    sheet.section("验收会及专家组")
    if meeting is None:
        sheet.wide("验收会", "尚未组织验收会")
    else:
        sheet.pairs([("会议编号", meeting.code), ("会议名称", meeting.title), ("会议日期", meeting.held_on),
                     ("会议地点", meeting.place), ("专家组组长", meeting.leader), ("专家人数", len(meeting.members))])
        sheet.wide("专家组成员", "、".join(f"{m.name}（{m.role}{'，' + m.organisation if m.organisation else ''}）"
                                          for m in meeting.members))

    sheet.section("专家意见")
    sheet.header([(1, 2, "专家"), (3, 6, "核查意见"), (7, 7, "建议结论"), (8, 8, "提交时间")])
    for e in experts:
        sheet.span(1, 2, f"{e.name}（{'组长' if e.is_leader else '成员'}）" + (f"\n{e.organisation}"
                                                                             if e.organisation else ""))
        sheet.span(3, 6, e.opinion or NOT_CHECKED)
        sheet.span(7, 7, e.recommendation, align=_CENTER)
        sheet.span(8, 8, local(e.submitted_at).strftime("%Y-%m-%d %H:%M") if e.submitted_at else "—",
                   align=_CENTER)
        sheet.next(_height(e.opinion, 50, 30))
    if not experts:
        sheet.span(1, FIXED_COLUMNS, "尚无专家核查意见")
        sheet.next()

    sheet.section("经费数据（万元）")
    sheet.header([(1, 3, "项目"), (4, 4, "承担单位申报"), (5, 5, "验收证书核定"), (6, 8, "依据")])
    for f in case.figures:
        sheet.span(1, 3, f.label + ("（必填）" if f.required else ""))
        sheet.span(4, 4, f.declared_wan if f.declared_wan is not None else "—", number_format=WAN_FORMAT)
        sheet.span(5, 5, f.certified_wan if f.certified_wan is not None else "—", number_format=WAN_FORMAT)
        sheet.span(6, 8, f.why)
        sheet.next(_height(f.why, 40))
    if case.application_evidence:
        sheet.wide("经费佐证材料", "\n".join(e.text for e in case.application_evidence))

    if case.milestones:
        sheet.section("里程碑核查")
        sheet.header([(1, 1, "序号"), (2, 2, "里程碑"), (3, 3, "计划完成日期"), (4, 4, "补助金额（万元）"),
                      (5, 5, "核查结果"), (6, 6, "核查日期"), (7, 7, "核查依据"), (8, 8, "意见")])
        for m in case.milestones:
            r = sheet.row
            for column, value in enumerate((m.number, f"{m.title}\n{m.condition}".strip(), m.due_date,
                                            m.amount_wan, m.result, m.checked_on or "—", m.evidence, m.comment),
                                           start=1):
                sheet.cell(r, column, value, number_format=WAN_FORMAT if column == 4 else None)
            sheet.next(_height(m.evidence, 18, 30))

    sheet.section("验收结论")
    v = case.verdict
    if v is None:
        sheet.wide("验收结论", NO_VERDICT)
    else:
        sheet.pairs([("验收结论", v.label), ("验收证书编号", v.certificate_no or "—"), ("结论日期", v.decided_on),
                     ("记录人", v.decided_by)])
        sheet.wide("专家组意见", v.opinion)
        if v.superseded:
            sheet.wide("更正说明", v.superseded)

    sheet.section("签字")
    for line in case.signatures:
        sheet.span(1, 2, line.role, font=_BOLD, fill=_LABEL_FILL)
        sheet.span(3, 4, line.name)
        sheet.span(5, 6, "")  # the signature itself
        sheet.span(7, 7, "日期", font=_BOLD, fill=_LABEL_FILL)
        sheet.span(8, 8, "")
        sheet.next(30)
    sheet.row += 1
    sheet.span(1, FIXED_COLUMNS, f"本清单由科技项目绩效监测与验收跟踪系统生成（{generated}）。", border=False)

    _print_setup(ws, p.code, header_row)


def _print_setup(ws: Worksheet, code: str, header_row: int) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages as needed, one page wide
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_title_rows = f"{header_row}:{header_row}"  # the targets' header on every printed page
    ws.oddHeader.left.text = _header_text(f"{TITLE} {code}")
    ws.oddHeader.right.text = "科技项目绩效监测与验收跟踪系统"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.right.text = _header_text(code)


def _summary_sheet(ws: Worksheet, cases: Sequence[ChecklistCase], generated: str, titles: list[str]) -> None:
    columns = (("项目编号", 18), ("项目名称", 36), ("承担单位", 30), ("验收会", 16), ("验收条件（申请时）", 30),
               ("专家建议", 24), ("验收结论", 12), ("工作表", 14))
    for index, (_t, column_width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column_width
    sheet = _Sheet(ws, len(columns))
    meetings = sorted({c.meeting.code for c in cases if c.meeting is not None})
    sheet.title(f"{TITLE}汇总", f"验收会：{'、'.join(meetings) or '—'}　项目数：{len(cases)}　生成时间：{generated}")
    for index, (text, _w) in enumerate(columns, start=1):
        sheet.cell(sheet.row, index, text, font=_BOLD, fill=_HEADER_FILL, align=_CENTER)
    sheet.next(24)
    ws.freeze_panes = ws.cell(row=sheet.row, column=1)
    header_row = sheet.row - 1
    for case, title in zip(cases, titles, strict=True):
        p = case.project
        advice = "、".join(f"{e.name}：{e.recommendation}" for e in case.experts) or "—"
        values = (p.code, p.title, p.organisation, case.meeting.code if case.meeting else "—", case.readiness,
                  advice, case.verdict_label, title)
        for column, value in enumerate(values, start=1):
            sheet.cell(sheet.row, column, value)
        link = ws.cell(row=sheet.row, column=len(columns))
        link.hyperlink = f"#'{title}'!A1"
        link.font = Font(color="0563C1", underline="single")
        sheet.next(_height(case.readiness, 15, 30))
    _print_setup(ws, SUMMARY_SHEET, header_row)


def checklist_workbook(cases: Sequence[ChecklistCase], *, generated_at: datetime) -> bytes:
    """The .xlsx bytes: sheet 汇总 (one row per project), then one sheet per project named by its code."""
    generated = local(generated_at).strftime("%Y-%m-%d %H:%M")
    wb = Workbook()
    summary = wb.active
    summary.title = SUMMARY_SHEET
    taken = {SUMMARY_SHEET.lower()}
    titles = [sheet_title(c.project.code, taken) for c in cases]
    for case, title in zip(cases, titles, strict=True):
        _project_sheet(wb.create_sheet(title), case, generated)
    _summary_sheet(summary, cases, generated, titles)
    wb.properties.title = TITLE
    wb.properties.creator = "科技项目绩效监测与验收跟踪系统"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- HTML and PDF ------------------------------------------------------------------------------------------------


def checklist_html(cases: Sequence[ChecklistCase], *, generated_at: datetime) -> str:
    """The printable page (templates/print/checklist.html): standalone, one project per printed page."""
    meetings = sorted({c.meeting.code for c in cases if c.meeting is not None})
    heading = f"{TITLE}（{'、'.join(meetings)}）" if meetings else TITLE
    return render(TEMPLATE, cases=cases, title=heading, generated=local(generated_at).strftime("%Y-%m-%d %H:%M"),
                  no_verdict=NO_VERDICT, not_checked=NOT_CHECKED)


def checklist_filename(code: str, suffix: str) -> str:
    """The download's file name: 验收清单-YS2026-001.xlsx (the code with anything unsafe in a file name replaced)."""
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", code).strip(" .") or "checklist"
    return f"{TITLE}-{safe}.{suffix.lstrip('.')}"


def checklist_pdf(cases: Sequence[ChecklistCase], *, generated_at: datetime) -> bytes:
    """The same page as a PDF with the shipped Chinese font embedded (tracker.exports.pdf)."""
    return html_to_pdf(checklist_html(cases, generated_at=generated_at))
