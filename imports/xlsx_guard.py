"""Checks on an uploaded .xlsx before openpyxl is allowed to open it (reliability G17).

openpyxl trusts its input: it inflates whatever the archive holds, parses every XML part, and opens
macro-enabled workbooks, legacy files renamed .xlsx or a CSV as far as it can before failing with an
English stack trace. This module looks at the bytes first and answers with one Chinese sentence:

- the container: empty, an OLE compound file (.xls, or any password-protected Office file), a text file
  (CSV, HTML or XML "Excel" exports), or a zip that is not a spreadsheet (.docx, .ods, an arbitrary zip);
- macros: a vbaProject.bin part or a macro-enabled content type (.xlsm, .xltm, .xlsb);
- zip bombs, from the central directory alone and before anything is inflated: the number of parts, the
  sum of the declared uncompressed sizes and the per-part compression ratio. `zipfile` stops inflating a
  part at its declared size (and then fails its CRC check), so a lying header cannot get past the sum;
- XML that declares a DTD (`<!DOCTYPE`, `<!ENTITY`): Excel never writes one, and entity expansion is the
  "billion laughs" attack openpyxl does not guard against without defusedxml;
- a sheet with content beyond MAX_SHEET_COLUMNS: found by a regular expression on the raw XML, because
  openpyxl would build every row of a 10,000-column sheet cell by cell (and parses a whole sheet when it
  opens the workbook if the sheet has no `<dimension>` element).

While the worksheet parts are inflated for the DTD check they are also scanned for formula elements, so
that the reader opens the workbook a second time (without `data_only`) only when there are formulas.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string

from tracker.files.containers import megabytes, zip_container_problem

# Limits. A 20,000-row award list is about 2 MB zipped and 22 MB of XML (bench/award_import.py); these leave room for
# styles, a few extra sheets and pictures, and refuse anything an award list cannot be.
MAX_FILE_BYTES = 20 * 1024 * 1024  # the upload itself
MAX_ZIP_ENTRIES = 1_000  # Excel writes 10–30 parts; thousands means a crafted archive
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024  # sum of the declared part sizes: caps what inflating can cost
MAX_COMPRESSION_RATIO = 200  # per part; spreadsheet XML deflates 5–50×, zip bombs 1,000× and more
RATIO_CHECK_MIN_BYTES = 2 * 1024 * 1024  # small parts may compress better than that without harm
MAX_CONTENT_TYPES_BYTES = 1024 * 1024  # [Content_Types].xml is parsed whole
# Cells with content beyond this column, in any sheet, refuse the file before openpyxl parses it. The
# reader's own limit for the award sheet is lower (imports.awards.MAX_COLUMNS); this one only has to be
# cheap to check on the raw XML (three-letter references) and far beyond any real workbook's tables.
MAX_SHEET_COLUMNS = 1_000

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: .xls/.doc, and encrypted .xlsx
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty zip

# Content types of the workbook part ([Content_Types].xml): what the file really is.
_XLSX_MAIN_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
})
_MACRO_MAIN_TYPES = frozenset({
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.ms-excel.addin.macroEnabled.main+xml",
})
_BINARY_MAIN_TYPE = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"  # .xlsb
_CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

_MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam")
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_CHUNK = 1024 * 1024
_OVERLAP = 512  # bytes kept between chunks so a tag split by a chunk boundary is still seen
# A cell reference with three letters (column 703 or beyond): checked against MAX_SHEET_COLUMNS.
_WIDE_CELL = re.compile(rb'<c\b[^>]{0,400}?\br="([A-Z]{3})(\d+)"[^>]{0,400}>')

ACCEPTED_FORMAT = "请在 Excel 或 WPS 中“另存为”Excel 工作簿（.xlsx）后再上传。"
CORRUPT_FILE = "文件已损坏或内容不符合 .xlsx 格式，无法读取。" + ACCEPTED_FORMAT


@dataclass(frozen=True)
class XlsxCheck:
    """The verdict on the bytes: `problem` is None when openpyxl may open them."""

    problem: str | None
    has_formulas: bool = False


def _refuse(message: str) -> XlsxCheck:
    return XlsxCheck(problem=message)


def _describe_text(data: bytes) -> str | None:
    """A sentence for files that are text (CSV, an HTML table, XML Spreadsheet 2003), else None."""
    head = data[:4096]
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html", "<table", "<meta")):
        return "文件是网页（HTML）格式的表格，只是扩展名为 Excel。" + ACCEPTED_FORMAT
    if lowered.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in lowered:
        return "文件是“XML 电子表格 2003”格式，不是 .xlsx。" + ACCEPTED_FORMAT
    if any(sep in text for sep in (",", "\t", "，")) and "\n" in text:
        return "文件是 CSV 或文本文件，不是 Excel 工作簿。" + ACCEPTED_FORMAT
    return "文件是文本文件，不是 Excel 工作簿。" + ACCEPTED_FORMAT


def _wide_cell(window: bytes) -> str | None:
    """The reference of a cell with content beyond MAX_SHEET_COLUMNS, if the window holds one."""
    for found in _WIDE_CELL.finditer(window):
        if found.group(0).endswith(b"/>"):
            continue  # an empty cell that only carries a style
        letters = found.group(1).decode("ascii")
        if column_index_from_string(letters) > MAX_SHEET_COLUMNS:
            return f"{letters}{found.group(2).decode('ascii')}"
    return None


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, is_sheet: bool) -> tuple[str | None, bool]:
    """(problem, has_formulas) of one XML part, read as a stream.

    The DTD check needs only the prolog, up to the first element. Worksheets are read to the end, looking
    for formula elements and for cells with content far to the right (a sheet 10,000 columns wide is
    refused here, before openpyxl parses it cell by cell).
    """
    in_prolog = True
    has_formulas = False
    tail = b""
    with archive.open(info) as stream:
        first = True
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                return None, has_formulas
            if first:
                first = False
                if chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in chunk[:4]:
                    return f"文件中的 {info.filename} 使用了不支持的编码（UTF-16/32）", False
            window = tail + chunk
            if in_prolog:
                element = _FIRST_ELEMENT.search(window)
                prolog = window if element is None else window[: element.start()]
                if _DTD.search(prolog):
                    return f"文件中的 {info.filename} 含有 DTD 声明（Excel 不会生成），已拒绝", False
                if element is not None:
                    in_prolog = False
                    if not is_sheet:
                        return None, False
            if is_sheet and not in_prolog:
                has_formulas = has_formulas or _FORMULA.search(window) is not None
                wide = _wide_cell(window)
                if wide:
                    return (f"工作表中单元格 {wide} 有内容，超出第 {MAX_SHEET_COLUMNS} 列，不像正常的填报表格；"
                            "请删除多余的列或工作表后再上传"), has_formulas
            tail = window[-_OVERLAP:]


def _content_types(archive: zipfile.ZipFile) -> tuple[str | None, set[str]] | str:
    """(content type of the workbook part, names of worksheet parts), or a problem."""
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        return "压缩包中没有 [Content_Types].xml，不是 Excel 工作簿。" + ACCEPTED_FORMAT
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        return "文件结构异常（[Content_Types].xml 过大），已拒绝"
    raw = archive.read(info)
    if _DTD.search(raw) or raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "文件结构异常（[Content_Types].xml 含有 DTD 或使用了不支持的编码），已拒绝"
    try:
        root = ElementTree.fromstring(raw)  # noqa: S314 - no DTD (checked above), so no entity expansion
    except (ElementTree.ParseError, zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError):
        return "文件已损坏（[Content_Types].xml 无法解析）"
    main = None
    sheets: set[str] = set()
    for override in root.iter(f"{_CONTENT_TYPES_NS}Override"):
        part = (override.get("PartName") or "").lstrip("/")
        content_type = override.get("ContentType") or ""
        if content_type in _XLSX_MAIN_TYPES or content_type in _MACRO_MAIN_TYPES or content_type == _BINARY_MAIN_TYPE:
            main = content_type
        elif content_type == _WORKSHEET_TYPE:
            sheets.add(part)
        elif main is None and content_type.endswith(".main+xml"):
            main = content_type  # a Word or PowerPoint document: described below
    return main, sheets


def check_xlsx(name: str, data: bytes) -> XlsxCheck:
    """Decide whether `data` (uploaded as `name`) is a plain .xlsx that is safe to hand to openpyxl."""
    if not data:
        return _refuse("文件为空")
    if len(data) > MAX_FILE_BYTES:
        return _refuse(f"文件过大（{megabytes(len(data))}），Excel 文件不能超过 {megabytes(MAX_FILE_BYTES)}")
    if data.startswith(OLE_MAGIC):
        return _refuse("文件是旧版 Excel 97-2003 工作簿（.xls）或已设置打开密码的工作簿，无法读取。"
                       "请去掉密码并" + ACCEPTED_FORMAT.removeprefix("请"))
    if not data.startswith(ZIP_MAGICS):
        described = _describe_text(data)
        return _refuse(described or "文件不是 Excel 工作簿（.xlsx），无法识别其格式。" + ACCEPTED_FORMAT)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return _refuse("文件已损坏：不是完整的 .xlsx 压缩包。" + ACCEPTED_FORMAT)
    with archive:
        try:
            return _check_archive(name, archive)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError,
                NotImplementedError, RuntimeError):
            # RuntimeError: an encrypted part; the rest: a truncated or corrupted stream or CRC.
            return _refuse("文件已损坏：压缩包中的部分内容无法读取。" + ACCEPTED_FORMAT)


def _check_archive(name: str, archive: zipfile.ZipFile) -> XlsxCheck:
    # The limits are read here, not bound as defaults: tests lower them.
    problem = zip_container_problem(archive, max_entries=MAX_ZIP_ENTRIES,
                                    max_uncompressed_bytes=MAX_UNCOMPRESSED_BYTES, max_ratio=MAX_COMPRESSION_RATIO,
                                    ratio_min_bytes=RATIO_CHECK_MIN_BYTES)
    if problem:
        return _refuse(problem)
    entries = archive.infolist()
    names = {info.filename.lower() for info in entries}
    if any(n.endswith("vbaproject.bin") for n in names):
        return _refuse("文件含有宏（VBA），不接受启用宏的工作簿（.xlsm）。" + ACCEPTED_FORMAT)
    found = _content_types(archive)
    if isinstance(found, str):
        if "mimetype" in names and "content.xml" in names:
            return _refuse("文件是 OpenDocument 表格（.ods）。" + ACCEPTED_FORMAT)
        return _refuse(found)
    main, sheet_parts = found
    if main in _MACRO_MAIN_TYPES:
        return _refuse("文件是启用宏的工作簿（.xlsm），不接受。" + ACCEPTED_FORMAT)
    if main == _BINARY_MAIN_TYPE:
        return _refuse("文件是 Excel 二进制工作簿（.xlsb），无法读取。" + ACCEPTED_FORMAT)
    if main is None or main not in _XLSX_MAIN_TYPES:
        kind = "Word 文档" if main and "wordprocessingml" in main else (
            "PowerPoint 演示文稿" if main and "presentationml" in main else "Excel 工作簿")
        if kind == "Excel 工作簿":
            return _refuse("压缩包中没有 Excel 工作簿。" + ACCEPTED_FORMAT)
        return _refuse(f"文件是{kind}，不是 Excel 工作簿。" + ACCEPTED_FORMAT)
    if name.lower().endswith(_MACRO_SUFFIXES):
        return _refuse("文件扩展名为启用宏的工作簿（.xlsm），不接受。" + ACCEPTED_FORMAT)
    has_formulas = False
    for info in entries:
        lowered = info.filename.lower()
        if not lowered.endswith(_XML_SUFFIXES) or info.is_dir():
            continue
        is_sheet = info.filename in sheet_parts or lowered.startswith("xl/worksheets/")
        problem, formulas = _scan_part(archive, info, is_sheet=is_sheet)
        if problem:
            return _refuse(problem)
        has_formulas = has_formulas or formulas
    return XlsxCheck(problem=None, has_formulas=has_formulas)


# --- opening what passed -----------------------------------------------------------------------------------------


class XlsxRefused(ValueError):
    """A workbook that is not read: the guard's refusal, or one openpyxl cannot open; str(exc) is Chinese."""


@contextmanager
def open_checked(name: str, data: bytes) -> Iterator[tuple[Any, bool]]:
    """The guard, then openpyxl on what passed it: (workbook, has_formulas), read-only, cached formula results,
    no external links, closed afterwards. openpyxl's warnings about parts it drops (styles, extensions) are
    silenced for the whole reading: none of them matters for values. Raises XlsxRefused."""
    check = check_xlsx(name, data)
    if check.problem:
        raise XlsxRefused(check.problem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        except Exception as exc:  # noqa: BLE001 - openpyxl on a corrupt part raises anything
            raise XlsxRefused(CORRUPT_FILE) from exc
        try:
            yield workbook, check.has_formulas
        finally:
            workbook.close()


@contextmanager
def formula_view(data: bytes) -> Iterator[Any | None]:
    """The same (already checked) workbook with formulas as text instead of their cached results, to find the
    formula cells; None when openpyxl cannot read it that way (an exotic shared formula): do without."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
        except Exception:  # noqa: BLE001 - the first reading worked; the refinement is optional
            workbook = None
        try:
            yield workbook
        finally:
            if workbook is not None:
                workbook.close()
