"""A quarterly progress report uploaded as Excel, read back into the `ReportInput` the web form builds.

The file is the one `tracker.exports.report_xlsx.report_workbook` wrote. This module checks that the file is
that file and still has its shape, and turns every cell into text; it does not judge the values: the service
(`tracker.services.reports.save_draft`) checks the result exactly as it checks the form, and `locate` turns the
keys of its `ReportProblems` back into sheet, row and column.

- `read_report_sheet(data, project=…, period=…, target_set=…, kept_evidence=[…])` → `ReportSheet` (the input,
  the errors, and which row each evidence item came from); `read_report_workbook` returns only the first two.
  Nothing raises for bad input. Whenever there is an error the input is None (nothing half-read is saved).
- File-level problems (`SheetError.row` is None): not a plain .xlsx (imports.xlsx_guard), not a file of this
  system, a file of another project or period, a file of an older task book, a missing sheet.
- Structural problems: an edited header or fixed label, a target row deleted, inserted or moved, content in
  a cell that does not apply to its target, an unknown evidence type, a formula without a cached result.
- Cells become text: numbers without an exponent (`1e-07` → `0.0000001`), 是/否 → "1"/"0", evidence type
  labels → kinds, 对应指标序号 n → target position n-1. Money stays as typed, in 万元 (`1.2亿元` too).
- Evidence items that carry a file cannot come from Excel: the caller passes them as `kept_evidence`
  (EvidenceInput with `file_id`), the file lists them as locked rows marked KEPT_MARK, and the reader puts each
  back where its row is (or at the end, when its row is gone), so saving from Excel never drops a file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from imports.xlsx_guard import CORRUPT_FILE, XlsxRefused, formula_view, open_checked
from indicators.evidence_ids import EVIDENCE_KINDS
from indicators.workdays import ReportingPeriod
from tracker.exports.report_xlsx import (
    COL_DONE,
    COL_EXPLANATION,
    COL_NOTE,
    COL_VALUE,
    COL_YEAR,
    EVIDENCE_HEADERS,
    FUND_HEADERS,
    KEPT_MARK,
    META_FORMAT,
    NO,
    SHEET_EVIDENCE,
    SHEET_FUNDS,
    SHEET_META,
    SHEET_TARGETS,
    SHEET_TEXT,
    TARGET_HEADERS,
    TEXT_HEADERS,
    VALUE_COLUMN,
    YES,
    applies,
    fund_rows,
    target_rows,
    text_rows,
)
from tracker.models import Project, ProjectTarget, TargetSet
from tracker.services.reports import FUND_FIELDS, FUND_LABELS, TEXT_FIELDS, EvidenceInput, ReportInput, ValueInput

MAX_ROWS = 500  # rows read per sheet: the template has at most about 130; content further down is refused
MAX_META_ROWS = 2_000
UNCACHED_FORMULA = "该单元格是公式且没有计算结果，请粘贴为数值"
NOT_OURS = "这个文件不是从本系统下载的进展报告模板（缺少识别信息），请在本期报告页面下载模板，填写后再上传"
NEW_TEMPLATE = "请在本期报告页面重新下载模板"
TARGETS_CHANGED = "任务书已更新，考核指标与下载模板时不同；" + NEW_TEMPLATE
ROWS_CHANGED = "请不要插入、删除或移动考核指标行；" + NEW_TEMPLATE
SHEET_ORDER = (SHEET_TARGETS, SHEET_FUNDS, SHEET_EVIDENCE, SHEET_TEXT)

_TRUE = frozenset({YES, "1", "已完成", "完成", "TRUE", "true", "√", "✓"})
_FALSE = frozenset({NO, "0", "未完成", "FALSE", "false", "×"})
_KIND_BY_LABEL = {label: kind for kind, label in EVIDENCE_KINDS.items()}


@dataclass(frozen=True)
class SheetError:
    sheet: str  # "" for a problem of the whole file
    row: int | None  # 1-based Excel row; None for the sheet or the file
    column: str | None  # the column header (or a short name of it)
    message: str  # Chinese
    cell: str | None = None  # "H5", for highlighting

    def __str__(self) -> str:
        where = " ".join(part for part in (self.sheet, f"第{self.row}行" if self.row else "", self.column or "")
                         if part)
        return f"{where}：{self.message}" if where else self.message


@dataclass(frozen=True)
class ReportSheet:
    report: ReportInput | None  # None whenever `errors` is not empty
    errors: list[SheetError]
    evidence_rows: dict[int, int] = field(default_factory=dict)  # ReportInput.evidence index → 佐证材料 row


class _FileProblem(Exception):
    """The whole file is refused; the message is the Chinese reason."""


# --- cells as text -----------------------------------------------------------------------------------


def plain(value: Decimal) -> str:
    """A number as text without an exponent or trailing zeros: `1E+2` → `100`, `1e-07` → `0.0000001`."""
    if not value.is_finite():
        return str(value)
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")


def cell_text(value: Any) -> str:
    """A cell as the text the service reads (numbers exactly as Excel shows them, without an exponent)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return plain(Decimal(str(value)))
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _label(value: Any) -> str:
    return " ".join(cell_text(value).split())


def _fixed(text: str) -> str:
    """A text as the writer stored it (characters XML cannot hold are dropped), for comparing labels."""
    return " ".join(ILLEGAL_CHARACTERS_RE.sub("", text).split())


def _integer(value: Any) -> int | None:
    text = cell_text(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return int(number) if number.is_finite() and number == number.to_integral_value() else None


def _done(value: Any) -> str:
    if value is True or value is False:
        return "1" if value else "0"
    text = cell_text(value).strip()
    if not text:
        return ""
    if text in _TRUE:
        return "1"
    if text in _FALSE:
        return "0"
    return text  # the service answers "请选择是否已完成" under v{position}_done


# --- the workbook --------------------------------------------------------------------------------------


Grid = dict[str, list[tuple[Any, ...]]]
_WIDTHS = {SHEET_TARGETS: len(TARGET_HEADERS), SHEET_FUNDS: len(FUND_HEADERS),
           SHEET_EVIDENCE: len(EVIDENCE_HEADERS), SHEET_TEXT: len(TEXT_HEADERS), SHEET_META: 4}


def _cell(rows: list[tuple[Any, ...]], row: int, column: int) -> Any:
    """The value at a 1-based row and column of a sheet read into rows."""
    if row - 1 >= len(rows):
        return None
    values = rows[row - 1]
    return values[column - 1] if column - 1 < len(values) else None


def _read_grid(workbook: Any, *, data_only: bool) -> Grid:
    grid: Grid = {}
    for name, width in _WIDTHS.items():
        if name not in workbook.sheetnames:
            continue
        ws = workbook[name]
        ws.reset_dimensions()  # a crafted <dimension> would pad every row to its width
        limit = MAX_META_ROWS if name == SHEET_META else MAX_ROWS + 1
        grid[name] = [tuple(row) for row in ws.iter_rows(min_row=1, max_row=limit, max_col=width,
                                                         values_only=True)]
        if not data_only:
            continue
        # Content below the rows read: a file that is not (or no longer) the template.
        for number, row in enumerate(ws.iter_rows(min_row=limit + 1, max_row=limit + 1, max_col=width,
                                                  values_only=True), start=limit + 1):
            if any(cell_text(v).strip() for v in row):
                raise _FileProblem(f"工作表“{name}”第{number}行以下还有内容，超出模板的范围；{NEW_TEMPLATE}")
    return grid


def _formula_cells(data: bytes) -> dict[str, set[tuple[int, int]]]:
    """(row, column) of the formula cells of each sheet, read without data_only (cached values not wanted)."""
    found: dict[str, set[tuple[int, int]]] = {}
    with formula_view(data) as workbook:
        if workbook is None:
            return found
        try:
            for name, rows in _read_grid(workbook, data_only=False).items():
                for r, values in enumerate(rows, start=1):
                    for c, value in enumerate(values, start=1):
                        if isinstance(value, ArrayFormula | DataTableFormula) or (
                                isinstance(value, str) and value.startswith("=")):
                            found.setdefault(name, set()).add((r, c))
        except Exception:  # noqa: BLE001 - a failure while streaming: do without the refinement
            return found
    return found


@dataclass
class _Meta:
    values: dict[str, Any]
    targets: dict[int, int]  # row → position
    kept: list[tuple[int, int, str]]  # (row, evidence file id, marker text) of the kept evidence rows


def _meta(rows: list[tuple[Any, ...]]) -> _Meta:
    values: dict[str, Any] = {}
    targets: dict[int, int] = {}
    kept: list[tuple[int, int, str]] = []
    for row in rows:
        key = cell_text(row[0] if row else None).strip()
        if key == "target" and len(row) >= 3:
            r, position = _integer(row[1]), _integer(row[2])
            if r is not None and position is not None:
                targets[r] = position
        elif key == "kept" and len(row) >= 4:
            r, file_id = _integer(row[1]), _integer(row[2])
            if r is not None and file_id is not None:
                kept.append((r, file_id, cell_text(row[3])))
        elif key and len(row) >= 2:
            values[key] = row[1]
    return _Meta(values, targets, kept)


def _check_identity(meta: _Meta, project: Project, period: ReportingPeriod, target_set: TargetSet) -> None:
    if cell_text(meta.values.get("format")).strip() != META_FORMAT:
        raise _FileProblem(NOT_OURS)
    code = cell_text(meta.values.get("project_code")).strip()
    index = _integer(meta.values.get("period_index"))
    label = cell_text(meta.values.get("period_label")).strip()
    if code != project.code or index != period.index:
        raise _FileProblem(f"这个文件属于项目{code}的第{index}期报告（{label}），不是项目{project.code}的"
                           f"第{period.index}期报告（{period.label}）；请在本期报告页面下载模板后填写")
    expected = {row: position for position, row in target_rows(target_set).items()}
    if _integer(meta.values.get("target_set_id")) != target_set.id or meta.targets != expected:
        raise _FileProblem(TARGETS_CHANGED)


def read_report_sheet(data: bytes, *, project: Project, period: ReportingPeriod, target_set: TargetSet,
                      kept_evidence: Sequence[EvidenceInput], name: str = "进展报告.xlsx") -> ReportSheet:
    """Read an uploaded report file; never raises for bad input (see the module docstring)."""
    try:
        with open_checked(name, data) as (workbook, has_formulas):
            grid = _read_grid(workbook, data_only=True)
        if SHEET_META not in grid:
            raise _FileProblem(NOT_OURS)
        _check_identity(_meta(grid[SHEET_META]), project, period, target_set)
        formulas = _formula_cells(data) if has_formulas else {}
    except (XlsxRefused, _FileProblem) as problem:
        return ReportSheet(None, [SheetError("", None, None, str(problem))])
    except Exception:  # noqa: BLE001 - a corrupt part can make openpyxl raise anything while streaming
        return ReportSheet(None, [SheetError("", None, None, CORRUPT_FILE)])
    return _Reader(grid, formulas, _meta(grid[SHEET_META]), target_set, kept_evidence).read()


def read_report_workbook(data: bytes, *, project: Project, period: ReportingPeriod, target_set: TargetSet,
                         kept_evidence: Sequence[EvidenceInput]) -> tuple[ReportInput | None, list[SheetError]]:
    """`read_report_sheet` without the evidence rows: (the input or None, the errors)."""
    sheet = read_report_sheet(data, project=project, period=period, target_set=target_set,
                              kept_evidence=kept_evidence)
    return sheet.report, sheet.errors


class _Reader:
    def __init__(self, grid: Grid, formulas: dict[str, set[tuple[int, int]]], meta: _Meta, target_set: TargetSet,
                 kept_evidence: Sequence[EvidenceInput]) -> None:
        self.grid = grid
        self.formulas = formulas
        self.meta = meta
        self.targets = sorted(target_set.targets, key=lambda t: t.position)
        self.rows = target_rows(target_set)
        self.kept_evidence = list(kept_evidence)
        self.errors: list[SheetError] = []

    def error(self, sheet: str, row: int | None, column: int | None, headers: Sequence[str], message: str) -> None:
        name = headers[column - 1] if column is not None and column <= len(headers) else None
        cell = f"{chr(ord('A') + column - 1)}{row}" if column is not None and row is not None else None
        self.errors.append(SheetError(sheet, row, name, message, cell))

    def read(self) -> ReportSheet:
        missing = [name for name in SHEET_ORDER if name not in self.grid]
        for name in missing:
            self.errors.append(SheetError(name, None, None, f"缺少工作表“{name}”；{NEW_TEMPLATE}"))
        if missing:
            return ReportSheet(None, self.errors)
        headers = {SHEET_TARGETS: TARGET_HEADERS, SHEET_FUNDS: FUND_HEADERS, SHEET_EVIDENCE: EVIDENCE_HEADERS,
                   SHEET_TEXT: TEXT_HEADERS}
        for sheet, expected in headers.items():
            self._header(sheet, expected)
        self._uncached_formulas(headers)
        if self.errors:
            return ReportSheet(None, self.errors)
        self._target_rows()
        self._labels(SHEET_FUNDS, FUND_HEADERS, {row: FUND_LABELS[n] for n, row in fund_rows().items()})
        self._labels(SHEET_TEXT, TEXT_HEADERS, {row: TEXT_FIELDS[n] for n, row in text_rows().items()})
        if self.errors:
            return ReportSheet(None, self.errors)
        values = self._values()
        evidence, evidence_rows = self._evidence()
        rows = self.grid[SHEET_FUNDS]
        funds = {name: cell_text(_cell(rows, row, 2)).strip() for name, row in fund_rows().items()}
        rows = self.grid[SHEET_TEXT]
        texts = {name: cell_text(_cell(rows, row, 2)) for name, row in text_rows().items()}
        if self.errors:
            return ReportSheet(None, self.errors, evidence_rows)
        report = ReportInput(values=values, evidence=evidence, funds=funds, narrative=texts["narrative"],
                             problems=texts["problems"], next_steps=texts["next_steps"], edit_lock=None)
        return ReportSheet(report, [], evidence_rows)

    # --- shape --------------------------------------------------------------------------------------

    def _header(self, sheet: str, expected: Sequence[str]) -> None:
        rows = self.grid[sheet]
        for column, title in enumerate(expected, start=1):
            found = _label(_cell(rows, 1, column))
            if found != title:
                shown = f"“{found}”" if found else "空白"
                self.error(sheet, 1, column, expected, f"表头应为“{title}”，文件中是{shown}；请不要修改表头，"
                           f"或{NEW_TEMPLATE}")

    def _uncached_formulas(self, headers: Mapping[str, Sequence[str]]) -> None:
        for sheet, cells in self.formulas.items():
            if sheet not in headers:
                continue
            rows = self.grid[sheet]
            for row, column in sorted(cells):
                if _cell(rows, row, column) is None:
                    self.error(sheet, row, column, headers[sheet], UNCACHED_FORMULA)

    def _labels(self, sheet: str, headers: Sequence[str], expected: Mapping[int, str]) -> None:
        rows = self.grid[sheet]
        for row, label in expected.items():
            found = _label(_cell(rows, row, 1))
            if found != label:
                self.error(sheet, row, 1, headers, f"此处应为“{label}”，文件中是“{found}”；请不要修改、插入或"
                           f"删除行，或{NEW_TEMPLATE}")

    def _target_rows(self) -> None:
        """Each target still in its row (序号 and 考核指标 as written), and nothing below the last one."""
        rows = self.grid[SHEET_TARGETS]
        found: dict[tuple[int | None, str], int] = {}
        for row in range(2, len(rows) + 1):
            key = (_integer(_cell(rows, row, 1)), _label(_cell(rows, row, 3)))
            found.setdefault(key, row)
        for target in self.targets:
            row = self.rows[target.position]
            key = (target.position + 1, _fixed(target.metric))
            if (_integer(_cell(rows, row, 1)), _label(_cell(rows, row, 3))) == key:
                continue
            elsewhere = found.get(key)
            number = target.position + 1
            if elsewhere is not None:
                self.error(SHEET_TARGETS, elsewhere, 3, TARGET_HEADERS,
                           f"第{number}项考核指标“{target.metric}”应在第{row}行，现在在第{elsewhere}行；{ROWS_CHANGED}")
            else:
                self.error(SHEET_TARGETS, row, 3, TARGET_HEADERS,
                           f"第{number}项考核指标“{target.metric}”的行已被删除或修改；{ROWS_CHANGED}")
        last = len(self.targets) + 1
        for row in range(last + 1, len(rows) + 1):
            if any(cell_text(v).strip() for v in rows[row - 1]):
                self.error(SHEET_TARGETS, row, None, TARGET_HEADERS,
                           f"这一行不是任务书中的考核指标（共{len(self.targets)}项）；{ROWS_CHANGED}")

    # --- content ------------------------------------------------------------------------------------

    def _values(self) -> dict[int, ValueInput]:
        rows = self.grid[SHEET_TARGETS]
        values: dict[int, ValueInput] = {}
        for target in self.targets:
            row = self.rows[target.position]
            cells = {column: _cell(rows, row, column) for column in (COL_VALUE, COL_YEAR, COL_DONE,
                                                                     COL_EXPLANATION, COL_NOTE)}
            for column, ok in applies(target).items():
                if not ok and cell_text(cells[column]).strip():
                    self.error(SHEET_TARGETS, row, column, TARGET_HEADERS, _not_applicable(target, column))
            ok = applies(target)
            values[target.position] = ValueInput(
                value=cell_text(cells[COL_VALUE]).strip() if ok[COL_VALUE] else "",
                year_value=cell_text(cells[COL_YEAR]).strip() if ok[COL_YEAR] else "",
                done=_done(cells[COL_DONE]) if ok[COL_DONE] else "",
                explanation=cell_text(cells[COL_EXPLANATION]),
                note=cell_text(cells[COL_NOTE]),
            )
        return values

    def _evidence(self) -> tuple[list[EvidenceInput], dict[int, int]]:
        rows = self.grid[SHEET_EVIDENCE]
        by_file = {item.file_id: item for item in self.kept_evidence if item.file_id is not None}
        placed: set[int] = set()
        evidence: list[EvidenceInput] = []
        evidence_rows: dict[int, int] = {}
        for row in range(2, len(rows) + 1):
            cells = [_cell(rows, row, column) for column in range(1, len(EVIDENCE_HEADERS) + 1)]
            mark = cell_text(cells[4])
            if mark.startswith(KEPT_MARK):
                file_id = self._kept_file(row, mark, placed)
                item = by_file.get(file_id) if file_id is not None else None
                if item is not None:
                    placed.add(file_id)
                    evidence_rows[len(evidence)] = row
                    evidence.append(item)
                continue  # a file removed on the web page since the download stays removed
            if not any(cell_text(v).strip() for v in cells[:4]):
                continue
            label = _label(cells[0])
            kind = _KIND_BY_LABEL.get(label, label if label in EVIDENCE_KINDS else None)
            if kind is None and label:
                self.error(SHEET_EVIDENCE, row, 1, EVIDENCE_HEADERS,
                           f"材料类型“{label}”不在列表中，请从下拉列表选择（{'、'.join(EVIDENCE_KINDS.values())}）")
                continue
            evidence_rows[len(evidence)] = row
            evidence.append(EvidenceInput(kind=kind or "", identifier=cell_text(cells[1]).strip(),
                                          description=cell_text(cells[2]).strip(), target=_target(cells[3])))
        for item in self.kept_evidence:
            if item.file_id is None or item.file_id not in placed:
                evidence.append(item)  # its row was deleted in Excel: the file is kept all the same
        return evidence, evidence_rows

    def _kept_file(self, row: int, mark: str, placed: set[int]) -> int | None:
        """The file of a kept row: the one written with this marker text, in this row if rows did not move."""
        candidates = [(r, file_id) for r, file_id, text in self.meta.kept if text == mark and file_id not in placed]
        same_row = [file_id for r, file_id in candidates if r == row]
        if same_row:
            return same_row[0]
        return candidates[0][1] if candidates else None


def _target(value: Any) -> str:
    """对应指标序号 n (1-based, as shown) → the target position n-1 as text; other text as typed."""
    text = cell_text(value).strip()
    number = _integer(text) if text else None
    return str(number - 1) if number is not None else text


def _not_applicable(target: ProjectTarget, column: int) -> str:
    if column == COL_VALUE:
        if target.kind == "deliverable":
            return "交付型指标不填数值，请在“是否完成”列选择“是”或“否”"
        return "定性指标由专家评价，不填数值；进展情况可写在“备注”列"
    if column == COL_YEAR:
        return "只有单位以“/年”结尾的指标填写本项目年度值，该指标不填"
    return "只有交付型指标填写“是否完成”，该指标不填"


# --- service errors back to cells ------------------------------------------------------------------------

_VALUE_KEY = re.compile(r"v(-?\d+)_(value|year_value|done|explanation)")
_EVIDENCE_KEY = re.compile(r"e(\d+)_(kind|identifier|target|description|file)")
_VALUE_COLUMNS = {"year_value": TARGET_HEADERS[COL_YEAR - 1], "done": TARGET_HEADERS[COL_DONE - 1],
                  "explanation": TARGET_HEADERS[COL_EXPLANATION - 1]}
_VALUE_COLUMN_NUMBERS = {"value": COL_VALUE, "year_value": COL_YEAR, "done": COL_DONE,
                         "explanation": COL_EXPLANATION}
_EVIDENCE_COLUMNS = {"kind": 1, "identifier": 2, "description": 3, "target": 4, "file": 5}


def locate(problems: Mapping[str, str], *, target_set: TargetSet, evidence_rows: Mapping[int, int]
           ) -> list[SheetError]:
    """The service's ReportProblems.errors (key → message) as sheet, row and column of the uploaded file.

    `evidence_rows`: ReportInput.evidence index → 佐证材料 row (ReportSheet.evidence_rows); an item without a
    row (a kept file whose row was deleted) is named by the sheet only. Keys of the whole report (`form`, `lock`)
    have no sheet. The errors come sorted by sheet, row and column.
    """
    targets = {t.position: t for t in target_set.targets}
    rows = target_rows(target_set)
    out: list[tuple[tuple[int, int, int], SheetError]] = []
    order = {name: i for i, name in enumerate(SHEET_ORDER)}

    def add(sheet: str, row: int | None, column: int | None, name: str | None, message: str) -> None:
        cell = f"{chr(ord('A') + column - 1)}{row}" if row is not None and column is not None else None
        key = (order.get(sheet, -1), row or 0, column or 0)
        out.append((key, SheetError(sheet, row, name, message, cell)))

    for key, message in problems.items():
        value = _VALUE_KEY.fullmatch(key)
        evidence = _EVIDENCE_KEY.fullmatch(key)
        if value:
            position, what = int(value.group(1)), value.group(2)
            target = targets.get(position)
            name = (VALUE_COLUMN.get(target.kind if target else "", TARGET_HEADERS[COL_VALUE - 1])
                    if what == "value" else _VALUE_COLUMNS[what])
            add(SHEET_TARGETS, rows.get(position), _VALUE_COLUMN_NUMBERS[what], name, message)
        elif evidence:
            index, what = int(evidence.group(1)), evidence.group(2)
            column = _EVIDENCE_COLUMNS[what]
            add(SHEET_EVIDENCE, evidence_rows.get(index), column, EVIDENCE_HEADERS[column - 1], message)
        elif key == "evidence":
            add(SHEET_EVIDENCE, None, None, None, message)
        elif key in FUND_FIELDS:
            add(SHEET_FUNDS, fund_rows()[key], 2, FUND_HEADERS[1], message)
        elif key in TEXT_FIELDS:
            add(SHEET_TEXT, text_rows()[key], 2, TEXT_FIELDS[key], message)
        else:
            add("", None, None, None, message)
    out.sort(key=lambda pair: pair[0])
    return [error for _, error in out]
