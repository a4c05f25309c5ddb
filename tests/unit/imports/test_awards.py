"""Award lists (立项清单) from Excel: real-world variants, every row error, hostile files (G17).

Every workbook is generated here with openpyxl (no binary fixtures); a few are patched at the XML level
to get what openpyxl will not write (cached formula results, a DTD, macros).
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from imports import awards, xlsx_guard
from imports.awards import (
    AwardRow,
    AwardSheet,
    RowError,
    _CellProblem,
    header_field,
    header_key,
    parse_amount,
    parse_content_items,
    parse_date,
    parse_period,
    read_award_list,
)
from indicators.identifiers import uscc_check_char

HEADERS = ["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人", "任务书签订日期", "财政资助"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def uscc(body: str = "91350100M000100Y4") -> str:
    return body + uscc_check_char(body)


def wrong_check(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


def save(tmp_path: Path, wb: Workbook, name: str = "awards.xlsx") -> bytes:
    path = tmp_path / name
    wb.save(path)
    return path.read_bytes()


def simple(tmp_path: Path, *rows: list, headers: list[str] | None = None, name: str = "awards.xlsx") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "立项清单"
    ws.append(headers or HEADERS)
    for row in rows:
        ws.append(row)
    return save(tmp_path, wb, name)


def good_row(code: str = "2025ZD001", **changes) -> list:
    row = {"code": code, "title": "项目", "direction": "方向一", "org": "某某科技有限公司", "uscc": uscc(),
           "pi": "张三", "start": "2025-03-01", "fiscal": 100}
    row.update(changes)
    return list(row.values())


def rezip(data: bytes, change) -> bytes:
    """The same archive with each part passed through `change(name, bytes) -> bytes | None` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info))
            if content is not None:
                target.writestr(info.filename, content)
    return out.getvalue()


def file_level(sheet: AwardSheet) -> str:
    assert isinstance(sheet, AwardSheet)
    assert sheet.rows == ()
    assert sheet.errors, "a refused file must say why"
    error = sheet.errors[0]
    assert error.row is None and error.column is None
    assert CJK.search(error.message), error.message
    assert str(error) == error.message
    return error.message


# --- a messy but valid file ----------------------------------------------------------------------------------


def test_messy_but_valid_file_reads_every_row(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "2025年立项"
    wb.create_sheet("说明").append(["本表由科技处整理"])
    ws["A1"] = "2025年度XX科技计划立项项目清单"
    ws.merge_cells("A1:Q1")
    ws.append([])
    ws.append(["序号", "编 号", "项目名称", "支持方向", "研究内容条目", "项目承担单位", "统一社会信用代码\n（必填）",
               "负责人", "联系电话", "邮箱", "项目管理专员", "起始时间", "结束日期", "实施期限",
               "资助经费（万元）", "自筹经费(元)", "资助方式"])
    good = uscc()
    other = uscc("12100000400000624")
    ws.append([1, "２０２５ZD００１", " 智能 芯片 关键技术 ", "人工智能 / 芯片", "1、3", " 某某 科技有限公司 ", good.lower(),
               "张 三", 13800138000, "zs@example.com", "officer", datetime(2025, 3, 1), datetime(2028, 2, 29), "3年",
               "1,200", "1,200", "后补助"])
    ws.append([2, "2025ZD002", "项目二", "方向二", "①③", "单位二", other, "李四", "0591-12345678", None, None,
               45717, None, "24个月", "120万元", "2万元", "前资助"])
    ws.append([3, "2025ZD003", "项目三", "专题 › 方向三", "第2项，（三）", "单位三", other, "王五", None, None, None,
               "2025年3月1日", "2027年2月28日", "两年", "1.2亿元", 800, None])
    ws.append([4, "2025ZD004", "项目四", "方向四", 2, "单位四", other, "赵六", None, None, None, "2025.3.1", 46812,
               None, 85.5, None, None])
    ws.append([5, "2025ZD005", "项目五", "方向五", None, "单位五", other, "钱七", None, None, None, "2025/3/1", None,
               36, "８５.５", "—", None])
    ws.append([6, "2025ZD006", "项目六", "方向六", None, "单位六", other, "孙八", None, None, None,
               "２０２５年３月１日", "2025-12-31", None, " 85.5万元 ", "", None])
    ws.append([7, "2025ZD007", "项目七", "方向七", None, "单位七", other, "周九", None, None, None, "2025-03-01",
               20280228, "1年半", "１２０", None, None])
    ws.cell(row=7, column=13).number_format = "yyyy-mm-dd"  # a serial number shown as a date is a date
    ws.append(["合计", None, None, None, None, None, None, None, None, None, None, None, None, None, "=SUM(O4:O10)"])
    ws.append([])
    ws.append([None, "   ", None, "\u3000"])
    ws.append(["填表人：张三", None, None, None, None, None, None, None, "联系电话：0591-1"])
    for _ in range(5):
        ws.append([])
    ws.cell(row=30, column=3).number_format = "0.00"  # a styled but empty cell far below
    sheet = read_award_list("立项清单.xlsx", save(tmp_path, wb))

    assert sheet.errors == ()
    assert (sheet.sheet_name, sheet.header_row) == ("2025年立项", 3)
    rows = {row.project_code: row for row in sheet.rows}
    assert list(rows) == [f"2025ZD00{n}" for n in range(1, 8)]
    first = rows["2025ZD001"]
    assert first == AwardRow(
        row=4, project_code="2025ZD001", title="智能芯片关键技术", direction="人工智能 / 芯片", content_items=("1", "3"),
        organisation_name="某某科技有限公司", uscc=good, pi_name="张三", pi_phone="13800138000",
        pi_email="zs@example.com", officer="officer", start_date=date(2025, 3, 1), end_date=date(2028, 2, 29),
        period_months=36, fiscal_funding=Decimal("12000000.00"), self_funding=Decimal("1200.00"),
        funding_mode="后补助")
    assert [r.fiscal_funding for r in rows.values()] == [
        Decimal("12000000.00"), Decimal("1200000.00"), Decimal("120000000.00"), Decimal("855000.00"),
        Decimal("855000.00"), Decimal("855000.00"), Decimal("1200000.00")]
    assert [r.self_funding for r in rows.values()] == [
        Decimal("1200.00"), Decimal("20000.00"), Decimal("800.00"), Decimal("0.00"), Decimal("0.00"),
        Decimal("0.00"), Decimal("0.00")]
    assert {r.start_date for r in rows.values()} == {date(2025, 3, 1)}
    assert [r.end_date for r in rows.values()] == [
        date(2028, 2, 29), None, date(2027, 2, 28), date(2028, 2, 29), None, date(2025, 12, 31), date(2028, 2, 28)]
    assert [r.period_months for r in rows.values()] == [36, 24, 24, None, 36, None, 18]
    assert [r.content_items for r in rows.values()] == [("1", "3"), ("1", "3"), ("2", "3"), ("2",), (), (), ()]
    assert rows["2025ZD002"].pi_phone == "0591-12345678"
    assert rows["2025ZD003"].direction == "专题 › 方向三"
    assert rows["2025ZD003"].funding_mode is None
    assert rows["2025ZD002"].uscc == other


def test_two_level_header_with_merged_cells(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["附件：立项清单"])
    ws.append(["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人", "任务书签订日期",
               "经费（元）", None, "项目负责人", None])
    ws.append([None, None, None, None, None, None, None, "财政资助", "自筹", "电话", "邮箱"])
    for column in "ABCDEFG":
        ws.merge_cells(f"{column}2:{column}3")
    ws.merge_cells("H2:I2")
    ws.merge_cells("J2:K2")
    ws.append(["A-1", "项目", "方向", "单位", uscc(), "张三", "2025-03-01", 500000, "1.5万", "13800000000",
               "a@b.cn"])
    sheet = read_award_list("a.xlsx", save(tmp_path, wb))
    assert sheet.errors == ()
    assert sheet.header_row == 2
    (row,) = sheet.rows
    assert (row.row, row.fiscal_funding, row.self_funding) == (4, Decimal("500000.00"), Decimal("15000.00"))
    assert (row.pi_phone, row.pi_email) == ("13800000000", "a@b.cn")


def test_unit_note_above_the_header_sets_the_unit(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["2025年立项清单"])
    ws.append([None, None, None, None, None, None, None, "单位：元"])
    ws.append(HEADERS)
    ws.append(good_row(fiscal=800000))
    sheet = read_award_list("a.xlsx", save(tmp_path, wb))
    assert sheet.errors == ()
    assert sheet.rows[0].fiscal_funding == Decimal("800000.00")


def test_a_large_bare_amount_without_a_unit_is_questioned(tmp_path):
    sheet = read_award_list("a.xlsx", simple(tmp_path, good_row(fiscal=1200000), good_row("B", fiscal="1200000元")))
    (error,) = sheet.errors
    assert (error.row, error.column, error.cell) == (2, "财政资助", "H2")
    assert "万元" in error.message and "（元）" in error.message


def test_formula_with_a_cached_result_is_read(tmp_path):
    data = simple(tmp_path, good_row(fiscal="=50+50"))

    def cache(name, content):
        if name.startswith("xl/worksheets/"):
            return re.sub(rb"<f>50\+50</f><v\s*/>|<f>50\+50</f>(?:<v></v>)?", b"<f>50+50</f><v>100</v>", content)
        return content

    sheet = read_award_list("a.xlsx", rezip(data, cache))
    assert sheet.errors == ()
    assert sheet.rows[0].fiscal_funding == Decimal("1000000.00")


def test_example_row_and_repeated_header_are_skipped(tmp_path):
    data = simple(tmp_path, good_row("示例-001"), HEADERS, good_row(), ["一、重点项目"], good_row("B"))
    sheet = read_award_list("a.xlsx", data)
    assert sheet.errors == ()
    assert [r.project_code for r in sheet.rows] == ["2025ZD001", "B"]


# --- row errors ------------------------------------------------------------------------------------------------


def test_every_bad_row_is_reported_by_row_and_column(tmp_path):
    headers = [*HEADERS, "结束日期", "负责人邮箱", "实施期限"]
    rows = [
        [*good_row("P1"), None, None, None],  # row 2: fine
        [*good_row("P2", uscc=wrong_check(uscc())), None, None, None],  # row 3
        [*good_row("P3", fiscal=-5), None, None, None],  # row 4
        [*good_row("P4", fiscal="一百多万"), None, None, None],  # row 5
        [*good_row("P5", start="2025年2月30日"), None, None, None],  # row 6
        [*good_row("P1"), None, None, None],  # row 7: duplicate of row 2
        [*good_row("P7", pi=None, direction="  "), None, None, None],  # row 8: two empty required cells
        [*good_row("P8"), "2024-01-01", "not-an-email", "五十年"],  # row 9: three problems
        [*good_row("P9", fiscal="abc", start="明天"), None, None, None],  # row 10
    ]
    sheet = read_award_list("a.xlsx", simple(tmp_path, *rows, headers=headers))
    assert sheet.rows == ()
    found = [(e.row, e.column) for e in sheet.errors]
    assert found == [
        (3, "统一社会信用代码"), (4, "财政资助"), (5, "财政资助"), (6, "任务书签订日期"), (7, "项目编号"),
        (8, "方向"), (8, "项目负责人"), (9, "负责人邮箱"), (9, "实施期限"), (9, "结束日期"),
        (10, "任务书签订日期"), (10, "财政资助"),
    ]
    by_place = {(e.row, e.column): e for e in sheet.errors}
    check = uscc_check_char(uscc()[:17])
    assert str(by_place[3, "统一社会信用代码"]) == f"第3行 统一社会信用代码：校验位错误（应为 {check}）"
    assert by_place[3, "统一社会信用代码"].cell == "E3"
    assert "负数" in by_place[4, "财政资助"].message
    assert "不是有效的金额" in by_place[5, "财政资助"].message
    assert by_place[6, "任务书签订日期"].message == "日期不存在：2025年2月30日"
    assert by_place[7, "项目编号"].message == "项目编号“P1”重复（与第2行相同）"
    assert by_place[8, "项目负责人"].message == "必填，不能为空"
    assert "早于开始日期" in by_place[9, "结束日期"].message
    assert all(CJK.search(e.message) for e in sheet.errors)


def test_text_cells_that_are_too_long_or_odd_types(tmp_path):
    sheet = read_award_list("a.xlsx", simple(tmp_path, good_row(title="长" * 501), good_row("B", org=True),
                                              good_row("C", direction="#N/A")))
    messages = {(e.row, e.column): e.message for e in sheet.errors}
    assert "内容过长" in messages[2, "项目名称"]
    assert "逻辑值" in messages[3, "承担单位"]
    assert "错误值 #N/A" in messages[4, "方向"]


def test_missing_required_columns_are_file_errors(tmp_path):
    headers = [h for h in HEADERS if h not in ("统一社会信用代码", "财政资助")]
    sheet = read_award_list("a.xlsx", simple(tmp_path, good_row()[:6], headers=headers))
    assert sheet.rows == ()
    messages = [str(e) for e in sheet.errors]
    assert len(messages) == 2
    assert "缺少必填列“统一社会信用代码”" in messages[0]
    assert "缺少必填列“财政资助”" in messages[1]
    assert all(e.row is None for e in sheet.errors)


def test_two_columns_naming_the_same_field_are_refused(tmp_path):
    sheet = read_award_list("a.xlsx", simple(tmp_path, good_row(), headers=[*HEADERS, "项目名称"]))
    assert "两列都是“项目名称”" in file_level(sheet)


def test_a_less_specific_alias_gives_way(tmp_path):
    # "编号" (a numbering column here) and "项目编号": the canonical name wins, the other is ignored.
    sheet = read_award_list("a.xlsx", simple(tmp_path, [1, *good_row()], headers=["编号", *HEADERS]))
    assert sheet.errors == ()
    assert sheet.rows[0].project_code == "2025ZD001"


def test_header_without_data_is_an_error(tmp_path):
    message = file_level(read_award_list("a.xlsx", simple(tmp_path, [], [None, " "])))
    assert "没有项目数据" in message


def test_error_list_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(awards, "MAX_ERRORS", 3)
    rows = [good_row(f"P{n}", fiscal=-1) for n in range(6)]
    sheet = read_award_list("a.xlsx", simple(tmp_path, *rows))
    assert len(sheet.errors) == 4
    assert sheet.errors[-1].message == "另有 3 处错误未列出（只列出前 3 处）"


def test_too_many_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(awards, "MAX_ROWS", 3)
    sheet = read_award_list("a.xlsx", simple(tmp_path, *[good_row(f"P{n}") for n in range(5)]))
    assert "超过 3 行" in file_level(sheet)


def test_too_many_used_columns_in_the_award_sheet(tmp_path):
    row = [*good_row(), *(["x"] * 250)]
    message = file_level(read_award_list("a.xlsx", simple(tmp_path, row)))
    assert "第2行使用了 258 列" in message


def test_row_error_strings():
    assert str(RowError(8, "统一社会信用代码", "校验位错误（应为 K）")) == "第8行 统一社会信用代码：校验位错误（应为 K）"
    assert str(RowError(3, None, "数据有误")) == "第3行 数据有误"
    assert str(RowError(None, None, "文件为空")) == "文件为空"


# --- hostile files ---------------------------------------------------------------------------------------------


def _xlsm(valid: bytes) -> bytes:
    def add_macro(name, content):
        if name == "[Content_Types].xml":
            return content.replace(b"spreadsheetml.sheet.main+xml", b"spreadsheetml.sheet.main+xml")
        return content

    data = rezip(valid, add_macro)
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    return out.getvalue()


def _macro_content_type(valid: bytes) -> bytes:
    def change(name, content):
        if name == "[Content_Types].xml":
            return content.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                   b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        return content

    return rezip(valid, change)


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org'
                         '/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application'
                         '/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b" " * (8 * 1024 * 1024) + b"</worksheet>")
    return out.getvalue()


def _wide(tmp_path: Path) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("宽表")
    ws.append(HEADERS + [f"列{n}" for n in range(10_000 - len(HEADERS))])
    ws.append(good_row())
    return save(tmp_path, wb, "wide.xlsx")


def _dtd(valid: bytes) -> bytes:
    def change(name, content):
        if name == "xl/workbook.xml":
            content = re.sub(rb"^<\?xml[^>]*\?>", b"", content)
            return b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]>' + content
        return content

    return rezip(valid, change)


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org'
                         '/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application'
                         '/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return out.getvalue()


def _wrong_sheets(tmp_path: Path) -> bytes:
    wb = Workbook()
    wb.active.title = "预算表"
    wb.active.append(["科目", "金额", "备注"])
    wb.active.append(["设备费", 100, None])
    wb.create_sheet("Sheet2").append(["随便", "写点"])
    return save(tmp_path, wb, "wrong.xlsx")


HOSTILE = {
    "empty": (lambda valid, tmp: b"", "文件为空"),
    "random bytes": (lambda valid, tmp: random.Random(7).randbytes(5000), "无法识别"),
    "csv renamed": (lambda valid, tmp: "项目编号,项目名称\nP1,项目\n".encode(), "CSV"),
    "gbk csv renamed": (lambda valid, tmp: "项目编号,项目名称\r\nP1,项目\r\n".encode("gbk"), "CSV"),
    "html renamed": (lambda valid, tmp: b"<html><table><tr><td>1</td></tr></table></html>", "HTML"),
    "ole .xls": (lambda valid, tmp: xlsx_guard.OLE_MAGIC + b"\0" * 2000, ".xls"),
    "zip of something else": (lambda valid, tmp: _plain_zip(), "没有 [Content_Types].xml"),
    "docx renamed": (lambda valid, tmp: _docx(), "Word"),
    "xlsm with vbaProject.bin": (lambda valid, tmp: _xlsm(valid), "宏"),
    "macro-enabled content type": (lambda valid, tmp: _macro_content_type(valid), ".xlsm"),
    "zip bomb": (lambda valid, tmp: _zip_bomb(), "压缩炸弹"),
    "10,000 columns": (lambda valid, tmp: _wide(tmp), "超出第 1000 列"),
    "wrong sheets": (lambda valid, tmp: _wrong_sheets(tmp), "没有找到立项清单的表头"),
    "truncated": (lambda valid, tmp: valid[: len(valid) // 2], "损坏"),
    "DTD": (lambda valid, tmp: _dtd(valid), "DTD"),
    "dropped workbook part": (lambda valid, tmp: rezip(valid, lambda n, c: None if n == "xl/workbook.xml" else c),
                              "损坏"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_files_get_a_chinese_file_level_error(kind, tmp_path):
    valid = simple(tmp_path, good_row())
    build, words = HOSTILE[kind]
    data = build(valid, tmp_path)
    assert len(data) < 2 * 1024 * 1024  # small on disk, whatever they claim to hold
    message = file_level(read_award_list("立项清单.xlsx", data))
    assert words in message, message


def test_zip_bomb_ratio_is_huge_but_file_is_small():
    data = _zip_bomb()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size / info.compress_size > 500
    assert len(data) < 64 * 1024


def test_total_uncompressed_and_entry_limits(tmp_path, monkeypatch):
    valid = simple(tmp_path, good_row())
    monkeypatch.setattr(xlsx_guard, "MAX_UNCOMPRESSED_BYTES", 1000)
    assert "解压后超过" in file_level(read_award_list("a.xlsx", valid))
    monkeypatch.undo()
    monkeypatch.setattr(xlsx_guard, "MAX_ZIP_ENTRIES", 3)
    assert "部件" in file_level(read_award_list("a.xlsx", valid))
    monkeypatch.undo()
    monkeypatch.setattr(xlsx_guard, "MAX_FILE_BYTES", 100)
    assert "文件过大" in file_level(read_award_list("a.xlsx", valid))


def test_xlsm_file_name_is_refused(tmp_path):
    assert ".xlsm" in file_level(read_award_list("a.xlsm", simple(tmp_path, good_row())))


def test_formula_without_cached_value_names_the_cell(tmp_path):
    sheet = read_award_list("a.xlsx", simple(tmp_path, good_row(fiscal="=SUM(1,2)"), good_row("B", title="=A2")))
    assert sheet.rows == ()
    assert [(e.row, e.column, e.cell, e.message) for e in sheet.errors] == [
        (2, "财政资助", "H2", "该单元格是公式且没有计算结果，请粘贴为数值"),
        (3, "项目名称", "B3", "该单元格是公式且没有计算结果，请粘贴为数值"),
    ]


def test_a_row_of_uncached_formulas_is_not_taken_for_blank(tmp_path):
    row = ["=A1"] * len(HEADERS)
    sheet = read_award_list("a.xlsx", simple(tmp_path, good_row(), row))
    assert {e.row for e in sheet.errors} == {3}
    assert len(sheet.errors) == len(HEADERS)


def test_guard_accepts_a_plain_workbook_and_notes_formulas(tmp_path):
    assert xlsx_guard.check_xlsx("a.xlsx", simple(tmp_path, good_row())) == xlsx_guard.XlsxCheck(None, False)
    with_formula = simple(tmp_path, good_row(fiscal="=1+1"), name="f.xlsx")
    assert xlsx_guard.check_xlsx("f.xlsx", with_formula) == xlsx_guard.XlsxCheck(None, True)


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory) -> bytes:
    tmp = tmp_path_factory.mktemp("fuzz")
    return simple(tmp, good_row(), good_row("B", fiscal="120万元", start="2025年3月1日"))


def _sheet_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


@pytest.mark.slow  # fuzzing
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=0, max_size=4)),
                      min_size=1, max_size=6),
       inside=st.booleans())
def test_mutated_files_never_raise(valid_bytes, edits, inside):
    """Random byte edits of the archive, or of the sheet XML re-zipped with valid CRCs: a result, never a raise."""
    target = bytearray(_sheet_xml(valid_bytes) if inside else valid_bytes)
    for where, replacement in edits:
        at = int(where * len(target))
        target[at: at + len(replacement) or at + 1] = replacement
    if inside:
        data = rezip(valid_bytes, lambda name, content: bytes(target) if name == "xl/worksheets/sheet1.xml"
                     else content)
    else:
        data = bytes(target)
    sheet = read_award_list("fuzz.xlsx", data)
    assert isinstance(sheet, AwardSheet)
    assert sheet.errors or sheet.rows
    if sheet.errors:
        assert sheet.rows == ()
        assert all(isinstance(e, RowError) and CJK.search(e.message) for e in sheet.errors)


# --- cell parsers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "multiplier", "yuan"), [
    (120, awards.WAN, "1200000.00"), (85.5, awards.WAN, "855000.00"), ("1,200", awards.WAN, "12000000.00"),
    ("120万元", awards.WAN, "1200000.00"), ("1.2亿元", awards.WAN, "120000000.00"), ("８５.５", awards.WAN, "855000.00"),
    ("800元", awards.WAN, "800.00"), (800, Decimal(1), "800.00"), ("￥1,200.5", Decimal(1), "1200.50"),
    ("120万元整", awards.WAN, "1200000.00"), ("0", awards.WAN, "0.00"), (0.1 + 0.2, awards.WAN, "3000.00"),
    ("一百二十万元", awards.WAN, "1200000.00"), (33.333333, awards.WAN, "333333.33"),
])
def test_amounts(raw, multiplier, yuan):
    assert parse_amount(raw, multiplier) == Decimal(yuan)


@pytest.mark.parametrize(("raw", "words"), [
    (-5, "负数"), ("-5", "负数"), ("（5）", "负数"), ("abc", "不是有效的金额"), ("万元", "不是有效的金额"),
    ("1.2E6", "不是有效的金额"), (True, "不是有效的金额"), (float("nan"), "不是有效的金额"),
    (datetime(2025, 1, 1), "不是有效的金额"), ("2e9万元", "不是有效的金额"), ("9999亿亿元", "金额过大"),
    (10 ** 9, "金额过大"),
])
def test_bad_amounts(raw, words):
    with pytest.raises(_CellProblem, match=words):
        parse_amount(raw, awards.WAN)


@pytest.mark.parametrize("raw", [
    datetime(2025, 3, 1, 0, 0), date(2025, 3, 1), 45717, 45717.0, 20250301, "2025年3月1日", "2025.3.1",
    "2025/3/1", "2025-03-01", "2025-03-01 00:00:00", "2025-03-01T08:30", "２０２５年３月１日", "2025 年 3 月 1 日",
    "20250301", "2025-3-1", "2025年03月01号",
])
def test_dates(raw):
    assert parse_date(raw) == date(2025, 3, 1)


@pytest.mark.parametrize(("raw", "words"), [
    ("2025年2月30日", "日期不存在"), ("2025.13.1", "日期不存在"), ("1899-12-31", "超出合理范围"),
    ("2025年3月", "不是有效的日期"), ("明天", "不是有效的日期"), (120, "不是有效的日期"), (True, "不是有效的日期"),
    (20251301, "日期不存在"), ("25.3.1", "不是有效的日期"), (float("inf"), "不是有效的日期"),
])
def test_bad_dates(raw, words):
    with pytest.raises(_CellProblem, match=words):
        parse_date(raw)


def test_serial_dates_follow_the_1904_epoch():
    assert parse_date(45717 - 1462, datetime(1904, 1, 1)) == date(2025, 3, 1)


@pytest.mark.parametrize(("raw", "unit", "months"), [
    ("3年", None, 36), ("三年", None, 36), ("24个月", None, 24), ("36月", None, 36), ("2年6个月", None, 30),
    ("1年半", None, 18), ("1.5年", None, 18), (3, None, 36), (24, None, 24), ("3", None, 36), (30, 1, 30),
    (2, 12, 24), ("3年（2025.3-2028.2）", None, 36), ("两年", None, 24),
])
def test_periods(raw, unit, months):
    assert parse_period(raw, unit) == months


@pytest.mark.parametrize(("raw", "words"), [
    ("五十年", "超出合理范围"), ("1.3年", "整月数"), (11, "没有单位"), ("不超过3年", "无法识别"), (0, "没有单位"),
])
def test_bad_periods(raw, words):
    with pytest.raises(_CellProblem, match=words):
        parse_period(raw, None)


@pytest.mark.parametrize(("raw", "items"), [
    ("1、3", ("1", "3")), ("1,3", ("1", "3")), ("１，３", ("1", "3")), ("①③", ("1", "3")), ("（一）、（三）", ("1", "3")),
    ("第2项", ("2",)), (2, ("2",)), (2.0, ("2",)), ("1 3", ("1", "3")), ("3、1、3", ("3", "1")),
    ("研究内容1；研究内容2", ("1", "2")), ("智能感知", ("智能感知",)),
])
def test_content_items(raw, items):
    assert parse_content_items(raw) == items


@pytest.mark.parametrize(("text", "key"), [
    ("*项目编号", "project_code"), ("项目编号（必填）", "project_code"), ("编  号", "project_code"),
    ("项目\n名称", "title"), ("所属方向", "direction"), ("项目承担单位：", "organisation_name"),
    ("统一社会信用代码*", "uscc"), ("起始时间", "start_date"), ("任务书签订日期", "start_date"),
    ("财政资助（万元）", "fiscal_funding"), ("立项金额/万元", "fiscal_funding"), ("资助经费(元)", "fiscal_funding"),
    ("其中：自筹", "self_funding"), ("E-mail", "pi_email"), ("责任处室联系人", "officer"), ("实施期限（年）", "period_months"),
    ("序号", None), ("备注", None), ("研究内容", None),
])
def test_header_aliases(text, key):
    assert header_field(text) == key


def test_header_key_strips_marks_and_units():
    assert header_key(" ＊财政资助\n（单位：万元）") == "财政资助"
    assert header_key("资助金额万元") == "资助金额"


def test_aliases_are_unique_and_canonical_first():
    seen: set[str] = set()
    for spec in awards.FIELDS:
        assert spec.aliases[0] == header_key(spec.label)
        for alias in spec.aliases:
            assert alias == header_key(alias), alias
            assert alias not in seen, alias
            seen.add(alias)
