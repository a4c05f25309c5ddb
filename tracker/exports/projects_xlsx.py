"""The project list as Excel (项目清单): one row per target of each project (DESIGN §2, §4).

The same file for the project list page's "导出 Excel" and for `tracker export projects PATH.xlsx`:

    from tracker.exports.projects_xlsx import load_projects, projects_workbook
    path.write_bytes(projects_workbook(load_projects(db)))

- `load_projects(db, query=None)` runs the SELECT of projects (default: every project, by code) with the
  related rows loaded in a fixed number of queries whatever the number of projects: organisation, programme,
  officer, direction, target sets and targets (seven queries), then the submitted report versions and their
  values (two more, the second only once something was submitted; each IN list holds at most `IN_CHUNK`
  ids). It returns one `ExportedProject` per project: the project and what its reports say.
- `projects_workbook(projects)` builds the workbook; it reads only what `load_projects` loaded.

The targets are those of the confirmed task book (the newest confirmed target set), else the draft inherited
from the guideline direction; the column 指标来源 says which. A project without any target still has one row.
Money is stored in yuan and exported in 万元 (the exact value; shown with two decimals). Every text cell
goes through `set_safe_value` (G19), so a title like `=SUM(A1)` stays text. The PI's name, phone and e-mail
are not exported (personal data, G34).

The report columns match report values to targets by position (positions survive a new task-book version):
- 填报期 / 审核状态 / 最新填报值: the newest submitted version of the project's latest reporting period that has
  one, accepted, waiting for review or returned — what the grantee last said. 最新填报值 is the cumulative
  total or the measured value, the current project year's value for per-year targets (unit …/年), 已完成 or
  未完成 for deliverables (empty when unanswered) and the note for qualitative targets.
- 最新审核通过值: the progress from accepted versions only (`indicators.assessment.progress.progress`, computed here
  from the loaded rows): the latest accepted total of a cumulative target, the best accepted measurement of
  a level target, the latest accepted year's value of a per-year target, 已完成 once an accepted report says
  so (else 未完成), the latest accepted note of a qualitative target; empty while no accepted report answers
  the target.
Numbers are numbers (not text); every text from a report goes through `set_safe_value` like the rest.

The workbook is written in write-only (streaming) mode, so a large export does not hold every cell in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from indicators.assessment import progress as progress_model
from indicators.assessment.progress import ReportedValue
from indicators.reading.categories import CATEGORIES
from indicators.reading.target_edit import KIND_LABELS, OP_LABELS
from indicators.regions import city_name
from indicators.workdays import quarter_label
from tracker.clock import local
from tracker.exports.xlsx_safety import set_safe_value
from tracker.models import (
    GuidelineNode,
    Organisation,
    Programme,
    Project,
    ProjectTarget,
    Report,
    ReportStatus,
    ReportValue,
    ReportVersion,
    TargetSet,
    User,
)
from tracker.models.reports import REPORT_STATUS_LABELS
from tracker.services.reports import target_specs
from tracker.services.task_books import confirmed_set

SHEET_TARGETS = "项目指标"
SHEET_NOTES = "说明"
WAN = Decimal(10_000)
DATE_FORMAT = "yyyy-mm-dd"
WAN_FORMAT = "#,##0.00"
VALUE_FORMAT = "General"
PATH_SEPARATOR = " / "
IN_CHUNK = 500  # ids per IN list (as selectinload does): far below every database's limit of bound parameters
DONE, NOT_DONE = "已完成", "未完成"
PERIOD_NOTE = ("季度进展报告：项目最近一个已提交报告的报告期（提交的最新版本，不论是否已审核通过）。"
               "各指标的数值见“最新填报值”。")
STATUS_NOTE = "该报告期最新提交版本的审核状态：已提交（待审核）、审核通过或已退回。"
REPORTED_NOTE = ("季度进展报告中最新提交的数值（见“填报期”，可能尚未审核）：累计值或实测值；"
                 "按年度考核的指标（单位为…/年）为本项目年度的数值；成果类指标为已完成/未完成；定性指标为情况说明。")
ACCEPTED_NOTE = ("只按审核通过的季度进展报告计算的进展：累计类指标为最近一期审核通过的累计值，"
                 "性能类指标为审核通过的最好实测值，按年度考核的指标为最近审核通过年度的数值，"
                 "成果类指标审核通过的报告标记完成后为已完成；尚无审核通过的数值时为空。")

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REPORT_FILL = PatternFill("solid", fgColor="EDEDED")


@dataclass(frozen=True)
class Column:
    title: str
    width: int  # Excel character units; CJK text needs about two per character
    kind: str = "text"  # text, date, wan, number
    note: str = ""  # header comment
    report: bool = False  # a column from the quarterly reports (its header is shaded apart)


COLUMNS: tuple[Column, ...] = (
    Column("项目编号", 18),
    Column("项目名称", 36),
    Column("项目计划", 28),
    Column("方向", 48),
    Column("承担单位", 30),
    Column("城市", 10),
    Column("项目管理专员", 14),
    Column("状态", 10),
    Column("开始日期", 12, "date"),
    Column("结束日期", 12, "date"),
    Column("财政资助（万元）", 16, "wan"),
    Column("自筹经费（万元）", 16, "wan"),
    Column("指标来源", 24, note="任务书已确认时为最新确认的任务书版本；未确认时为立项时从指南方向继承的指标（草稿）。"),
    Column("指标序号", 9),
    Column("指标类别", 16),
    Column("指标", 40),
    Column("比较", 12),
    Column("任务书目标值", 14, "number"),
    Column("单位", 10),
    Column("指标类型", 16),
    Column("指南目标值", 14, "number"),
    Column("填报期", 16, note=PERIOD_NOTE, report=True),
    Column("审核状态", 16, note=STATUS_NOTE, report=True),
    Column("最新填报值", 14, "number", note=REPORTED_NOTE, report=True),
    Column("最新审核通过值", 16, "number", note=ACCEPTED_NOTE, report=True),
)


@dataclass(frozen=True)
class LatestReport:
    """The newest submitted version of the project's latest period that has one."""

    period_label: str
    status_label: str
    values: dict[int, ReportedValue]  # target position → value


@dataclass(frozen=True)
class ExportedProject:
    """A project with what its reports say, as `load_projects` loads it for the workbook."""

    project: Project
    latest: LatestReport | None = None
    accepted: dict[int, progress_model.TargetProgress] = field(default_factory=dict)  # position → progress
    accepted_notes: dict[int, str] = field(default_factory=dict)  # position → latest accepted note


def export_options() -> list[Any]:
    """Loader options: every related row the workbook reads, in one query per relationship."""
    return [
        selectinload(Project.organisation).load_only(Organisation.id, Organisation.name, Organisation.division_code),
        selectinload(Project.programme).load_only(Programme.id, Programme.name),
        selectinload(Project.officer).load_only(User.id, User.display_name, User.username),
        selectinload(Project.node).load_only(GuidelineNode.id, GuidelineNode.path, GuidelineNode.title),
        selectinload(Project.target_sets).selectinload(TargetSet.targets),
    ]


def load_projects(db: Session, query: Select[Any] | None = None) -> list[ExportedProject]:
    """The projects of `query` (default: all, by code) with what the workbook needs, in constant queries."""
    if query is None:
        query = select(Project).order_by(Project.code, Project.id)
    projects = list(db.scalars(query.options(*export_options())).unique())
    return _with_reports(db, projects)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield list(ids[start:start + IN_CHUNK])


class _SubmittedRow(NamedTuple):
    report_id: int
    project_id: int
    period_index: int
    period_start: date
    period_end: date
    is_final: bool
    status: str
    accepted_number: int | None
    version_id: int
    number: int


def _with_reports(db: Session, projects: list[Project]) -> list[ExportedProject]:
    """Each project with its newest submitted report version and its progress from accepted versions: one
    query for the submitted versions of all the projects' reports, one for the values of those that count."""
    rows: list[_SubmittedRow] = []
    for chunk in _chunks([p.id for p in projects]):
        rows += [_SubmittedRow(*row) for row in db.execute(
            select(Report.id, Report.project_id, Report.period_index, Report.period_start, Report.period_end,
                   Report.is_final, Report.status, Report.accepted_number, ReportVersion.id, ReportVersion.number)
            .join(ReportVersion, ReportVersion.report_id == Report.id)
            .where(Report.project_id.in_(chunk), ReportVersion.submitted_at.is_not(None)))]
    newest: dict[int, _SubmittedRow] = {}  # project id → newest submitted version of its latest such period
    accepted: dict[int, list[_SubmittedRow]] = {}  # project id → the accepted version of each report
    for row in rows:
        best = newest.get(row.project_id)
        if best is None or (row.period_index, row.number) > (best.period_index, best.number):
            newest[row.project_id] = row
        if row.number == row.accepted_number:
            accepted.setdefault(row.project_id, []).append(row)
    wanted = sorted({r.version_id for r in newest.values()} | {r.version_id for rs in accepted.values() for r in rs})
    values: dict[int, dict[int, ReportedValue]] = {}  # version id → target position → value
    for chunk in _chunks(wanted):
        for version_id, position, value, year_value, done, note in db.execute(
                select(ReportValue.version_id, ProjectTarget.position, ReportValue.value, ReportValue.year_value,
                       ReportValue.done, ReportValue.note)
                .join(ProjectTarget, ProjectTarget.id == ReportValue.target_id)
                .where(ReportValue.version_id.in_(chunk))):
            values.setdefault(version_id, {})[position] = ReportedValue(value, year_value, done, note or "")
    return [_exported(p, newest.get(p.id), accepted.get(p.id, []), values) for p in projects]


def _status_label(row: _SubmittedRow) -> str:
    if row.number == row.accepted_number:
        return REPORT_STATUS_LABELS[ReportStatus.ACCEPTED]
    if row.status == ReportStatus.SUBMITTED:  # the newest submitted version is the one waiting
        return REPORT_STATUS_LABELS[ReportStatus.SUBMITTED]
    return REPORT_STATUS_LABELS[ReportStatus.RETURNED]  # returned (perhaps with a new draft under way)


def _exported(project: Project, newest: _SubmittedRow | None, accepted: list[_SubmittedRow],
              values: dict[int, dict[int, ReportedValue]]) -> ExportedProject:
    latest = None
    if newest is not None:
        latest = LatestReport(quarter_label(newest.period_start, final=newest.is_final), _status_label(newest),
                              values.get(newest.version_id, {}))
    if not accepted:
        return ExportedProject(project, latest)
    target_set, _source = target_source(project)
    specs = target_specs(target_set) if target_set is not None else []
    reports = []
    notes: dict[int, str] = {}
    for row in sorted(accepted, key=lambda r: r.period_index):
        answers = values.get(row.version_id, {})
        reports.append(progress_model.AcceptedReport(row.period_index, row.period_end, answers))
        notes.update({position: v.note for position, v in answers.items() if v.note})
    return ExportedProject(project, latest, progress_model.progress(specs, reports, project.start_date), notes)


def wan(yuan: Decimal | None) -> Decimal | None:
    """Yuan → 万元, exactly (Decimal division by 10^4 never rounds a 2-place amount)."""
    if yuan is None:
        return None
    return _number(Decimal(yuan) / WAN)


def _number(value: Decimal | None) -> Decimal | int | None:
    """A Decimal without trailing zeros; integral values as int (Excel shows 2000, not 2000.000000)."""
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return value.normalize()


def target_source(project: Project) -> tuple[TargetSet | None, str]:
    """The target set to export and how to label it: the newest confirmed set, else the inherited draft."""
    confirmed = confirmed_set(project)
    if confirmed is not None:
        return confirmed, f"任务书第{confirmed.version}版（已确认）"
    if project.target_sets:
        return project.target_sets[-1], "指南继承（任务书未确认）"
    return None, "无指标"


def _project_cells(project: Project) -> list[Any]:
    organisation = project.organisation
    officer = project.officer
    return [
        project.code,
        project.title,
        project.programme.name if project.programme else "",
        PATH_SEPARATOR.join(project.node.path) if project.node else "",
        organisation.name if organisation else "",
        city_name(organisation.division_code) if organisation else "",
        (officer.display_name or officer.username) if officer else "",
        project.status_label,
        project.start_date,
        project.end_date,
        wan(project.fiscal_funding),
        wan(project.self_funding),
    ]


def _reported_value(target: ProjectTarget, value: ReportedValue | None) -> Any:
    """最新填报值 of one target."""
    if value is None:
        return None
    if target.kind == "deliverable":
        return None if value.done is None else DONE if value.done else NOT_DONE
    if target.kind == "qualitative":
        return value.note or None
    if progress_model.is_per_year(target.unit, target.kind) and value.year_value is not None:
        return _number(value.year_value)
    return _number(value.value)


def _accepted_value(target: ProjectTarget, exported: ExportedProject) -> Any:
    """最新审核通过值 of one target: its progress from the accepted versions."""
    progress = exported.accepted.get(target.position)
    if progress is None or progress.last_period is None:  # no accepted report answers this target
        return None
    if target.kind == "deliverable":
        return DONE if progress.done else NOT_DONE
    if target.kind == "qualitative":
        return exported.accepted_notes.get(target.position)
    if progress_model.is_per_year(target.unit, target.kind) and progress.by_year:
        return _number(progress.by_year[max(progress.by_year)])
    return _number(progress.current)


def _report_cells(exported: ExportedProject) -> list[Any]:
    latest = exported.latest
    return [latest.period_label, latest.status_label] if latest is not None else [None, None]


def _target_cells(target: ProjectTarget, exported: ExportedProject) -> list[Any]:
    latest = exported.latest
    return [
        target.label or "",
        CATEGORIES.get(target.category, target.category),
        target.metric,
        OP_LABELS.get(target.op or "", target.op or ""),
        _number(target.value),
        target.unit or "",
        KIND_LABELS.get(target.kind, target.kind),
        _number(target.guideline_value),
        *_report_cells(exported),
        _reported_value(target, latest.values.get(target.position) if latest is not None else None),
        _accepted_value(target, exported),
    ]


def rows_of(projects: Iterable[ExportedProject]) -> Iterable[list[Any]]:
    """The data rows: one per target of each project (one row for a project without targets)."""
    for exported in projects:
        project = exported.project
        head = _project_cells(project)
        target_set, source = target_source(project)
        targets = list(target_set.targets) if target_set is not None else []
        if not targets:
            yield [*head, source, *([None] * (len(COLUMNS) - len(head) - 1))]
            continue
        for target in targets:
            yield [*head, source, *_target_cells(target, exported)]


def _cell(ws: Any, value: Any, column: Column) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws)
    if isinstance(value, str):
        set_safe_value(cell, value)  # G19: user text never becomes a formula
    else:
        cell.value = value
    if column.kind == "date" and isinstance(value, date | datetime):
        cell.number_format = DATE_FORMAT
    elif column.kind == "wan" and value is not None:
        cell.number_format = WAN_FORMAT
    return cell


def _header(ws: Any) -> list[WriteOnlyCell]:
    cells = []
    for column in COLUMNS:
        cell = WriteOnlyCell(ws, value=column.title)
        cell.font = _HEADER_FONT
        cell.fill = _REPORT_FILL if column.report else _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if column.note:
            comment = Comment(column.note, "系统")
            comment.width, comment.height = 240, max(80, 20 * (len(column.note) // 15 + 2))  # ~15 CJK a line
            cell.comment = comment
        cells.append(cell)
    return cells


def projects_workbook(projects: Iterable[ExportedProject], *, generated_at: datetime | None = None,
                      scope_note: str = "") -> bytes:
    """The .xlsx bytes: sheet 项目指标 (one row per target) and sheet 说明 (what the columns mean)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TARGETS)
    for index, column in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "C2"  # the header row and the project code and title stay in view
    ws.append(_header(ws))
    count = 0
    projects_seen = 0
    last_code = None
    for values in rows_of(projects):
        ws.append([_cell(ws, value, column) for value, column in zip(values, COLUMNS, strict=True)])
        count += 1
        if values[0] != last_code:
            projects_seen += 1
            last_code = values[0]
    if count:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    _notes(wb.create_sheet(SHEET_NOTES), projects=projects_seen, rows=count, generated_at=generated_at,
           scope_note=scope_note)
    wb.properties.title = "项目清单"
    wb.properties.creator = "科技项目绩效监测与验收跟踪系统"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _notes(ws: Any, *, projects: int, rows: int, generated_at: datetime | None, scope_note: str) -> None:
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 90
    lines: list[tuple[str, Any]] = [("项目清单", "")]
    if generated_at is not None:
        lines.append(("导出时间", local(generated_at).strftime("%Y-%m-%d %H:%M")))
    lines += [
        ("项目数", projects),
        ("指标行数", rows),
        ("范围", scope_note or "全部项目"),
        ("金额单位", "万元（系统按元保存，导出时换算为万元，不做舍入）"),
        ("指标来源", "任务书已确认的项目导出最新确认版本的指标；未确认的项目导出立项时从指南方向继承的指标。"),
        ("填报期", PERIOD_NOTE),
        ("审核状态", STATUS_NOTE),
        ("最新填报值", REPORTED_NOTE),
        ("最新审核通过值", ACCEPTED_NOTE),
        ("个人信息", "不导出项目负责人的电话和邮箱。"),
    ]
    for label, value in lines:
        a, b = WriteOnlyCell(ws), WriteOnlyCell(ws)
        set_safe_value(a, label)
        set_safe_value(b, value)  # numbers pass through unchanged
        if label == "项目清单":
            a.font = Font(bold=True, size=14)
        ws.append([a, b])
