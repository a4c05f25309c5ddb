"""The at-risk list as Excel (DESIGN §2 monitoring): one row per project of the list's filters, worst first, with
its monitoring status and a column 原因 holding the reasons in words, one a line. The page `/projects/at-risk.xlsx`
and `tracker export at-risk PATH.xlsx` write the same file."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from indicators.assessment.monitoring import STATUS_LABELS
from indicators.regions import city_name
from tracker.clock import local
from tracker.exports.xlsx_safety import set_safe_value
from tracker.models import GuidelineNode, Organisation, Project, ProjectAssessment, ProjectStatus, User

SHEET = "风险项目"
CHUNK = 900  # ids per IN list (SQLite allows 999 parameters)


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    key: str


COLUMNS = (
    Column("项目编号", 16, "code"), Column("项目名称", 36, "title"), Column("承担单位", 26, "organisation"),
    Column("城市", 8, "city"), Column("方向", 26, "direction"), Column("项目管理专员", 12, "officer"),
    Column("项目状态", 8, "status"), Column("结束日期", 11, "end_date"), Column("监测状态", 8, "risk"),
    Column("原因", 70, "reasons"), Column("逾期报告（期）", 8, "overdue"), Column("退回待改（份）", 8, "returned"),
    Column("评估时间", 16, "computed_at"),
)
_HEADER = Font(bold=True)
_FILL = {"red": PatternFill("solid", fgColor="FEE4E2"), "amber": PatternFill("solid", fgColor="FEF0C7")}


def at_risk_rows(db: Session, query: Select[Any]) -> list[dict[str, Any]]:
    """The projects of `query` (the list's filters and order) with their stored assessment, in that order."""
    ids = list(db.scalars(query.with_only_columns(Project.id)))
    officer = aliased(User)
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = db.execute(
            select(Project.id, Project.code, Project.title, Organisation.name, Organisation.division_code,
                   GuidelineNode.title, officer.display_name, Project.status, Project.end_date,
                   ProjectAssessment.status, ProjectAssessment.reasons, ProjectAssessment.overdue_reports,
                   ProjectAssessment.returned_reports, ProjectAssessment.computed_at)
            .join(Organisation, Organisation.id == Project.organisation_id)
            .join(GuidelineNode, GuidelineNode.id == Project.node_id)
            .outerjoin(officer, officer.id == Project.officer_id)
            .outerjoin(ProjectAssessment, ProjectAssessment.project_id == Project.id)
            .where(Project.id.in_(ids[start:start + CHUNK])))
        for (pid, code, title, org, division, direction, officer_name, status, end, risk, reasons, overdue,
             returned, computed) in rows:
            found[pid] = {
                "code": code, "title": title, "organisation": org, "city": city_name(division),
                "direction": direction, "officer": officer_name or "", "status": ProjectStatus(status).label,
                "end_date": end, "risk": STATUS_LABELS.get(risk or "", "未评估"), "risk_key": risk,
                "reasons": "\n".join(reasons or []), "overdue": overdue or 0, "returned": returned or 0,
                "computed_at": local(computed).replace(tzinfo=None) if computed else None}
    return [found[i] for i in ids]


def at_risk_workbook(rows: Sequence[dict[str, Any]], *, generated_at: datetime | None = None,
                     scope_note: str = "") -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET)
    for index, column in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "C2"
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(ws, value=column.title)
        cell.font = _HEADER
        header.append(cell)
    ws.append(header)
    for row in rows:
        cells = []
        for column in COLUMNS:
            cell = WriteOnlyCell(ws)
            value = row[column.key]
            if isinstance(value, str):
                set_safe_value(cell, value)  # G19: text from users never becomes a formula
            else:
                cell.value = value
            if isinstance(value, date | datetime):
                cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else "yyyy-mm-dd"
            if column.key == "reasons":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column.key == "risk" and row["risk_key"] in _FILL:
                cell.fill = _FILL[row["risk_key"]]
            cells.append(cell)
        ws.append(cells)
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    notes = wb.create_sheet("说明")
    notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 14, 90
    lines: list[tuple[str, Any]] = [("风险项目清单", "")]
    if generated_at is not None:
        lines.append(("导出时间", local(generated_at).strftime("%Y-%m-%d %H:%M")))
    lines += [("项目数", len(rows)), ("范围", scope_note or "全部项目"),
              ("监测状态", "预警：明显落后于进度且预计期末达不到；关注：落后于进度、预计达不到目标，"
                       "或有逾期、退回的报告、资金支出偏低、配套不足、到期未申请验收；"
                       "正常：按进度推进；无法判断：尚无数据或需专家判断。"),
              ("原因", "系统每晚及审核报告、确认任务书时重新评估，原因中的数字来自审核通过的报告。")]
    for label, value in lines:
        notes.append([label, value])
    wb.properties.title = "风险项目清单"
    wb.properties.creator = "科技项目绩效监测与验收跟踪系统"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
