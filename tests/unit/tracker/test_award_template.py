"""The award-list template and formula-safe cell values (G19).

The template must read back through the importer: empty (only the example row) it has no projects; filled in
by code it gives exactly the rows typed, with no errors.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText

from imports.awards import header_field, read_award_list
from indicators.identifiers import uscc_check_char
from tracker.exports.award_template import (
    COLUMNS,
    SHEET_CHOICES,
    SHEET_HELP,
    SHEET_LIST,
    TEMPLATE_ROWS,
    award_template,
    header_text,
)
from tracker.exports.xlsx_safety import FORMULA_TRIGGERS, is_risky_text, safe_cell_value, set_safe_value

# Long enough that an inline list ("a,b,c", at most 255 characters) could not hold them.
DIRECTIONS = [f"专题{n // 10 + 1} / 面向重点产业的关键核心技术攻关方向{n}" for n in range(60)]
MODES = ["前资助", "后补助", "里程碑式补助"]


@pytest.fixture(scope="module")
def template() -> bytes:
    return award_template(DIRECTIONS, MODES)


def _uscc(body: str) -> str:
    return body + uscc_check_char(body)


def test_sheets_headers_and_layout(template):
    wb = load_workbook(io.BytesIO(template))
    assert wb.sheetnames == [SHEET_LIST, SHEET_HELP, SHEET_CHOICES]
    assert wb.active.title == SHEET_LIST
    assert wb[SHEET_CHOICES].sheet_state == "hidden"
    ws = wb[SHEET_LIST]
    headers = [cell.value for cell in ws[1]]
    assert headers == [header_text(c) for c in COLUMNS]
    assert [h for h in headers if h.startswith("*")] == [
        "*项目编号", "*项目名称", "*方向", "*承担单位", "*统一社会信用代码", "*项目负责人", "*任务书签订日期",
        "*财政资助（万元）"]
    assert ws.freeze_panes == "A2"
    assert all(ws.column_dimensions[chr(ord("A") + i)].width == c.width for i, c in enumerate(COLUMNS))
    assert all(cell.font.bold for cell in ws[1])
    example = ws[2]
    assert str(example[0].value).startswith("示例")
    assert all(cell.font.italic and cell.font.color.rgb.endswith("808080") for cell in example)
    assert example[2].value == DIRECTIONS[0]
    help_texts = [row[0] for row in wb[SHEET_HELP].iter_rows(values_only=True) if row[0]]
    assert all(c.label in help_texts for c in COLUMNS)


def test_every_header_is_read_as_its_field():
    for column in COLUMNS:
        assert header_field(header_text(column)) == column.field, column.label


def test_dropdowns_use_the_hidden_list_sheet(template):
    wb = load_workbook(io.BytesIO(template))
    ws = wb[SHEET_LIST]
    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    direction = validations[f"C2:C{TEMPLATE_ROWS + 1}"]
    assert direction.type == "list"
    assert direction.formula1 == f"'{SHEET_CHOICES}'!$A$2:$A${len(DIRECTIONS) + 1}"
    assert sum(len(d) + 1 for d in DIRECTIONS) > 255
    mode = validations[f"P2:P{TEMPLATE_ROWS + 1}"]
    assert mode.formula1 == f"'{SHEET_CHOICES}'!$B$2:$B${len(MODES) + 1}"
    choices = wb[SHEET_CHOICES]
    assert [row[0] for row in choices.iter_rows(min_row=2, max_col=1, values_only=True)] == DIRECTIONS
    assert [row[0] for row in choices.iter_rows(min_row=2, min_col=2, max_col=2, values_only=True)
            if row[0]] == MODES
    assert validations[f"K2:K{TEMPLATE_ROWS + 1}"].type == "date"
    assert validations[f"L2:L{TEMPLATE_ROWS + 1}"].type == "date"
    assert validations[f"N2:N{TEMPLATE_ROWS + 1}"].type == "decimal"
    assert validations[f"O2:O{TEMPLATE_ROWS + 1}"].operator == "greaterThanOrEqual"


def test_without_choices_there_is_no_dropdown():
    wb = load_workbook(io.BytesIO(award_template([], [])))
    types = [dv.type for dv in wb[SHEET_LIST].data_validations.dataValidation]
    assert "list" not in types
    assert types.count("date") == 2 and types.count("decimal") == 2


def test_empty_template_has_no_projects_and_skips_the_example(template):
    sheet = read_award_list("立项清单模板.xlsx", template)
    assert sheet.rows == ()
    assert [e.message for e in sheet.errors] == ["工作表“立项清单”第1行表头以下没有项目数据"]


def test_filled_template_reads_back_without_errors(template, tmp_path: Path):
    wb = load_workbook(io.BytesIO(template))
    ws = wb[SHEET_LIST]
    uscc = _uscc("91350100M000100Y4")
    typed = [
        ["2025ZD001", "工业软件关键技术", DIRECTIONS[3], "1、3", "福州某某软件有限公司", uscc, "张三", "13800000000",
         "zs@example.com", "officer", date(2025, 3, 1), date(2028, 2, 29), "3年", 120, 360, "后补助"],
        ["2025ZD002", "高性能纤维", DIRECTIONS[10], None, "某某新材料公司", uscc, "李四", None, None, None,
         date(2025, 4, 15), None, "24个月", 85.5, None, "前资助"],
    ]
    for row in typed:
        ws.append(row)
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    sheet = read_award_list(path.name, path.read_bytes())
    assert sheet.errors == ()
    assert (sheet.sheet_name, sheet.header_row) == (SHEET_LIST, 1)
    first, second = sheet.rows
    assert (first.row, first.project_code, first.direction, first.content_items) == (
        3, "2025ZD001", DIRECTIONS[3], ("1", "3"))
    assert (first.start_date, first.end_date, first.period_months) == (date(2025, 3, 1), date(2028, 2, 29), 36)
    assert (first.fiscal_funding, first.self_funding) == (Decimal("1200000.00"), Decimal("3600000.00"))
    assert (first.pi_phone, first.pi_email, first.officer, first.funding_mode) == (
        "13800000000", "zs@example.com", "officer", "后补助")
    assert (second.fiscal_funding, second.self_funding, second.period_months) == (
        Decimal("855000.00"), Decimal("0.00"), 24)


def test_directions_that_look_like_formulas_stay_text():
    risky = ["=HYPERLINK(\"http://x\",\"点我\")", "+1", "-方向", "@SUM(A1)", "普通方向"]
    wb = load_workbook(io.BytesIO(award_template(risky, ["\t后补助"])))
    cells = [row[0] for row in wb[SHEET_CHOICES].iter_rows(min_row=2, max_col=1)]
    assert [c.value for c in cells] == risky
    assert all(c.data_type == "s" for c in cells)


# --- xlsx_safety ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-5", "@SUM(A1:A2)", "\t=1", "\r=1", "#N/A", "=cmd|' /C calc'!A0"])
def test_risky_text_is_written_as_a_string(text, tmp_path: Path):
    assert is_risky_text(text)
    wb = Workbook()
    set_safe_value(wb.active.cell(row=1, column=1), text)
    write_only = Workbook(write_only=True)
    write_only.create_sheet("s").append([safe_cell_value(text)])
    for book, name in ((wb, "normal.xlsx"), (write_only, "write_only.xlsx")):
        book.save(tmp_path / name)
        cell = load_workbook(tmp_path / name).worksheets[0]["A1"]
        assert (cell.value, cell.data_type) == (text, "s")
    assert load_workbook(tmp_path / "normal.xlsx").worksheets[0]["A1"].quotePrefix


def test_plain_values_pass_unchanged():
    for value in ["项目", "a=b", "", 12, 3.5, Decimal("1.20"), date(2025, 1, 1), None]:
        assert safe_cell_value(value) == value
        assert not isinstance(safe_cell_value(value), CellRichText)
    assert set(FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}


def test_control_characters_are_removed():
    assert safe_cell_value("a\x00b\x0bc\td") == "abc\td"
    assert str(safe_cell_value("=\x01x")) == "=x"
