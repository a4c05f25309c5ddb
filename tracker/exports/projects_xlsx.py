"""The project list as Excel (项目清单): one row per target of each project (DESIGN §2, §4).

The same file for the project list page's "导出 Excel" and for `tracker export projects PATH.xlsx`:

    from tracker.exports.projects_xlsx import load_projects, projects_workbook
    path.write_bytes(projects_workbook(load_projects(db)))

- `load_projects(db, query=None)` runs the SELECT of projects (default: every project, by code) with the
  related rows loaded in a fixed number of queries (organisation, programme, officer, direction, target sets
  and targets: seven queries whatever the number of projects).
- `projects_workbook(projects)` builds the workbook; it reads only what `load_projects` loaded.

The targets are those of the confirmed task book (the newest confirmed target set), else the draft inherited
from the guideline direction; the column 指标来源 says which. A project without any target still has one row.
Money is stored in yuan and exported in 万元 (the exact value; shown with two decimals). Every text cell
goes through `set_safe_value` (G19), so a title like `=SUM(A1)` stays text. The PI's name, phone and e-mail
are not exported (personal data, G34). The columns 最新填报值 / 最新审核通过值 stay empty until the quarterly
reports exist; their header comment says so.

The workbook is written in write-only (streaming) mode, so a large export does not hold every cell in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from indicators.categories import CATEGORIES
from indicators.target_edit import KIND_LABELS, OP_LABELS
from tracker.clock import local
from tracker.exports.xlsx_safety import set_safe_value
from tracker.models import GuidelineNode, Organisation, Programme, Project, ProjectTarget, TargetSet, User
from tracker.regions import city_name
from tracker.services.task_books import confirmed_set

SHEET_TARGETS = "项目指标"
SHEET_NOTES = "说明"
WAN = Decimal(10_000)
DATE_FORMAT = "yyyy-mm-dd"
WAN_FORMAT = "#,##0.00"
VALUE_FORMAT = "General"
PATH_SEPARATOR = " / "
REPORTS_NOTE = "季度进展报告功能上线后填入（下一步开发）；目前为空。"

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REPORT_FILL = PatternFill("solid", fgColor="EDEDED")


@dataclass(frozen=True)
class Column:
    title: str
    width: int  # Excel character units; CJK text needs about two per character
    kind: str = "text"  # text, date, wan, number
    note: str = ""  # header comment


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
    Column("最新填报值", 14, "number", note=REPORTS_NOTE),
    Column("最新审核通过值", 16, "number", note=REPORTS_NOTE),
)


def export_options() -> list[Any]:
    """Loader options: every related row the workbook reads, in one query per relationship."""
    return [
        selectinload(Project.organisation).load_only(Organisation.id, Organisation.name, Organisation.division_code),
        selectinload(Project.programme).load_only(Programme.id, Programme.name),
        selectinload(Project.officer).load_only(User.id, User.display_name, User.username),
        selectinload(Project.node).load_only(GuidelineNode.id, GuidelineNode.path, GuidelineNode.title),
        selectinload(Project.target_sets).selectinload(TargetSet.targets),
    ]


def load_projects(db: Session, query: Select[Any] | None = None) -> list[Project]:
    """The projects of `query` (default: all, by code) with what the workbook needs, in constant queries."""
    if query is None:
        query = select(Project).order_by(Project.code, Project.id)
    return list(db.scalars(query.options(*export_options())).unique())


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


def _target_cells(target: ProjectTarget) -> list[Any]:
    return [
        target.label or "",
        CATEGORIES.get(target.category, target.category),
        target.metric,
        OP_LABELS.get(target.op or "", target.op or ""),
        _number(target.value),
        target.unit or "",
        KIND_LABELS.get(target.kind, target.kind),
        _number(target.guideline_value),
        None,  # 最新填报值: reports come next
        None,  # 最新审核通过值
    ]


def rows_of(projects: Iterable[Project]) -> Iterable[list[Any]]:
    """The data rows: one per target of each project (one row for a project without targets)."""
    for project in projects:
        head = _project_cells(project)
        target_set, source = target_source(project)
        targets = list(target_set.targets) if target_set is not None else []
        if not targets:
            yield [*head, source, *([None] * (len(COLUMNS) - len(head) - 1))]
            continue
        for target in targets:
            yield [*head, source, *_target_cells(target)]


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
        cell.fill = _REPORT_FILL if column.note == REPORTS_NOTE else _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if column.note:
            comment = Comment(column.note, "系统")
            comment.width, comment.height = 240, 80
            cell.comment = comment
        cells.append(cell)
    return cells


def projects_workbook(projects: Sequence[Project] | Iterable[Project], *, generated_at: datetime | None = None,
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
        ("最新填报值", REPORTS_NOTE),
        ("个人信息", "不导出项目负责人的电话和邮箱。"),
    ]
    for label, value in lines:
        a, b = WriteOnlyCell(ws), WriteOnlyCell(ws)
        set_safe_value(a, label)
        set_safe_value(b, value)  # numbers pass through unchanged
        if label == "项目清单":
            a.font = Font(bold=True, size=14)
        ws.append([a, b])
