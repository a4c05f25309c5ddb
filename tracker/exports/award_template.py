"""The award-list template (立项清单模板) that officers download, fill in and import.

Sheets:
- 立项清单: the header row (required columns marked `*` and shaded), frozen; an example row in grey italics
  whose 项目编号 starts with "示例" (the reader skips such rows, so it may stay); column widths for CJK
  text; number formats (text for codes and phone numbers, so Excel does not turn them into numbers;
  dates; amounts); data validation: dropdowns for 方向 and 资助方式, dates between 1990 and 2100, amounts
  ≥ 0.
- 填写说明: how to fill each column.
- 下拉选项 (hidden): the dropdown lists. Excel limits an inline list (`"a,b,c"`) to 255 characters and
  breaks on commas inside items, so the lists always live on this sheet and the validations refer to it.

The column names are the canonical names of the reader (imports.awards.FIELDS). This module may not import
`imports` (layer contract), so they are repeated here; tests/unit/tracker/test_award_template.py checks
that every header resolves to the intended field and that a filled template reads back without errors.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from tracker.exports.xlsx_safety import safe_cell_value

SHEET_LIST = "立项清单"
SHEET_HELP = "填写说明"
SHEET_CHOICES = "下拉选项"
TEMPLATE_ROWS = 5_000  # rows that get validations and formats; more can be added by copying a row
EXAMPLE_PREFIX = "示例"  # rows whose 项目编号 starts with this are skipped by the reader
REQUIRED_MARK = "*"

TEXT_FORMAT = "@"  # keeps 统一社会信用代码, phone numbers and "1、3" as typed
DATE_FORMAT = "yyyy-mm-dd"
AMOUNT_FORMAT = "#,##0.00"  # 万元 with two decimals (stack notes)

_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")
_EXAMPLE_FONT = Font(color="808080", italic=True)
_HEADER_FONT = Font(bold=True)


@dataclass(frozen=True)
class TemplateColumn:
    field: str  # the AwardRow attribute the reader fills from this column
    label: str  # the header text, without the required mark
    required: bool
    width: int  # in Excel character units; CJK text needs about two per character
    kind: str  # text, code, date, amount, direction, funding_mode
    help: str  # the 填写说明 line
    example: object


COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("project_code", "项目编号", True, 18, "code",
                   "本表内不得重复。系统以项目编号识别项目，同一清单再次导入不会重复创建。", "示例-2025-001"),
    TemplateColumn("title", "项目名称", True, 36, "text", "与任务书一致。", "XX关键技术研究与应用示范"),
    TemplateColumn("direction", "方向", True, 40, "direction",
                   "从下拉列表选择指南中的方向；方向名称在指南中重复时，填写完整路径，各级用“ / ”分隔。", None),
    TemplateColumn("content_items", "研究内容条目", False, 14, "code",
                   "所选研究内容的序号，多项用顿号分隔，如“1、3”；方向没有编号的研究内容时不填。", "1、3"),
    TemplateColumn("organisation_name", "承担单位", True, 32, "text", "承担单位全称。", "XX科技有限公司"),
    TemplateColumn("uscc", "统一社会信用代码", True, 22, "code",
                   "承担单位的18位统一社会信用代码，系统会核对校验位。", "91350100M000100Y43"),
    TemplateColumn("pi_name", "项目负责人", True, 12, "text", "姓名。", "张三"),
    TemplateColumn("pi_phone", "负责人电话", False, 16, "code", "手机或座机号码。", "13800000000"),
    TemplateColumn("pi_email", "负责人邮箱", False, 26, "text", "用于接收填报提醒。", "zhangsan@example.com"),
    TemplateColumn("officer", "项目管理专员", False, 14, "text", "系统中的用户名或姓名；不填则稍后分配。", None),
    TemplateColumn("start_date", "任务书签订日期", True, 16, "date",
                   "项目开始日期。填 Excel 日期，或 2025-03-01、2025年3月1日、2025.3.1、2025/3/1。", date(2025, 3, 1)),
    TemplateColumn("end_date", "结束日期", False, 14, "date", "不填时按实施期限推算。", date(2028, 2, 29)),
    TemplateColumn("period_months", "实施期限", False, 12, "code", "如“3年”“36个月”“2年6个月”。", "3年"),
    TemplateColumn("fiscal_funding", "财政资助（万元）", True, 16, "amount",
                   "单位为万元，可保留两位小数；不得为负数。写成“120万元”“1.2亿元”时按所写单位计。", 120),
    TemplateColumn("self_funding", "自筹经费（万元）", False, 16, "amount",
                   "单位为万元；没有自筹经费时不填或填0。", 360),
    TemplateColumn("funding_mode", "资助方式", False, 14, "funding_mode", "从下拉列表选择，如前资助、后补助。", None),
)

GENERAL_NOTES = (
    "1. 一行填写一个项目，从第3行开始填写；第2行灰色斜体为示例行，导入时自动跳过，可保留或删除。",
    "2. 带 * 的列为必填（表头为橙色）；其余列可不填。请不要修改、删除或调换表头。",
    "3. 导入时全部数据校验通过才会写入；任何一行有错误都不会导入，并按“第几行、哪一列”列出全部错误。",
    "4. 金额单位为万元。日期请用 Excel 日期格式。不要使用公式；如有公式，请先“选择性粘贴为数值”。",
    "5. 请保存为 Excel 工作簿（.xlsx）上传；不接受 .xls、.xlsm（含宏）和 CSV 文件。",
)


def header_text(column: TemplateColumn) -> str:
    return f"{REQUIRED_MARK}{column.label}" if column.required else column.label


def _choices_sheet(wb: Workbook, direction_choices: list[str], funding_modes: list[str]) -> dict[str, str]:
    """Write the dropdown lists on the hidden sheet; the validation formula of each non-empty list."""
    ws = wb.create_sheet(SHEET_CHOICES)
    ws.sheet_state = "hidden"
    formulas: dict[str, str] = {}
    for index, (kind, title, items) in enumerate(
            (("direction", "方向", direction_choices), ("funding_mode", "资助方式", funding_modes)), start=1):
        letter = get_column_letter(index)
        ws.cell(row=1, column=index, value=title)
        ws.column_dimensions[letter].width = 60 if kind == "direction" else 20
        unique = list(dict.fromkeys(item.strip() for item in items if item and item.strip()))
        for row, item in enumerate(unique, start=2):
            ws.cell(row=row, column=index, value=safe_cell_value(item))
        if unique:
            formulas[kind] = f"{quote_sheetname(SHEET_CHOICES)}!${letter}$2:${letter}${len(unique) + 1}"
    return formulas


def _validation(column: TemplateColumn, list_formulas: dict[str, str]) -> DataValidation | None:
    if column.kind in ("direction", "funding_mode"):
        formula = list_formulas.get(column.kind)
        if formula is None:
            return None
        return DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False,
                              showErrorMessage=True, errorStyle="warning", errorTitle=column.label,
                              error=f"“{column.label}”不在列表中，请从下拉列表选择。",
                              showInputMessage=True, promptTitle=column.label, prompt="请从下拉列表选择")
    if column.kind == "date":
        return DataValidation(type="date", operator="between", formula1="DATE(1990,1,1)",
                              formula2="DATE(2100,12,31)", allow_blank=True, showErrorMessage=True,
                              errorStyle="stop", errorTitle=column.label,
                              error="请输入日期，如 2025-03-01（1990年至2100年之间）。")
    if column.kind == "amount":
        return DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                              showErrorMessage=True, errorStyle="stop", errorTitle=column.label,
                              error="请输入不小于0的数字，单位为万元。")
    return None


def _list_sheet(ws: Worksheet, direction_choices: list[str], funding_modes: list[str],
                list_formulas: dict[str, str]) -> None:
    last_row = TEMPLATE_ROWS + 1
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index, value=header_text(column))
        cell.font = _HEADER_FONT
        cell.fill = _REQUIRED_FILL if column.required else _OPTIONAL_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        dimension = ws.column_dimensions[letter]
        dimension.width = column.width
        number_format = {"code": TEXT_FORMAT, "date": DATE_FORMAT, "amount": AMOUNT_FORMAT}.get(column.kind)
        if number_format:
            dimension.number_format = number_format  # the column style: new cells typed in Excel get it
        example = column.example
        if column.kind == "direction":
            example = direction_choices[0] if direction_choices else "（指南中的方向名称）"
        elif column.kind == "funding_mode":
            example = funding_modes[0] if funding_modes else None
        sample = ws.cell(row=2, column=index, value=safe_cell_value(example))
        sample.font = _EXAMPLE_FONT
        if number_format:
            sample.number_format = number_format
        validation = _validation(column, list_formulas)
        if validation is not None:
            validation.add(f"{letter}2:{letter}{last_row}")
            ws.add_data_validation(validation)
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}1"


def _help_sheet(ws: Worksheet) -> None:
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 8
    ws.column_dimensions["C"].width = 90
    ws.cell(row=1, column=1, value="立项清单填写说明").font = Font(bold=True, size=14)
    row = 3
    for note in GENERAL_NOTES:
        ws.cell(row=row, column=1, value=note)
        row += 1
    row += 1
    for index, title in enumerate(("列名", "是否必填", "填写要求"), start=1):
        cell = ws.cell(row=row, column=index, value=title)
        cell.font = _HEADER_FONT
        cell.fill = _OPTIONAL_FILL
    for column in COLUMNS:
        row += 1
        ws.cell(row=row, column=1, value=column.label)
        ws.cell(row=row, column=2, value="必填" if column.required else "选填")
        ws.cell(row=row, column=3, value=column.help).alignment = Alignment(wrap_text=True, vertical="top")


def award_template(direction_choices: list[str], funding_modes: list[str]) -> bytes:
    """The .xlsx template, with dropdowns of the given directions (titles or paths) and funding modes."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_LIST
    list_formulas = _choices_sheet(wb, direction_choices, funding_modes)
    _list_sheet(ws, direction_choices, funding_modes, list_formulas)
    _help_sheet(wb.create_sheet(SHEET_HELP, index=1))
    wb.active = 0
    wb.properties.title = "立项清单模板"
    wb.properties.creator = "科技项目绩效监测与验收跟踪系统"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
