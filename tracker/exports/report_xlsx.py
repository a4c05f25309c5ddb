"""The Excel file of one quarterly progress report (季度进展报告): download, fill in offline, upload back.

`report_workbook(...)` writes the file; `imports.report_xlsx.read_report_workbook` reads it back into the same
`ReportInput` the web form builds, so the service checks both the same way (DESIGN §2 "Progress report").

Sheets:
- 填报说明: the project, the period, the due date and how to fill each sheet.
- 考核指标: a header row, then one row per target of the task book in position order. The sheet is protected
  (no password: it prevents accidents, the reader checks the rows anyway) and only the input cells that apply
  to the target are unlocked and tinted; the others are grey and locked (the year value of a target that is
  not per-year, the value of a deliverable or qualitative target, 是否完成 of anything but a deliverable).
  Data validations: a decimal ≥ 0 (any decimal where a level target may be negative), 是/否 for deliverables.
  The validations only warn, so that `3件` or `1.2亿元` can still be typed: the service reads units.
- 经费: the four FUND_FIELDS in 万元 with the last accepted figures beside them.
- 佐证材料: the draft's evidence items without a file (editable), the items with a file as locked rows marked
  KEPT_MARK (the reader returns them unchanged: files are uploaded and removed on the web page only), then
  EVIDENCE_EMPTY_ROWS empty rows. 材料类型 is a dropdown of the EVIDENCE_KINDS labels.
- 进展情况: the three TEXT_FIELDS.
- 下拉选项 (hidden): the list of evidence kinds the dropdown refers to.
- _meta (very hidden: not listed by Excel's "unhide"): project, period and target set of the file, the row of
  every target and the file id of every kept evidence row, so the reader can refuse a file of another project,
  period or task-book version and notice rows that were moved or deleted (a kept row is recognised by its
  marker text, not by its row, so deleting or moving rows cannot turn a typed row into a kept one).

Every text that came from a user (titles, metrics, units, explanations, evidence, narrative) is written with
`set_safe_value`, so `=HYPERLINK(...)` stays text (G19). Money is stored in yuan and written in 万元.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from indicators.assessment.progress import is_per_year
from indicators.evidence_ids import EVIDENCE_KINDS
from indicators.reading.categories import CATEGORIES
from indicators.reading.target_edit import KIND_LABELS
from indicators.workdays import ReportingPeriod
from tracker.exports.xlsx_safety import set_safe_value
from tracker.models import Project, ProjectTarget, ReportEvidence, ReportVersion, TargetSet
from tracker.services.reports import FUND_FIELDS, FUND_LABELS, MAX_TEXT, TEXT_FIELDS, may_be_negative

SHEET_HELP = "填报说明"
SHEET_TARGETS = "考核指标"
SHEET_FUNDS = "经费"
SHEET_EVIDENCE = "佐证材料"
SHEET_TEXT = "进展情况"
SHEET_LISTS = "下拉选项"
SHEET_META = "_meta"
META_FORMAT = "st-tracker/progress-report/1"

TARGET_HEADERS = ("序号", "指标类别", "考核指标", "考核方式", "任务书目标", "单位", "上次审核通过值",
                  "本期累计值/最佳测量值", "本项目年度值", "是否完成", "减少原因说明", "备注")
COL_VALUE, COL_YEAR, COL_DONE, COL_EXPLANATION, COL_NOTE = 8, 9, 10, 11, 12  # 1-based, the unlocked columns
# Column names in messages (imports.report_xlsx.locate): the value column is named after what it holds.
VALUE_COLUMN = {"cumulative": "本期累计值", "level": "最佳测量值"}
FUND_HEADERS = ("经费项目", "截至本期末累计（万元）", "上次审核通过（万元）")
EVIDENCE_HEADERS = ("材料类型", "编号", "说明", "对应指标序号", "文件")
TEXT_HEADERS = ("栏目", "内容")
KEPT_MARK = "（网页上传的文件，保留）"
EVIDENCE_EMPTY_ROWS = 30
YES, NO = "是", "否"
WAN = Decimal(10_000)
MAX_EXACT_DIGITS = 15  # a float (Excel's number) holds 15 significant digits; longer values are written as text

OP_SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # cells to fill in
_NA_FILL = PatternFill("solid", fgColor="D9D9D9")  # cells that do not apply to the target
_KEPT_FILL = PatternFill("solid", fgColor="EDEDED")
_UNLOCKED = Protection(locked=False)
_WRAP = Alignment(wrap_text=True, vertical="top")
TEXT_FORMAT = "@"


def target_rows(target_set: TargetSet) -> dict[int, int]:
    """Target position → its row on 考核指标 (the header is row 1)."""
    return {t.position: row for row, t in enumerate(_targets(target_set), start=2)}


def fund_rows() -> dict[str, int]:
    return {name: row for row, name in enumerate(FUND_FIELDS, start=2)}


def text_rows() -> dict[str, int]:
    return {name: row for row, name in enumerate(TEXT_FIELDS, start=2)}


def _targets(target_set: TargetSet) -> list[ProjectTarget]:
    return sorted(target_set.targets, key=lambda t: t.position)


def applies(target: ProjectTarget) -> dict[int, bool]:
    """Which input columns apply to a target (the others are grey and locked)."""
    return {
        COL_VALUE: target.kind in ("cumulative", "level"),
        COL_YEAR: is_per_year(target.unit, target.kind),
        COL_DONE: target.kind == "deliverable",
        COL_EXPLANATION: True,
        COL_NOTE: True,
    }


def number(value: Decimal | None) -> Decimal | int | str | None:
    """A cell value for a Decimal: int when whole, else without trailing zeros; text when a float cannot hold it."""
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        value = value.quantize(Decimal(1))
        digits = len(value.as_tuple().digits)
        return int(value) if digits <= MAX_EXACT_DIGITS else format(value, "f")
    value = value.normalize()
    if len(value.as_tuple().digits) > MAX_EXACT_DIGITS:
        return format(value, "f")
    return value


def wan(yuan: Decimal | None) -> Decimal | int | str | None:
    return None if yuan is None else number(Decimal(yuan) / WAN)


def target_text(target: ProjectTarget) -> str:
    """The task-book target as in the file: `≥ 3`; `完成` for a deliverable, `专家评价` for a qualitative one."""
    if target.value is not None and target.op:
        shown = number(target.value)
        return f"{OP_SYMBOLS.get(target.op, target.op)} {shown if isinstance(shown, str) else str(shown)}"
    if target.kind == "deliverable":
        return "完成"
    if target.kind == "qualitative":
        return "专家评价"
    return ""


def _header(ws: Worksheet, headers: Iterable[str], widths: Iterable[int]) -> None:
    for column, (title, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = ws.cell(row=1, column=column, value=title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"


def _protect(ws: Worksheet) -> None:
    """Sheet protection without a password: headers and fixed cells cannot be typed over by accident.
    Resizing rows and columns stays allowed (False means "not protected" in openpyxl's SheetProtection)."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.formatCells = True
    ws.protection.insertRows = True
    ws.protection.deleteRows = True
    ws.protection.sort = True


def _input(cell: Any) -> None:
    cell.protection = _UNLOCKED
    cell.fill = _INPUT_FILL


def _validation(kind: str, title: str, error: str, **extra: Any) -> DataValidation:
    return DataValidation(type=kind, allow_blank=True, showErrorMessage=True, errorStyle="warning",
                          errorTitle=title, error=error, showInputMessage=bool(extra.get("prompt")),
                          promptTitle=title if extra.get("prompt") else None, **extra)


def _add(validation: DataValidation, cells: list[str], ws: Worksheet) -> None:
    if cells:
        for ref in cells:
            validation.add(ref)
        ws.add_data_validation(validation)


# --- the sheets ---------------------------------------------------------------------------------------


def _help_sheet(ws: Worksheet, project: Project, period: ReportingPeriod, target_count: int) -> None:
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 100
    ws.cell(row=1, column=1, value="季度进展报告填报说明").font = Font(bold=True, size=14)
    due = period.due.isoformat() + ("（暂定）" if getattr(period, "provisional", False) else "")
    facts = (
        ("项目编号", project.code),
        ("项目名称", project.title),
        ("报告期", period.label),
        ("起止日期", f"{period.start.isoformat()} 至 {period.end.isoformat()}"),
        ("截止日期", due),
        ("考核指标", f"{target_count}项"),
    )
    row = 3
    for label, value in facts:
        ws.cell(row=row, column=1, value=label).font = _HEADER_FONT
        set_safe_value(ws.cell(row=row, column=2), value)
        row += 1
    notes = (
        "1. 本文件只能用于上面这个项目的这一期报告：填好后请在本期报告页面“上传 Excel”，上传到其他项目或其他"
        "报告期会被拒绝。任务书更新后，请重新下载模板。",
        "2. 只填写黄色单元格；灰色单元格不适用于该指标，已锁定。请不要修改表头，不要插入、删除或移动考核指标行"
        "（工作表已保护，无需密码，但撤销保护后做的改动在上传时会被发现并拒绝）。",
        "3. 累计型指标（专利、论文、收入、培养人数等）填写截至本期末的累计总数，不是本季度新增数；没有进展填0。"
        "累计值比上次审核通过的值小时，必须在“减少原因说明”中说明原因。",
        "4. 水平型指标（强度、精度、误报率等测量值）填写迄今最好的测量值：要求“≥/>”的填最高值，要求“≤/<”的填"
        "最低值；可为负数的单位（℃、dB 等）可填负数。",
        "5. 交付型指标（报告、平台、系统、证书等）在“是否完成”中选择“是”或“否”；选“是”时请在“佐证材料”中"
        "附至少一项对应该指标的材料。定性指标由专家评价，可在“备注”中说明进展。",
        "6. 单位以“/年”结尾的指标按项目年度考核（从项目开始日期起算，每满12个月为一个项目年度），请在"
        "“本项目年度值”中填写当前项目年度的数值。",
        "7. 数值按“单位”列的单位填写，只填数字；如写了单位（如“1.2亿元”“120万元”），按所写单位换算。"
        "“经费”表的金额单位为万元，填截至本期末的累计数。",
        "8. 佐证材料每行一项：从下拉列表选择材料类型，填写编号，例如 专利申请号 202310123456.6（含校验位）、"
        "授权专利号 ZL202310123456.6、软件著作权登记号 2023SR0123456、标准编号 GB/T 12345-2020、"
        "DOI 10.1000/xyz123、ISSN 1234-567X；“对应指标序号”填“考核指标”表的序号，针对整个报告的材料不填。",
        "9. 文件（扫描件、照片、证书等）不能放在 Excel 中，请在网页上上传。已在网页上传的文件以灰色行列出，"
        "标有“" + KEPT_MARK + "”，上传本文件时会原样保留。",
        "10. 不要使用公式；如有公式，请先“选择性粘贴为数值”。请保存为 Excel 工作簿（.xlsx）后上传。",
        "11. 上传后系统会检查全部内容，有错误时按“工作表、第几行、哪一列”列出，并且不保存；上传成功后保存为"
        "草稿，仍需在网页上点击“提交”。",
    )
    row += 1
    ws.cell(row=row, column=1, value="填写方法").font = _HEADER_FONT
    for note in notes:
        ws.cell(row=row, column=2, value=note).alignment = Alignment(wrap_text=True, vertical="top")
        row += 1


def _targets_sheet(ws: Worksheet, target_set: TargetSet, version: ReportVersion | None,
                   last_accepted: Mapping[int, Decimal | None]) -> None:
    _header(ws, TARGET_HEADERS, (6, 14, 36, 14, 14, 10, 14, 18, 14, 10, 30, 30))
    nonneg = _validation("decimal", "数值", "请输入不小于0的数字（按“单位”列的单位）。", operator="greaterThanOrEqual",
                         formula1="0")
    signed = _validation("decimal", "数值", "请输入数字（按“单位”列的单位）。", operator="between",
                         formula1="-1000000000000", formula2="1000000000000")
    done = _validation("list", "是否完成", "请从下拉列表选择“是”或“否”。", formula1=f'"{YES},{NO}"',
                       prompt="请选择“是”或“否”")
    text = _validation("textLength", "说明", f"说明不能超过{MAX_TEXT}个字符。", operator="lessThanOrEqual",
                       formula1=str(MAX_TEXT))
    cells: dict[str, list[str]] = {"nonneg": [], "signed": [], "done": [], "text": []}
    for row, target in enumerate(_targets(target_set), start=2):
        reported = version.value_for(target.id) if version is not None else None
        fixed = [
            target.position + 1,
            CATEGORIES.get(target.category, target.category),
            target.metric,
            KIND_LABELS.get(target.kind, target.kind),
            target_text(target),
            target.unit or "",
            number(last_accepted.get(target.position)),
        ]
        for column, value in enumerate(fixed, start=1):
            set_safe_value(ws.cell(row=row, column=column), value).alignment = _WRAP
        if reported is not None:
            done_value = None if reported.done is None else (YES if reported.done else NO)
            inputs = {COL_VALUE: number(reported.value), COL_YEAR: number(reported.year_value), COL_DONE: done_value,
                      COL_EXPLANATION: reported.explanation or None, COL_NOTE: reported.note or None}
        else:
            inputs = {COL_VALUE: number(last_accepted.get(target.position))}
        signed_ok = may_be_negative(target)
        for column, ok in applies(target).items():
            cell = ws.cell(row=row, column=column)
            cell.alignment = _WRAP
            if not ok:
                cell.fill = _NA_FILL
                continue
            _input(cell)
            set_safe_value(cell, inputs.get(column))
            ref = cell.coordinate
            if column in (COL_VALUE, COL_YEAR):
                cells["signed" if signed_ok else "nonneg"].append(ref)
            elif column == COL_DONE:
                cells["done"].append(ref)
            else:
                cells["text"].append(ref)
    for key, validation in (("nonneg", nonneg), ("signed", signed), ("done", done), ("text", text)):
        _add(validation, cells[key], ws)
    _protect(ws)


def _funds_sheet(ws: Worksheet, project: Project, version: ReportVersion | None,
                 accepted_funds: Mapping[str, Decimal | None]) -> None:
    _header(ws, FUND_HEADERS, (22, 22, 22))
    amount = _validation("decimal", "金额", "请输入不小于0的数字，单位为万元。", operator="greaterThanOrEqual",
                         formula1="0")
    refs = []
    for name, row in fund_rows().items():
        ws.cell(row=row, column=1, value=FUND_LABELS[name]).font = _HEADER_FONT
        current = getattr(version, name) if version is not None else accepted_funds.get(name)
        cell = ws.cell(row=row, column=2, value=wan(current))
        _input(cell)
        refs.append(cell.coordinate)
        ws.cell(row=row, column=3, value=wan(accepted_funds.get(name)))
    _add(amount, refs, ws)
    note_row = len(FUND_FIELDS) + 3
    ws.cell(row=note_row, column=1, value="说明").font = _HEADER_FONT
    ws.cell(row=note_row, column=2, value=(
        f"金额单位为万元，填写截至本期末的累计数。立项财政资金 {_wan_text(project.fiscal_funding)} 万元，"
        f"承诺自筹经费 {_wan_text(project.self_funding)} 万元。累计支出不能超过累计到位金额。"))
    _protect(ws)


def _wan_text(yuan: Decimal | None) -> str:
    shown = wan(yuan)
    return "—" if shown is None else str(shown)


def _kind_list(wb: Workbook) -> str:
    ws = wb.create_sheet(SHEET_LISTS)
    ws.sheet_state = "hidden"
    ws.cell(row=1, column=1, value="材料类型")
    ws.column_dimensions["A"].width = 24
    labels = list(EVIDENCE_KINDS.values())
    for row, label in enumerate(labels, start=2):
        ws.cell(row=row, column=1, value=label)
    return f"{quote_sheetname(SHEET_LISTS)}!$A$2:$A${len(labels) + 1}"


def _evidence_sheet(ws: Worksheet, kinds_formula: str, version: ReportVersion | None,
                    target_count: int) -> list[tuple[int, int, str]]:
    """The evidence rows; returns (row, file id, marker text) of the kept rows (items with a file)."""
    _header(ws, EVIDENCE_HEADERS, (20, 28, 40, 14, 36))
    items: list[ReportEvidence] = sorted(version.evidence, key=lambda e: e.position) if version is not None else []
    kept: list[tuple[int, int, str]] = []
    row = 1
    for row, item in enumerate(items, start=2):
        target_number = item.target.position + 1 if item.target is not None else None
        values = [EVIDENCE_KINDS.get(item.kind, item.kind), item.identifier or None, item.description or None,
                  target_number]
        has_file = item.file_id is not None or item.file is not None
        for column, value in enumerate(values, start=1):
            cell = set_safe_value(ws.cell(row=row, column=column), value)
            cell.alignment = _WRAP
            if has_file:
                cell.fill = _KEPT_FILL
            else:
                _input(cell)
        file_cell = ws.cell(row=row, column=5)
        file_cell.alignment = _WRAP
        if has_file:
            name = item.file.display_name if item.file is not None else ""
            set_safe_value(file_cell, KEPT_MARK + name)
            file_cell.fill = _KEPT_FILL
            kept.append((row, item.file_id if item.file_id is not None else item.file.id, KEPT_MARK + name))
        else:
            file_cell.fill = _NA_FILL
    first_empty = row + 1
    last = first_empty + EVIDENCE_EMPTY_ROWS - 1
    for empty in range(first_empty, last + 1):
        for column in range(1, 5):
            _input(ws.cell(row=empty, column=column))
        ws.cell(row=empty, column=5).fill = _NA_FILL
    for editable in range(2, last + 1):
        ws.cell(row=editable, column=2).number_format = TEXT_FORMAT  # 202310123456.6 stays as typed
    editable_rows = [r for r in range(2, last + 1) if r not in {k[0] for k in kept}]
    kind = _validation("list", "材料类型", "请从下拉列表选择材料类型。", formula1=kinds_formula,
                       prompt="请从下拉列表选择")
    _add(kind, [f"A{r}" for r in editable_rows], ws)
    if target_count:
        target = _validation("whole", "对应指标序号", f"请填写“考核指标”表中的序号（1至{target_count}），"
                             "针对整个报告的材料不填。", operator="between", formula1="1",
                             formula2=str(target_count))
        _add(target, [f"D{r}" for r in editable_rows], ws)
    description = _validation("textLength", "说明", "说明不能超过500个字符。", operator="lessThanOrEqual",
                              formula1="500")
    _add(description, [f"C{r}" for r in editable_rows], ws)
    _protect(ws)
    return kept


def _text_sheet(ws: Worksheet, version: ReportVersion | None) -> None:
    _header(ws, TEXT_HEADERS, (18, 100))
    length = _validation("textLength", "内容", f"不能超过{MAX_TEXT}个字符。", operator="lessThanOrEqual",
                         formula1=str(MAX_TEXT))
    refs = []
    for name, row in text_rows().items():
        label = ws.cell(row=row, column=1, value=TEXT_FIELDS[name])
        label.font = _HEADER_FONT
        label.alignment = _WRAP
        text = getattr(version, name) if version is not None else None
        cell = set_safe_value(ws.cell(row=row, column=2), text or None)
        cell.alignment = _WRAP
        _input(cell)
        refs.append(cell.coordinate)
        ws.row_dimensions[row].height = 200
    _add(length, refs, ws)
    _protect(ws)


def _meta_sheet(wb: Workbook, project: Project, period: ReportingPeriod, target_set: TargetSet,
                kept: list[tuple[int, int, str]]) -> None:
    ws = wb.create_sheet(SHEET_META)
    ws.sheet_state = "veryHidden"
    rows: list[list[Any]] = [
        ["format", META_FORMAT],
        ["project_code", project.code],
        ["project_id", project.id],
        ["period_index", period.index],
        ["period_label", period.label],
        ["target_set_id", target_set.id],
        ["target_set_version", target_set.version],
    ]
    rows += [["target", row, position] for position, row in target_rows(target_set).items()]
    rows += [["kept", row, file_id, mark] for row, file_id, mark in kept]
    for number_, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            set_safe_value(ws.cell(row=number_, column=column), value)
    _protect(ws)


def report_workbook(*, project: Project, period: ReportingPeriod, target_set: TargetSet,
                    version: ReportVersion | None = None, last_accepted: Mapping[int, Decimal | None],
                    accepted_funds: Mapping[str, Decimal | None]) -> bytes:
    """The .xlsx of one period's report, pre-filled from the draft `version`, else from the accepted baseline.

    `last_accepted`: target position → the last accepted value (shown, and the pre-fill without a draft);
    `accepted_funds`: FUND_FIELDS → the last accepted amounts in yuan.
    """
    wb = Workbook()
    help_ws = wb.active
    help_ws.title = SHEET_HELP
    _help_sheet(help_ws, project, period, len(target_set.targets))
    _targets_sheet(wb.create_sheet(SHEET_TARGETS), target_set, version, last_accepted)
    _funds_sheet(wb.create_sheet(SHEET_FUNDS), project, version, accepted_funds)
    evidence_ws = wb.create_sheet(SHEET_EVIDENCE)
    _text_sheet(wb.create_sheet(SHEET_TEXT), version)
    kept = _evidence_sheet(evidence_ws, _kind_list(wb), version, len(target_set.targets))
    _meta_sheet(wb, project, period, target_set, kept)
    wb.active = 0
    wb.properties.title = f"{project.code} {period.label} 进展报告"
    wb.properties.creator = "科技项目绩效监测与验收跟踪系统"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
