"""The payment list (支付清单) as Excel: the disbursements (后补助拨付, DESIGN §2 Disbursement) of a filtered queue,
one row per tranche, grouped by programme with a subtotal row per programme and a grand total. The finance pages'
"导出支付清单" and `tracker export disbursements PATH.xlsx` write the same file:

    from tracker.exports.disbursements_xlsx import payment_list_workbook, payment_rows
    rows = payment_rows(db, disbursements_for(user).where(...))
    path.write_bytes(payment_list_workbook(rows, generated_at=now, scope_note="…"))

- `payment_rows(db, query)` runs the SELECT of Disbursement (the scope query plus the page's filters) and loads the
  projects, their organisations and programmes in a fixed number of queries (selectinload: one each, in chunks of
  500 ids), whatever the number of rows. Voided rows (已作废) are left out unless `include_void`; reversed ones
  (已冲销) and those with a reversal due (待冲销) stay, with their status, so that finance sees the reversals: a
  reversed payment is followed by its reversal line (冲销), a negative amount with the reversal's date and voucher,
  so that every total is the plain sum of its rows.
- `payment_list_workbook(rows, generated_at=, scope_note=)` builds the workbook from those rows only.

Money is stored in yuan; 万元 columns carry four decimals (number format 0.0000), so no yuan is lost, and 金额(元)
the yuan. Every figure is a number (a Decimal, never text); 比例 is the rate as a fraction in a percent format, on
rows of a rate formula only (never on bounds-without-a-rate or milestone rows); 金额 is empty for 受阻, 不予拨付 and
已作废 rows (nothing is owed). Every text cell goes through `set_safe_value` (G19): an organisation typed as
`=HYPERLINK(…)` stays text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Select
from sqlalchemy.orm import Session, selectinload

from tracker.clock import local
from tracker.exports.xlsx_safety import set_safe_value
from tracker.models import Disbursement, DisbursementStatus, Project
from tracker.models.disbursements import PROJECT_TRANCHE

SHEET = "支付清单"
SHEET_NOTES = "说明"
WAN = Decimal(10_000)
WAN_FORMAT = "0.0000"  # four decimals of 万元: one yuan
YUAN_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
S = DisbursementStatus
# Rows whose amount is owed or was paid: the 金额 columns are filled for these only.
OWED = frozenset({S.PENDING, S.RETURNED, S.APPROVED, S.PAID, S.REVERSED})
REVERSAL_LABEL = "冲销"


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    kind: str = "text"  # text, wan, rate, yuan, date


COLUMNS: tuple[Column, ...] = (
    Column("项目编号", 16), Column("项目名称", 34), Column("承担单位", 26), Column("补助方式", 12),
    Column("计算依据", 60), Column("基数(万元)", 12, "wan"), Column("比例", 8, "rate"), Column("下限(万元)", 12, "wan"),
    Column("上限(万元)", 12, "wan"), Column("金额(万元)", 13, "wan"), Column("金额(元)", 15, "yuan"),
    Column("状态", 10), Column("支付日期", 12, "date"), Column("凭证号", 20),
)
AMOUNT_WAN = 9  # index of 金额(万元) in COLUMNS
AMOUNT_YUAN = 10


@dataclass(frozen=True)
class PaymentRow:
    """One line of the payment list: a tranche, or the reversal of a reversed one (`reversal`). Money in 万元
    (Decimal, exact) besides `amount_yuan`; None leaves the cell empty."""

    programme: str
    code: str
    title: str
    organisation: str
    mode: str  # 补助方式
    basis: str  # 计算依据: the tranche and the computation in words, or why it is blocked or refused
    base: Decimal | None  # the formula's base figure (万元)
    rate: Decimal | None  # the formula's rate, a fraction (0.2 for 20%)
    floor: Decimal | None
    cap: Decimal | None
    amount_wan: Decimal | None
    amount_yuan: Decimal | None
    status: str  # the label finance reads (待冲销 for a paid one whose reversal is due)
    paid_on: date | None
    voucher: str
    disbursement_id: int
    tranche: str  # "project" or "milestone:{position}"
    status_key: str  # DisbursementStatus value, or "reversal" for a reversal line
    reversal: bool = False


# --- rows ----------------------------------------------------------------------------------------------------


def payment_rows(db: Session, query: Select[Any], *, include_void: bool = False) -> list[PaymentRow]:
    """The lines of the payment list for the disbursements of `query` (a SELECT of Disbursement), grouped by
    programme, then by project code and tranche."""
    if not include_void:
        query = query.where(Disbursement.status != S.VOID)
    found = db.scalars(query.options(
        selectinload(Disbursement.project).selectinload(Project.organisation),
        selectinload(Disbursement.project).selectinload(Project.programme))).unique().all()
    ordered = sorted(found, key=lambda d: (d.project.programme.name if d.project.programme else "", d.project.code,
                                           _tranche_order(d.tranche), d.id))
    rows: list[PaymentRow] = []
    for disbursement in ordered:
        rows.append(_row(disbursement))
        if disbursement.status == S.REVERSED:
            rows.append(_reversal(disbursement))
    return rows


def _tranche_order(tranche: str) -> int:
    return -1 if tranche == PROJECT_TRANCHE else int(tranche.split(":")[1])


def _decimal(text: Any) -> Decimal | None:
    """A 万元 or rate text of the stored computation as a Decimal (None when absent or unreadable)."""
    if text is None or text == "":
        return None
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _basis(d: Disbursement) -> str:
    """The computation in words: the steps that led to the amount, or why there is none; then the officer's
    exception and a void's or reversal's reason, which finance must see."""
    computation = d.computation or {}
    steps = [s for s in computation.get("steps") or [] if s]
    if d.status in (S.BLOCKED, S.REFUSED) or d.amount is None:
        words = d.message or "；".join(steps)
    else:
        words = "；".join([*steps, d.message] if d.message and d.message not in steps else steps) or d.message
    parts = [f"{d.tranche_label}：{words}"]
    if d.exception and d.exception_reason:
        parts.append(f"例外理由：{d.exception_reason}")
    if d.status == S.VOID:
        parts.append(f"已作废：{d.void_reason}" if d.void_reason else "已作废")
    elif d.reversal_due or d.status == S.REVERSED:
        parts.append(f"须冲销：{d.void_reason}" if d.void_reason else "须冲销")
    if d.status == S.RETURNED and d.return_comment:
        parts.append(f"财务退回意见：{d.return_comment}")
    return "；".join(parts)


def _row(d: Disbursement) -> PaymentRow:
    project = d.project
    computation = d.computation or {}
    # A rate only where the tranche's amount is a rate formula's: never on bounds or milestone rows.
    rate = _decimal(computation.get("rate")) if d.tranche == PROJECT_TRANCHE else None
    base = _decimal(computation.get("base_value")) if rate is not None else None
    owed = d.status in OWED and d.amount is not None
    return PaymentRow(
        programme=project.programme.name if project.programme else "", code=project.code, title=project.title,
        organisation=project.organisation.name if project.organisation else "", mode=project.funding_mode or "",
        basis=_basis(d), base=base, rate=rate, floor=_decimal(computation.get("floor")),
        cap=_decimal(computation.get("cap")), amount_wan=d.amount / WAN if owed else None,
        amount_yuan=d.amount if owed else None, status=d.status_label, paid_on=d.paid_on, voucher=d.voucher_no or "",
        disbursement_id=d.id, tranche=d.tranche, status_key=d.status)


def _reversal(d: Disbursement) -> PaymentRow:
    """The reversal of a reversed payment, as its own line with a negative amount (红字冲销)."""
    project = d.project
    reason = f"：{d.void_reason}" if d.void_reason else ""
    return PaymentRow(
        programme=project.programme.name if project.programme else "", code=project.code, title=project.title,
        organisation=project.organisation.name if project.organisation else "", mode=project.funding_mode or "",
        basis=f"{d.tranche_label}：冲销凭证号{d.voucher_no or ''}的支付{reason}", base=None, rate=None, floor=None,
        cap=None, amount_wan=-d.amount / WAN if d.amount is not None else None,
        amount_yuan=-d.amount if d.amount is not None else None, status=REVERSAL_LABEL, paid_on=d.reversed_on,
        voucher=d.reversal_voucher_no or "", disbursement_id=d.id, tranche=d.tranche, status_key="reversal",
        reversal=True)


# --- the workbook -------------------------------------------------------------------------------------------------

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_SUBTOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")


def _percent_format(rate: Decimal) -> str:
    return "0%" if (rate * 100) == (rate * 100).to_integral_value() else "0.00%"


def _put(ws: Worksheet, row: int, column: int, value: Any, kind: str) -> None:
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        set_safe_value(cell, value)  # G19: names typed by grantees never become formulas
    else:
        cell.value = value
    if value is not None and kind == "wan":
        cell.number_format = WAN_FORMAT
    elif value is not None and kind == "yuan":
        cell.number_format = YUAN_FORMAT
    elif value is not None and kind == "rate":
        cell.number_format = _percent_format(value)
    elif value is not None and kind == "date":
        cell.number_format = DATE_FORMAT
    cell.border = _BORDER
    cell.alignment = _WRAP


def _values(row: PaymentRow) -> list[Any]:
    return [row.code, row.title, row.organisation, row.mode, row.basis, row.base, row.rate, row.floor, row.cap,
            row.amount_wan, row.amount_yuan, row.status, row.paid_on, row.voucher]


def _total(ws: Worksheet, at: int, label: str, rows: Sequence[PaymentRow], fill: PatternFill) -> None:
    """A total line: the label, then the sums of the 金额 columns (numbers, not formulas: the file is read by
    programs that do not compute)."""
    wan = sum((r.amount_wan for r in rows if r.amount_wan is not None), Decimal(0))
    yuan = sum((r.amount_yuan for r in rows if r.amount_yuan is not None), Decimal(0))
    values: list[Any] = [None] * len(COLUMNS)
    values[1] = label
    values[AMOUNT_WAN], values[AMOUNT_YUAN] = wan, yuan
    for index, (column, value) in enumerate(zip(COLUMNS, values, strict=True), start=1):
        _put(ws, at, index, value, column.kind)
        cell = ws.cell(row=at, column=index)
        cell.font = _HEADER_FONT
        cell.fill = fill


def _count(rows: Sequence[PaymentRow]) -> int:
    """Disbursements, not lines: a reversal line belongs to the payment it reverses."""
    return sum(1 for r in rows if not r.reversal)


def programme_groups(rows: Sequence[PaymentRow]) -> list[tuple[str, list[PaymentRow]]]:
    """The rows by programme, in their order (payment_rows groups them)."""
    groups: list[tuple[str, list[PaymentRow]]] = []
    for row in rows:
        if not groups or groups[-1][0] != row.programme:
            groups.append((row.programme, []))
        groups[-1][1].append(row)
    return groups


def payment_list_workbook(rows: Sequence[PaymentRow], *, generated_at: datetime | None = None,
                          scope_note: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    for index, column in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
        cell = ws.cell(row=1, column=index, value=column.title)
        cell.font, cell.fill, cell.border = _HEADER_FONT, _HEADER_FILL, _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "C2"  # the header row, the project code and title stay in view
    at = 2
    for programme, members in programme_groups(rows):
        for row in members:
            for index, (column, value) in enumerate(zip(COLUMNS, _values(row), strict=True), start=1):
                _put(ws, at, index, value, column.kind)
            at += 1
        _total(ws, at, f"小计：{programme or '（未归入项目计划）'}（{_count(members)}笔）", members, _SUBTOTAL_FILL)
        at += 1
    _total(ws, at, f"合计（{_count(rows)}笔）", rows, _TOTAL_FILL)
    # Printed on A4 landscape, one page wide, the header repeated on every page.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddHeader.center.text = "后补助拨付支付清单"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    _notes(wb, rows, generated_at, scope_note)
    wb.properties.title = "后补助拨付支付清单"
    wb.properties.creator = "科技项目绩效监测与验收跟踪系统"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _notes(wb: Workbook, rows: Sequence[PaymentRow], generated_at: datetime | None, scope_note: str) -> None:
    notes = wb.create_sheet(SHEET_NOTES)
    notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 18, 90
    lines: list[tuple[str, Any]] = [("后补助拨付支付清单", "")]
    if generated_at is not None:
        lines.append(("导出时间", local(generated_at).strftime("%Y-%m-%d %H:%M")))
    lines += [
        ("笔数", _count(rows)), ("范围", scope_note or "全部拨付"),
        ("金额", "金额按项目自身的资助规则（立项时从指南复制）和验收证书核定的数据计算，四舍五入到元；"
               "万元保留四位小数。受阻、不予拨付和已作废的拨付不填金额。"),
        ("比例", "只在按比例计算的拨付中填写（基数×比例，再按下限、上限和财政资助经费限定）；"
               "不设比例的金额区间（由项目管理专员录入金额）和里程碑拨付不填。"),
        ("冲销", "验收结论更正前已支付的拨付为“待冲销”；财务登记冲销后为“已冲销”，"
               "其后一行为冲销（负数金额、冲销日期和凭证号）。"),
        ("合计", "小计和合计为各行金额之和（含冲销行的负数）。"),
    ]
    # What each state adds up to (万元): what was paid, what awaits payment or approval, what must be reversed.
    by_status: dict[str, Decimal] = {}
    for row in rows:
        if row.amount_wan is not None:
            by_status[row.status] = by_status.get(row.status, Decimal(0)) + row.amount_wan
    lines += [(f"{status}（万元）", total) for status, total in by_status.items()]
    for at, (label, value) in enumerate(lines, start=1):
        set_safe_value(notes.cell(row=at, column=1), label)
        cell = set_safe_value(notes.cell(row=at, column=2), value)
        cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
        if isinstance(value, Decimal):
            cell.number_format = WAN_FORMAT
