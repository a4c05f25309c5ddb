"""Writing user text into Excel without it turning into a formula (reliability G19).

openpyxl stores any string that starts with `=` as a formula, and a string equal to an error code (`#N/A`)
as an error cell. Text starting with `+`, `-` or `@` is stored as text, but Excel re-reads it as a formula
as soon as someone edits the cell, and other programs (WPS, LibreOffice, a CSV export of the sheet) may
evaluate it straight away; a leading tab or carriage return hides such a prefix from a casual look.

Approach, without altering the text (no apostrophe or space is added, so what is exported is exactly what
was entered):
- `safe_cell_value(value)` returns risky text as an openpyxl `CellRichText` holding the same characters.
  openpyxl always writes a rich-text value as an inline string (`t="inlineStr"`), never as a formula or an
  error, in normal and in write-only worksheets alike, so it can go straight into `ws.append([...])`.
  Reading the file back gives a `str` with `data_type == "s"`.
- `set_safe_value(cell, value)` does the same for a cell of a normal worksheet and also sets the cell
  style's `quotePrefix`, which is what Excel itself sets when a user types `'=...`: the cell stays text
  when it is edited in Excel.
- Characters XML 1.0 cannot hold (control characters other than tab, newline and carriage return), which
  would make openpyxl raise or write a file Excel refuses to open, are removed from every string.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.cell.rich_text import CellRichText

#: The first characters that make a spreadsheet program treat text as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_risky_text(value: Any) -> bool:
    """True for text that Excel or another program could read as a formula or an error value."""
    return isinstance(value, str) and (value.startswith(FORMULA_TRIGGERS) or value in ERROR_CODES)


def safe_cell_value(value: Any) -> Any:
    """`value` ready for a cell: numbers, dates and harmless text unchanged, risky text as a string cell."""
    if not isinstance(value, str):
        return value  # numbers, dates, None, and values already made safe (CellRichText is a list)
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if is_risky_text(value):
        return CellRichText(value)
    return value


def set_safe_value(cell: Any, value: Any) -> Any:
    """Put `value` into a normal worksheet's `cell`; risky text also gets the quote-prefix style."""
    safe = safe_cell_value(value)
    cell.value = safe
    if isinstance(safe, CellRichText):
        cell.quotePrefix = True
    return cell
