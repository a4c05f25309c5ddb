"""Award lists (立项清单) read from Excel into plain data: no database, all errors collected.

`read_award_list(name, data)` never raises for bad input: every problem comes back as a `RowError`, with the
row and the column for cell problems and neither for file problems, and `rows` is empty as soon as there is
one error (all-or-nothing, DESIGN §4).

Steps:
1. `imports.xlsx_guard.check_xlsx` looks at the bytes before openpyxl does (not an .xlsx, macros, zip bombs,
   DTDs, content beyond column 1,000) and says whether any worksheet holds formulas.
2. openpyxl opens the workbook with `read_only=True, data_only=True` (cached formula results, streaming).
   Sheet dimensions are reset, because a hostile `<dimension>` would otherwise make openpyxl pad every row
   to its width; the width actually used is checked row by row against MAX_COLUMNS.
3. The header is the row (or pair of rows, for a two-level header with merged cells: in a merged range only
   the top-left cell holds the text) among the first HEADER_SCAN_ROWS rows of any sheet whose texts match
   the most field aliases; a title row above it is skipped. Header texts are normalised (spaces, `*`,
   `（必填）`, `：`, bracketed notes and units removed) and looked up in ALIASES.
4. Formulas: with `data_only=True` a formula whose result was never computed (a file written by a program,
   not by Excel or WPS) reads as an empty cell. When the guard found formula elements, the sheet is read a
   second time without `data_only` and the cells that are formulas there and empty here are reported as
   "公式且没有计算结果". Formulas with a cached result are accepted with that result.
5. Each data row is parsed; blank rows, the template's example row (first cell "示例…"), a repeated header,
   totals (合计), group headings (一、…) and footers (填表人：…) are skipped.

Money: a bare number is in the column's unit: 元 when the header says 元, 万元 when it says 万元 or says
nothing (award lists are kept in 万元), unless a `单位：元` note above the header says otherwise; a number
written with its unit (`120万元`, `1.2亿元`, `800元`) is taken as written. Results are yuan, quantized to 分.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from imports.xlsx_guard import CORRUPT_FILE, XlsxRefused, formula_view, open_checked
from indicators.identifiers import uscc_problem
from indicators.reading.numbers import normalize_width, parse_cn_integer, parse_number

# --- limits --------------------------------------------------------------------------------------------------

MAX_ROWS = 20_000  # data rows per file: a programme awards hundreds; more is a wrong file (or split it)
MAX_COLUMNS = 200  # columns holding a value in any row; an award list has about 20
MAX_ROW_NUMBER = 1_048_576  # Excel's last row: a row numbered beyond it comes from a crafted file
HEADER_SCAN_ROWS = 20  # the header is searched this far down (title rows, notes and a blank row above it)
MIN_HEADER_FIELDS = 3  # a row matching fewer aliases is not taken for the header
MAX_ERRORS = 1_000  # listed errors; beyond that only counted, so a wrong file does not make a huge page
MAX_YUAN = Decimal(10) ** 12  # 1万亿元: no project is funded that much, so the cell or its unit is wrong
# A bare amount this large in a column whose header names no unit is read as 万元 = 10亿元 or more: almost
# certainly yuan written without saying so, so it is refused rather than multiplied by 10,000.
MAX_BARE_WAN_WITHOUT_UNIT = Decimal(100_000)
EARLIEST_DATE = date(1990, 1, 1)  # older dates in an award list are typos (or serial numbers of amounts)
LATEST_DATE = date(2100, 12, 31)
MAX_PERIOD_MONTHS = 120  # 实施期限 over ten years is a typo (guidelines say 2–5 years)
CENT = Decimal("0.01")
WAN = Decimal(10_000)
YI = Decimal(100_000_000)

# Field lengths: the database columns (tracker.models.projects / accounts) they end up in.
_MAX_LENGTH = {
    "project_code": 64, "title": 500, "direction": 500, "content_items": 200, "organisation_name": 200,
    "pi_name": 100, "pi_phone": 32, "pi_email": 254, "officer": 100, "funding_mode": 40,
}

# --- public data ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardRow:
    row: int  # 1-based Excel row number, for messages
    project_code: str  # 项目编号 (the key)
    title: str  # 项目名称
    direction: str  # 方向 as written: a title, or a path joined with " / ", "›" or ">"
    content_items: tuple[str, ...]  # 研究内容条目 ("1、3" → ("1", "3")); () when absent
    organisation_name: str  # 承担单位
    uscc: str  # 统一社会信用代码 (upper-cased, validated)
    pi_name: str  # 项目负责人
    pi_phone: str | None
    pi_email: str | None
    officer: str | None  # 项目管理专员: a username or a display name, as written
    start_date: date  # 任务书签订日期
    end_date: date | None
    period_months: int | None  # 实施期限
    fiscal_funding: Decimal  # yuan, 2 places
    self_funding: Decimal  # yuan, 2 places (0 when absent)
    funding_mode: str | None  # 资助方式 as written


@dataclass(frozen=True)
class RowError:
    row: int | None  # None for a file-level problem
    column: str | None  # the header as written in the file (or the field's Chinese name)
    message: str  # Chinese
    cell: str | None = None  # "E8", for highlighting in a preview

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        return f"第{self.row}行 {self.column}：{self.message}" if self.column else f"第{self.row}行 {self.message}"


@dataclass(frozen=True)
class AwardSheet:
    rows: tuple[AwardRow, ...]  # empty whenever `errors` is not
    errors: tuple[RowError, ...]
    sheet_name: str  # "" when no sheet was read
    header_row: int  # the (first) header row, 1-based; 0 when no header was found
    # The rows that read cleanly even when others did not, so that the loader can also check them against the
    # database and report every problem of the file at once.
    checked_rows: tuple[AwardRow, ...] = ()
    # Field → column letter of the header found, so that a problem found later names its cell.
    column_letters: dict[str, str] = field(default_factory=dict)


# --- fields and header aliases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    key: str  # the AwardRow attribute
    label: str  # the Chinese name used by the template and in messages
    required: bool
    aliases: tuple[str, ...]  # normalised header texts, best first (see header_key)


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("project_code", "项目编号", True,
              ("项目编号", "编号", "立项编号", "项目代码", "项目号", "任务书编号", "合同编号")),
    FieldSpec("title", "项目名称", True, ("项目名称", "名称", "课题名称", "项目题目", "项目全称")),
    FieldSpec("direction", "方向", True,
              ("方向", "支持方向", "所属方向", "指南方向", "申报方向", "项目方向", "研究方向", "专题方向",
               "所属指南方向", "方向名称", "指南方向名称", "申报指南方向")),
    FieldSpec("content_items", "研究内容条目", False,
              ("研究内容条目", "选择的研究内容", "所选研究内容", "研究内容编号", "研究内容序号", "内容条目")),
    FieldSpec("organisation_name", "承担单位", True,
              ("承担单位", "项目承担单位", "承担单位名称", "牵头单位", "项目牵头单位", "牵头承担单位",
               "申报单位", "依托单位", "单位名称")),
    FieldSpec("uscc", "统一社会信用代码", True,
              ("统一社会信用代码", "承担单位统一社会信用代码", "单位统一社会信用代码", "社会信用代码",
               "统一信用代码", "信用代码")),
    FieldSpec("pi_name", "项目负责人", True, ("项目负责人", "负责人", "项目负责人姓名", "负责人姓名")),
    FieldSpec("pi_phone", "负责人电话", False,
              ("负责人电话", "联系电话", "项目负责人电话", "负责人手机", "项目负责人手机", "负责人联系电话",
               "手机号码", "手机", "电话", "联系方式")),
    FieldSpec("pi_email", "负责人邮箱", False,
              ("负责人邮箱", "项目负责人邮箱", "电子邮箱", "邮箱", "电子邮件", "email", "e-mail")),
    FieldSpec("officer", "项目管理专员", False,
              ("项目管理专员", "管理专员", "项目专员", "责任处室联系人", "处室联系人", "项目主管")),
    FieldSpec("start_date", "任务书签订日期", True,
              ("任务书签订日期", "开始日期", "起始时间", "开始时间", "起始日期", "项目开始日期",
               "任务书签订时间", "签订日期", "立项日期", "执行开始日期")),
    FieldSpec("end_date", "结束日期", False,
              ("结束日期", "结束时间", "完成日期", "截止日期", "项目结束日期", "执行结束日期", "完成时间")),
    FieldSpec("period_months", "实施期限", False,
              ("实施期限", "实施周期", "项目周期", "执行期限", "执行期", "研究期限", "实施年限", "年限")),
    FieldSpec("fiscal_funding", "财政资助", True,
              ("财政资助", "资助经费", "立项金额", "财政资助经费", "财政资助金额", "财政经费", "资助金额",
               "财政资金", "财政拨款", "资助额度", "拟资助金额", "立项资助金额", "财政补助", "补助金额")),
    FieldSpec("self_funding", "自筹经费", False, ("自筹经费", "自筹资金", "单位自筹", "自筹", "自筹金额")),
    FieldSpec("funding_mode", "资助方式", False, ("资助方式", "补助方式", "支持方式", "资助类型", "资助形式")),
)
FIELD_BY_KEY = {spec.key: spec for spec in FIELDS}
REQUIRED_FIELDS = tuple(spec.key for spec in FIELDS if spec.required)
# normalised header text → (field key, rank of the alias: 0 is the canonical name)
ALIASES: dict[str, tuple[str, int]] = {
    alias: (spec.key, rank) for spec in FIELDS for rank, alias in enumerate(spec.aliases)
}
_AMOUNT_FIELDS = ("fiscal_funding", "self_funding")

_SPACE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_HAS_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_BRACKETED = re.compile(r"[（(【\[〔]([^）)】\]〕]*)[）)】\]〕]")
_UNIT_SUFFIX = re.compile(r"[/／]?(?:单位[:：]?)?(亿元|万元|元)$")
_LEADING = re.compile(r"^(?:其中|含)[:：]?")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_UNIT_WORD = re.compile(r"亿元|万元|(?<![\u3400-\u9fff])元")
_SHEET_UNIT = re.compile(r"单位[:：]\s*(亿元|万元|元)|[（(]\s*(亿元|万元|元)\s*[）)]")
_PERIOD_UNIT = re.compile(r"(?<![\u3400-\u9fff])(年|月)")


def _fold(text: str) -> str:
    """normalize_width, skipped for plain ASCII (most cells), which it would return unchanged."""
    return text if text.isascii() else normalize_width(text)


def _strip_invisible(text: str) -> str:
    # translate() looks every character up in a dict: a cost on each of a large list's cells, which seldom hold any.
    if text.isascii() or not _HAS_INVISIBLE.search(text):
        return text
    return text.translate(_INVISIBLE)


def header_key(text: str) -> str:
    """The normalised form of a header text that ALIASES is keyed by.

    `* 项目编号（必填）` → `项目编号`; `财政资助\\n（万元）` → `财政资助`; `其中：自筹` → `自筹`; `E-mail` → `e-mail`.
    """
    s = _SPACE.sub("", _fold(_strip_invisible(text)))
    s = s.replace("*", "").replace("＊", "").replace("※", "")
    s = _BRACKETED.sub("", s).strip(":：")
    s = _LEADING.sub("", s)
    s = _UNIT_SUFFIX.sub("", s)
    return s.lower()


def header_field(text: str) -> str | None:
    """The AwardRow field a header text names (`承担单位名称` → `organisation_name`), or None."""
    hit = ALIASES.get(header_key(text))
    return hit[0] if hit else None


def _unit_text(text: str) -> str:
    """The parts of a header that may state a unit: bracketed notes and a trailing `/万元`."""
    s = _SPACE.sub("", _fold(text))
    parts = [m.group(1) for m in _BRACKETED.finditer(s)]
    suffix = _UNIT_SUFFIX.search(_BRACKETED.sub("", s))
    if suffix:
        parts.append(suffix.group(1))
    return " ".join(parts)


def _money_unit(unit_text: str) -> Decimal | None:
    found = _UNIT_WORD.search(unit_text)
    if not found:
        return None
    return {"亿元": YI, "万元": WAN}.get(found.group(0), Decimal(1))


def _display_header(text: str) -> str:
    """A header as shown in messages: as written, without line breaks, spaces and required-marks."""
    s = _SPACE.sub("", _strip_invisible(text)).replace("*", "").replace("＊", "")
    for mark in ("（必填）", "(必填)", "（选填）", "(选填)"):
        s = s.replace(mark, "")
    return s or text.strip()


# --- errors --------------------------------------------------------------------------------------------------


class _CellProblem(Exception):
    """A cell value that cannot be used; the message is the Chinese reason."""


class _FileProblem(Exception):
    """A problem with the whole file; the message is the Chinese reason."""


UNCACHED_FORMULA = "该单元格是公式且没有计算结果，请粘贴为数值"


def _failed(*messages: str, sheet: str = "", header_row: int = 0) -> AwardSheet:
    return AwardSheet(rows=(), errors=tuple(RowError(None, None, m) for m in messages), sheet_name=sheet,
                      header_row=header_row)


# --- the entry point -----------------------------------------------------------------------------------------


def read_award_list(name: str, data: bytes) -> AwardSheet:
    """Read an award list uploaded as `name`; never raises for bad input (see the module docstring)."""
    try:
        with open_checked(name, data) as (workbook, has_formulas):
            return _read_workbook(workbook, data, has_formulas=has_formulas)
    except (XlsxRefused, _FileProblem) as problem:
        return _failed(str(problem))
    except Exception:  # noqa: BLE001 - openpyxl on a corrupt part raises anything (KeyError, TypeError, …)
        return _failed(CORRUPT_FILE)


# --- finding the header --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    index: int  # 0-based position in the row tuple
    key: str
    header: str  # for messages
    rank: int
    unit_text: str


@dataclass(frozen=True)
class _Header:
    sheet_index: int
    sheet: str
    row: int  # first header row, 1-based
    height: int  # 1, or 2 for a two-level header
    columns: dict[str, _Column]
    clashes: tuple[tuple[_Column, _Column], ...]  # two columns naming the same field equally well
    above: tuple[tuple[Any, ...], ...]  # the rows above the header (title, unit notes)

    @property
    def score(self) -> int:
        return len(self.columns)

    @property
    def data_start(self) -> int:
        return self.row + self.height


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _SPACE.sub(" ", _strip_invisible(str(value))).strip()
    return text or None


def _match(candidates: Sequence[tuple[int, list[str], str]]) -> tuple[dict[str, _Column], list]:
    """Columns named by header texts. Each candidate: (index, texts to try in order, unit text)."""
    columns: dict[str, _Column] = {}
    clashes: list[tuple[_Column, _Column]] = []
    for index, texts, unit_text in candidates:
        for text in texts:
            hit = ALIASES.get(header_key(text))
            if hit is None:
                continue
            column = _Column(index, hit[0], _display_header(text), hit[1], unit_text)
            other = columns.get(column.key)
            if other is None or column.rank < other.rank:
                columns[column.key] = column
            elif column.rank == other.rank:
                clashes.append((other, column))
            break
    clashes = [(a, b) for a, b in clashes if columns[a.key] is a]
    return columns, clashes


def _single_row(row: tuple[Any, ...]) -> tuple[dict[str, _Column], list]:
    candidates = []
    for index, value in enumerate(row):
        text = _cell_text(value)
        if text:
            candidates.append((index, [text], _unit_text(text)))
    return _match(candidates)


def _two_rows(top: tuple[Any, ...], bottom: tuple[Any, ...]) -> tuple[dict[str, _Column], list]:
    """A two-level header: `经费（万元）` merged over `财政资助 | 自筹`, `项目编号` merged down two rows.

    A merged cell's text sits in its top-left cell only, so a top-row text is carried right over the empty
    cells after it (the rest of a horizontal merge) for combining with the bottom row.
    """
    candidates = []
    parent = None
    for index in range(max(len(top), len(bottom))):
        own_top = _cell_text(top[index]) if index < len(top) else None
        child = _cell_text(bottom[index]) if index < len(bottom) else None
        if own_top:
            parent = own_top
        texts: list[str] = []
        if child:
            texts.append(child)
            if parent:
                texts.append(parent + child)
        elif own_top:
            texts.append(own_top)  # merged down over both rows
        if texts:
            units = " ".join(_unit_text(t) for t in (child, parent) if t)
            candidates.append((index, texts, units))
    return _match(candidates)


def _used_width(row: tuple[Any, ...]) -> int:
    for index in range(len(row) - 1, -1, -1):
        value = row[index]
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return index + 1
    return 0


def _too_wide(sheet: str, row_number: int, width: int) -> str:
    return (f"工作表“{sheet}”第{row_number}行使用了 {width} 列，超过上限 {MAX_COLUMNS} 列，"
            "不像立项清单；请删除多余的列后再上传")


def _find_header(workbook: Any) -> _Header:
    best: _Header | None = None
    wide: str | None = None
    names = []
    for sheet_index, ws in enumerate(workbook.worksheets):
        names.append(ws.title)
        ws.reset_dimensions()  # a crafted <dimension> would pad every row to its width
        scanned: list[tuple[Any, ...]] = []
        for row in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True):
            width = len(row) if len(row) <= MAX_COLUMNS else _used_width(row)
            if width > MAX_COLUMNS:
                wide = wide or _too_wide(ws.title, len(scanned) + 1, width)
                if best is not None and best.sheet_index == sheet_index:
                    raise _FileProblem(wide)
                break
            scanned.append(tuple(row))
            number = len(scanned)
            candidates = [(number, 1, *_single_row(scanned[-1]))]
            if number >= 2:
                candidates.append((number - 1, 2, *_two_rows(scanned[-2], scanned[-1])))
            for first, height, columns, clashes in candidates:
                header = _Header(sheet_index, ws.title, first, height, columns, tuple(clashes),
                                 tuple(scanned[: first - 1]))
                # More fields wins; then one header row over two; then the earlier sheet and row.
                if best is None or (header.score, -header.height) > (best.score, -best.height):
                    best = header
    if best is None or best.score < MIN_HEADER_FIELDS:
        if wide:
            raise _FileProblem(wide)
        if not names:
            raise _FileProblem("文件中没有工作表")
        sheets = "、".join(f"“{n}”" for n in names)
        raise _FileProblem(f"没有找到立项清单的表头：工作表{sheets}中都没有“项目编号”“项目名称”“统一社会信用代码”"
                           "等列名。请使用系统提供的立项清单模板填写")
    return best


def _header_problems(header: _Header) -> list[str]:
    problems = []
    for key in REQUIRED_FIELDS:
        if key not in header.columns:
            spec = FIELD_BY_KEY[key]
            others = "、".join(spec.aliases[1:5])
            problems.append(f"工作表“{header.sheet}”缺少必填列“{spec.label}”（也可写作：{others}）")
    for first, second in header.clashes:
        problems.append(f"工作表“{header.sheet}”第{header.row}行有两列都是“{FIELD_BY_KEY[first.key].label}”"
                        f"（{get_column_letter(first.index + 1)}列“{first.header}”和"
                        f"{get_column_letter(second.index + 1)}列“{second.header}”），请删除或改名其中一列")
    return problems


def _sheet_unit(header: _Header, column: _Column) -> Decimal | None:
    """A unit stated above the header: `单位：元` anywhere in a row above, or `（元）` in the cell above."""
    for row in header.above:
        parent = None
        for index, value in enumerate(row[: column.index + 1]):
            text = _cell_text(value)
            if text:
                parent = text
            if index == column.index and parent:
                found = _SHEET_UNIT.search(_SPACE.sub("", _fold(parent)))
                if found:
                    return _money_unit(found.group(1) or found.group(2))
        for value in row:
            text = _cell_text(value)
            if text and (found := re.search(r"单位[:：]\s*(亿元|万元|元)", _SPACE.sub("", text))):
                return _money_unit(found.group(1))
    return None


# --- reading the rows ----------------------------------------------------------------------------------------


@dataclass
class _Errors:
    items: list[RowError] = field(default_factory=list)
    hidden: int = 0

    def add(self, error: RowError) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(error)
        else:
            self.hidden += 1

    def result(self) -> tuple[RowError, ...]:
        if self.hidden:
            return (*self.items, RowError(None, None, f"另有 {self.hidden} 处错误未列出（只列出前 {MAX_ERRORS} 处）"))
        return tuple(self.items)


def _read_workbook(workbook: Any, data: bytes, *, has_formulas: bool) -> AwardSheet:
    header = _find_header(workbook)
    problems = _header_problems(header)
    if problems:
        return _failed(*problems, sheet=header.sheet, header_row=header.row)
    ws = workbook.worksheets[header.sheet_index]
    formulas = _uncached_formula_cells(data, header) if has_formulas else set()
    units = {key: _column_unit(header, header.columns[key]) for key in _AMOUNT_FIELDS if key in header.columns}
    rows, errors = _read_rows(ws.iter_rows(min_row=header.data_start, values_only=True), header, formulas,
                              units, workbook.epoch)
    letters = {key: get_column_letter(column.index + 1) for key, column in header.columns.items()}
    return AwardSheet(rows=() if errors else rows, errors=errors, sheet_name=header.sheet, header_row=header.row,
                      checked_rows=rows, column_letters=letters)


@dataclass(frozen=True)
class _Unit:
    multiplier: Decimal  # a bare number × this = yuan
    stated: bool  # the file says which unit (header or a note above it)


def _column_unit(header: _Header, column: _Column) -> _Unit:
    own = _money_unit(column.unit_text)
    if own is not None:
        return _Unit(own, True)
    above = _sheet_unit(header, column)
    if above is not None:
        return _Unit(above, True)
    return _Unit(WAN, False)


def _uncached_formula_cells(data: bytes, header: _Header) -> set[tuple[int, int]]:
    """(row, column index) of the formula cells in the header's columns, read without data_only.

    Only cells that are also empty in the data_only pass are reported, so formulas with a cached result
    pass. If this second reading fails (an exotic shared formula openpyxl cannot translate), nothing is
    reported and such cells are treated as empty.
    """
    found: set[tuple[int, int]] = set()
    indexes = [column.index for column in header.columns.values()]
    with formula_view(data) as workbook:
        if workbook is None:
            return found
        try:
            ws = workbook.worksheets[header.sheet_index]
            ws.reset_dimensions()
            for number, row in enumerate(ws.iter_rows(min_row=header.data_start, values_only=True),
                                         start=header.data_start):
                if number > MAX_ROW_NUMBER:
                    break
                for index in indexes:
                    value = row[index] if index < len(row) else None
                    if isinstance(value, ArrayFormula | DataTableFormula) or (
                            isinstance(value, str) and value.startswith("=")):
                        found.add((number, index))
        except Exception:  # noqa: BLE001 - a failure while streaming: do without the refinement
            return found
    return found


_TOTALS = frozenset({"合计", "总计", "小计", "合计:", "合计：", "总计：", "小计："})
_FOOTER = re.compile(r"^(?:注|说明|备注|填表人|填报人|审核人|制表人?|填报单位|填报日期|单位负责人|联系人|经办人)"
                     r"\s*[:：]")
_GROUP = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[)）])")
_ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                           "#SPILL!", "#CALC!"})
_PLACEHOLDERS = frozenset({"/", "-", "—", "——", "－", "无", "空", "N/A", "n/a", "NA"})


def _skip_reason(row: tuple[Any, ...], cells: dict[str, Any]) -> bool:
    """Rows that are not projects: the example row, a repeated header, totals, group headings, footers."""
    texts: list[str] = []
    for value in row:
        text = _cell_text(value)
        if text:
            texts.append(text)
            if len(texts) == 2:
                break
    if not texts:
        return False  # nothing but formulas without results: reported, not skipped
    first = texts[0]
    code = _cell_text(cells.get("project_code")) or ""
    if first.startswith("示例") or code.startswith("示例"):
        return True
    if first.replace(" ", "") in _TOTALS or _FOOTER.match(first):
        return True
    if len(texts) == 1 and _GROUP.match(first):
        return True
    if header_field(code) != "project_code":
        return False
    repeated = sum(1 for key, value in cells.items() if (text := _cell_text(value)) and header_field(text) == key)
    return repeated >= MIN_HEADER_FIELDS


def _read_rows(rows: Iterator[tuple[Any, ...]], header: _Header, formulas: set[tuple[int, int]],
               units: dict[str, _Unit], epoch: datetime) -> tuple[tuple[AwardRow, ...], tuple[RowError, ...]]:
    errors = _Errors()
    out: list[AwardRow] = []
    first_row_of: dict[str, int] = {}
    count = 0
    columns = header.columns
    for number, row in enumerate(rows, start=header.data_start):
        if number > MAX_ROW_NUMBER:
            errors.add(RowError(None, None, f"工作表“{header.sheet}”的行号超过 Excel 上限，文件已损坏"))
            break
        if not row:
            continue
        if len(row) > MAX_COLUMNS and (width := _used_width(row)) > MAX_COLUMNS:
            errors.add(RowError(None, None, _too_wide(header.sheet, number, width)))
            break
        cells = {key: (row[c.index] if c.index < len(row) else None) for key, c in columns.items()}
        pending = {key for key, c in columns.items() if (number, c.index) in formulas and cells[key] is None}
        if not pending and all(_is_blank(v) for v in cells.values()):
            continue
        if _skip_reason(row, cells):
            continue
        count += 1
        if count > MAX_ROWS:
            errors.add(RowError(None, None, f"数据超过 {MAX_ROWS} 行，请拆分为多个文件分别导入"))
            break
        parsed = _parse_row(number, cells, pending, header, units, epoch, errors)
        if parsed is None:
            continue
        key = parsed.project_code.casefold()
        if key in first_row_of:
            column = columns["project_code"]
            errors.add(RowError(number, column.header,
                                f"项目编号“{parsed.project_code}”重复（与第{first_row_of[key]}行相同）",
                                _cell_ref(column, number)))
            continue
        first_row_of[key] = number
        out.append(parsed)
    if count == 0 and not errors.items:
        errors.add(RowError(None, None, f"工作表“{header.sheet}”第{header.data_start - 1}行表头以下没有项目数据"))
    return tuple(out), errors.result()


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not _strip_invisible(value).strip())


def _cell_ref(column: _Column, row: int) -> str:
    return f"{get_column_letter(column.index + 1)}{row}"


def _parse_row(number: int, cells: dict[str, Any], pending: set[str], header: _Header, units: dict[str, _Unit],
               epoch: datetime, errors: _Errors) -> AwardRow | None:
    """One data row; every cell's problem goes to `errors`; None when there was any."""
    values: dict[str, Any] = {}
    failed = False

    for key, column in header.columns.items():
        raw = cells[key]
        try:
            if key in pending:
                raise _CellProblem(UNCACHED_FORMULA)
            values[key] = _parse_cell(key, raw, column, units, epoch)
        except _CellProblem as problem:
            failed = True
            errors.add(RowError(number, column.header, str(problem), _cell_ref(column, number)))

    start, end = values.get("start_date"), values.get("end_date")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        column = header.columns["end_date"]
        errors.add(RowError(number, column.header, f"结束日期（{end.isoformat()}）早于开始日期（{start.isoformat()}）",
                            _cell_ref(column, number)))
        failed = True
    if failed:
        return None
    return AwardRow(
        row=number,
        project_code=values["project_code"],
        title=values["title"],
        direction=values["direction"],
        content_items=values.get("content_items") or (),
        organisation_name=values["organisation_name"],
        uscc=values["uscc"],
        pi_name=values["pi_name"],
        pi_phone=values.get("pi_phone"),
        pi_email=values.get("pi_email"),
        officer=values.get("officer"),
        start_date=values["start_date"],
        end_date=values.get("end_date"),
        period_months=values.get("period_months"),
        fiscal_funding=values["fiscal_funding"],
        self_funding=values.get("self_funding") or Decimal("0.00"),
        funding_mode=values.get("funding_mode"),
    )


# --- cells ---------------------------------------------------------------------------------------------------


def _parse_cell(key: str, raw: Any, column: _Column, units: dict[str, _Unit], epoch: datetime) -> Any:
    if isinstance(raw, str):
        stripped = _strip_invisible(raw).strip()
        if stripped in _ERROR_VALUES:
            raise _CellProblem(f"单元格是错误值 {stripped}，请改为实际内容")
        if stripped in _PLACEHOLDERS:
            raw = None
    if _is_blank(raw):
        if FIELD_BY_KEY[key].required:
            raise _CellProblem("必填，不能为空")
        return None
    if key in _AMOUNT_FIELDS:
        return parse_amount(raw, units[key].multiplier, unit_stated=units[key].stated)
    if key in ("start_date", "end_date"):
        return parse_date(raw, epoch)
    if key == "period_months":
        return parse_period(raw, _period_unit(column.unit_text))
    if key == "content_items":
        items = parse_content_items(raw)
        _check_length(key, "、".join(items))
        return items
    if key == "uscc":
        code = _SPACE.sub("", _fold(str(raw))).upper()
        problem = uscc_problem(code)
        if problem:
            raise _CellProblem(problem.removeprefix("统一社会信用代码"))
        return code
    if key == "project_code":
        text = _SPACE.sub("", _fold(_plain_text(raw)))
    elif key == "pi_phone":
        text = _phone(raw)
    elif key == "pi_email":
        text = _email(raw)
    else:
        text = _CJK_GAP.sub("", _plain_text(raw))
    _check_length(key, text)
    return text


def _check_length(key: str, text: str) -> None:
    limit = _MAX_LENGTH.get(key)
    if limit and len(text) > limit:
        raise _CellProblem(f"内容过长（{len(text)} 个字符，最多 {limit} 个）")


def _plain_text(raw: Any) -> str:
    if isinstance(raw, bool):
        raise _CellProblem("应为文字，单元格却是逻辑值（TRUE/FALSE）")
    if isinstance(raw, datetime | date | time | timedelta):
        raise _CellProblem("应为文字，单元格却是日期或时间")
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _CellProblem("不是有效的内容")
        if raw.is_integer() and abs(raw) < 1e15:
            raw = int(raw)
    return _SPACE.sub(" ", _strip_invisible(str(raw))).strip()


_PHONE = re.compile(r"^\+?[\d\-\s()（）转#*,，/、;；]+$")


def _phone(raw: Any) -> str:
    text = _fold(_plain_text(raw))
    digits = sum(ch.isdigit() for ch in text)
    if not _PHONE.match(text) or digits < 5:
        raise _CellProblem(f"电话号码格式不正确：“{_shorten(text)}”")
    return text


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(raw: Any) -> str:
    text = _fold(_plain_text(raw)).replace("＠", "@").replace(" ", "")
    if not _EMAIL.match(text):
        raise _CellProblem(f"邮箱格式不正确：“{_shorten(text)}”")
    return text


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- amounts -------------------------------------------------------------------------------------------------

_CURRENCY = re.compile(r"^(?:人民币|RMB|CNY|¥|￥)|(?:人民币)$", re.IGNORECASE)
_MINUS = "-−－—"
AMOUNT_FORMS = "可写 120、1,200、85.5、120万元、1.2亿元"


def parse_amount(raw: Any, multiplier: Decimal = WAN, *, unit_stated: bool = True) -> Decimal:
    """Yuan (2 places) from a cell: a number in the column's unit (× `multiplier`), or text with its unit.

    `unit_stated` is False when the header named no unit and 万元 was assumed: then a bare number that
    would be 10亿元 or more is refused as probably written in yuan (MAX_BARE_WAN_WITHOUT_UNIT).
    Raises _CellProblem with the Chinese reason.
    """
    written_unit = False
    if isinstance(raw, bool | datetime | date | time | timedelta):
        raise _CellProblem(f"不是有效的金额（{AMOUNT_FORMS}）")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise _CellProblem(f"不是有效的金额（{AMOUNT_FORMS}）")
        number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        shown = repr(raw) if isinstance(raw, float) else str(raw)
    else:
        shown = _SPACE.sub("", _fold(_strip_invisible(str(raw))))
        text = _CURRENCY.sub("", shown).removesuffix("整")
        negative = False
        if text[:1] in _MINUS:
            negative, text = True, text[1:]
        elif text.startswith(("(", "（")) and text.endswith((")", "）")):
            negative, text = True, text[1:-1]  # accounting style: (5.00)
        if text.endswith("元"):
            text, written_unit = text[:-1], True
        if text.endswith(("万", "亿")):
            written_unit = True
            if len(text) == 1:
                text = ""
        parsed = parse_number(text) if text else None
        if parsed is None:
            raise _CellProblem(f"不是有效的金额：“{_shorten(shown)}”（{AMOUNT_FORMS}）")
        number = -parsed if negative else parsed
    if number < 0:
        raise _CellProblem(f"金额不能为负数：{_shorten(shown)}")
    if not written_unit and not unit_stated and multiplier == WAN and number >= MAX_BARE_WAN_WITHOUT_UNIT:
        raise _CellProblem(f"金额 {_shorten(shown)} 按万元计为 {number / WAN:,.0f} 亿元，明显过大；"
                           "若单位是元，请在表头注明“（元）”，或写成“…万元”")
    yuan = number if written_unit else number * multiplier
    if yuan > MAX_YUAN:
        raise _CellProblem(f"金额过大：{_shorten(shown)}（超过 1 万亿元，请检查单位）")
    try:
        return yuan.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:  # pragma: no cover - bounded above
        raise _CellProblem(f"不是有效的金额：“{_shorten(shown)}”") from exc


# --- dates ---------------------------------------------------------------------------------------------------

_DATE_TEXT = re.compile(
    r"^(\d{4})\s*(?:年|[./\-])\s*(\d{1,2})\s*(?:月|[./\-])\s*(\d{1,2})\s*(?:日|号)?"
    r"(?:[\sT]*\d{1,2}[:：]\d{2}(?:[:：]\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
DATE_FORMS = "可写 2025-03-01、2025年3月1日、2025.3.1、2025/3/1 或 Excel 日期"


def _checked(day: date, shown: str) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise _CellProblem(f"日期超出合理范围（{EARLIEST_DATE.year}–{LATEST_DATE.year}年）：{shown}")
    return day


def _from_parts(year: str, month: str, day: str, shown: str) -> date:
    try:
        value = date(int(year), int(month), int(day))
    except ValueError as exc:
        raise _CellProblem(f"日期不存在：{int(year)}年{int(month)}月{int(day)}日") from exc
    return _checked(value, shown)


def parse_date(raw: Any, epoch: datetime | None = None) -> date:
    """A date from a cell: an Excel date, a serial number, `20250301` or text in the forms of DATE_FORMS."""
    if isinstance(raw, datetime):
        return _checked(raw.date(), raw.date().isoformat())
    if isinstance(raw, date):
        return _checked(raw, raw.isoformat())
    if isinstance(raw, time | timedelta):
        raise _CellProblem("单元格是时间而不是日期，" + DATE_FORMS)
    if isinstance(raw, bool):
        raise _CellProblem("不是有效的日期，" + DATE_FORMS)
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise _CellProblem("不是有效的日期，" + DATE_FORMS)
        shown = str(raw) if isinstance(raw, int) else (str(int(raw)) if raw.is_integer() else repr(raw))
        compact = _DATE_COMPACT.match(shown)
        if compact:
            return _from_parts(*compact.groups(), shown)
        try:
            day = from_excel(raw, epoch) if epoch else from_excel(raw)
        except (ValueError, OverflowError, TypeError) as exc:
            raise _CellProblem(f"不是有效的日期：{shown}（{DATE_FORMS}）") from exc
        day = day.date() if isinstance(day, datetime) else day
        if not isinstance(day, date) or not EARLIEST_DATE <= day <= LATEST_DATE:
            raise _CellProblem(f"不是有效的日期：{shown}（{DATE_FORMS}）")
        return day
    shown = _SPACE.sub(" ", _fold(_strip_invisible(str(raw)))).strip()
    text = shown.replace("．", ".").replace("／", "/").replace("－", "-")
    for pattern in (_DATE_TEXT, _DATE_COMPACT):
        found = pattern.match(text)
        if found:
            return _from_parts(*found.groups(), _shorten(shown))
    raise _CellProblem(f"不是有效的日期：“{_shorten(shown)}”（{DATE_FORMS}）")


# --- period --------------------------------------------------------------------------------------------------

_PERIOD_TEXT = re.compile(r"^(?:(?P<years>[\d.]+|[零〇一二两三四五六七八九十]+)年(?:半)?)?"
                          r"(?:零)?(?:(?P<months>[\d.]+|[零〇一二两三四五六七八九十]+)个?月)?$")
PERIOD_FORMS = "可写 3年、36个月、2年6个月"


def _period_unit(unit_text: str) -> int | None:
    found = _PERIOD_UNIT.search(unit_text)
    if not found:
        return None
    return 1 if found.group(1) == "月" else 12


def _period_number(text: str) -> Decimal | None:
    number = parse_number(text)
    if number is None:
        cn = parse_cn_integer(text)
        number = Decimal(cn) if cn is not None else None
    return number


def parse_period(raw: Any, months_per_unit: int | None = None) -> int:
    """Months from `3年`, `三年`, `36个月`, `2年6个月`, `1年半`, or a bare number.

    A bare number is in the header's unit (`实施期限（月）`); without one, up to 10 is read as years and
    12–120 as months, and anything else is refused as ambiguous.
    """
    if isinstance(raw, bool | datetime | date | time | timedelta):
        raise _CellProblem(f"不是有效的实施期限（{PERIOD_FORMS}）")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise _CellProblem(f"不是有效的实施期限（{PERIOD_FORMS}）")
        number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        shown = str(raw)
        if months_per_unit is None:
            if 0 < number <= 10:
                months_per_unit = 12
            elif 12 <= number <= MAX_PERIOD_MONTHS:
                months_per_unit = 1
            else:
                raise _CellProblem(f"实施期限“{shown}”没有单位，无法判断是年还是月（{PERIOD_FORMS}）")
        months = number * months_per_unit
    else:
        shown = _SPACE.sub("", _fold(_strip_invisible(str(raw))))
        text = _BRACKETED.sub("", shown)
        found = _PERIOD_TEXT.match(text)
        number = _period_number(text)
        if number is not None and months_per_unit is not None:
            months = number * months_per_unit
        elif found and (found.group("years") or found.group("months")):
            years = _period_number(found.group("years")) if found.group("years") else Decimal(0)
            extra = _period_number(found.group("months")) if found.group("months") else Decimal(0)
            if years is None or extra is None:
                raise _CellProblem(f"无法识别实施期限“{_shorten(shown)}”（{PERIOD_FORMS}）")
            if "年半" in text:
                years += Decimal("0.5")
            months = years * 12 + extra
        elif number is not None:
            return parse_period(float(number), None)
        else:
            raise _CellProblem(f"无法识别实施期限“{_shorten(shown)}”（{PERIOD_FORMS}）")
    if months != months.to_integral_value():
        raise _CellProblem(f"实施期限应为整月数：“{_shorten(shown)}”")
    if not 0 < months <= MAX_PERIOD_MONTHS:
        raise _CellProblem(f"实施期限超出合理范围（1–{MAX_PERIOD_MONTHS} 个月）：“{_shorten(shown)}”")
    return int(months)


# --- content items -------------------------------------------------------------------------------------------

_ITEM_SEPARATORS = re.compile(r"[、,，;；/\n]+")
_CIRCLED = {chr(0x2460 + i): str(i + 1) for i in range(20)}  # ①…⑳
_CIRCLED.update({chr(0x2474 + i): str(i + 1) for i in range(20)})  # ⑴…⒇
_CIRCLED.update({chr(0x2488 + i): str(i + 1) for i in range(20)})  # ⒈…⒛
_ITEM_WRAP = re.compile(r"^(?:研究内容|内容)?第?[（(\[【]?(.+?)[）)\]】]?[项条.．、]?$")


def _item(token: str) -> str:
    token = token.strip()
    if token in _CIRCLED:
        return _CIRCLED[token]
    inner = _ITEM_WRAP.match(token)
    core = inner.group(1) if inner else token
    if core.isdigit():
        return str(int(core))
    cn = parse_cn_integer(core)
    if cn is not None:
        return str(cn)
    return token


def parse_content_items(raw: Any) -> tuple[str, ...]:
    """`1、3` → ("1", "3"); `①③` → ("1", "3"); `第2项，（三）` → ("2", "3"); other text is kept as written."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return (_plain_text(raw),)
    text = _fold(_plain_text(raw))
    tokens: list[str] = []
    for part in _ITEM_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        if all(ch in _CIRCLED for ch in part.replace(" ", "")):
            tokens.extend(ch for ch in part if ch != " ")
        elif " " in part and all(piece.isdigit() for piece in part.split()):
            tokens.extend(part.split())
        else:
            tokens.append(part)
    seen: dict[str, None] = {}
    for token in tokens:
        seen.setdefault(_item(token), None)
    return tuple(seen)
