"""Read a .docx guideline into a `SourceText`: one line per paragraph, in document order, table-cell
paragraphs included (DESIGN §4: a clause's `line` is that paragraph position).

- Word automatic numbering is put back in front of the paragraph text (`docx_numbering`), so `方向%1：` numbering
  on a paragraph `人工智能+文旅` reads `方向一：人工智能+文旅` as in a .txt export.
- A paragraph in a heading style (Heading 1…9, 标题 1…, or with an outline level) gets the hint `hN`; the parser
  uses it for headings that carry no numbering.
- A table of directions (a header row with a direction column such as 方向/项目名称 and field columns such as
  主要内容/考核要求/申报条件) is turned into lines the text parser reads: the header row becomes blank lines,
  each row's direction cell keeps its text and gets the hint `row:N` (N from the 序号 column), and each field
  cell's first paragraph gets its label (`考核要求：…`). Paragraph positions, hence line numbers, do not move.
- Text inside deleted revisions, text boxes and the fallback branch of alternate content is left out.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn

from imports.docx_numbering import NumberingCounter, NumberingDefinitions
from imports.guideline_lines import FIELD_LABEL, LABEL_KINDS
from imports.guideline_model import Flag, FlagKind, GuidelineReadError, SourceText
from imports.guideline_text import fold, number_of

XmlElement = Any  # an lxml element as python-docx hands it out

_SKIPPED = {qn("w:pPr"), qn("w:rPr"), qn("w:del"), qn("w:delText"), qn("w:instrText"), qn("w:txbxContent"),
            "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"}
_BREAKS = {qn("w:br"), qn("w:cr")}
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)

# Header cells of a table of directions.
_NUMBER_HEADERS = {"序号", "编号", "序", "No.", "NO."}
_TITLE_HEADERS = {"方向", "研究方向", "支持方向", "指南方向", "子方向", "方向名称", "项目名称", "名称", "题目"}
_HEADER_ALIASES = (("内容", "主要内容"), ("考核", "考核指标"), ("条件", "申报条件"), ("期限", "实施期限"),
                   ("年限", "实施期限"), ("周期", "实施期限"), ("方式", "资助方式"), ("经费", "资助经费"),
                   ("金额", "资助经费"), ("说明", "相关说明"), ("备注", "相关说明"))
_BRACKETED = re.compile(r"\s|（[^）]*）|\([^)]*\)")


def read_docx(path: str | Path) -> SourceText:
    file = Path(path)
    return read_docx_bytes(file.name, file.read_bytes())


def read_docx_bytes(name: str, data: bytes) -> SourceText:
    try:
        document = Document(io.BytesIO(data))
        return _Reader(name, document).read()
    except GuidelineReadError:
        raise
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise GuidelineReadError(f"文件“{name}”不是有效的Word文档（.docx）：{exc}") from exc
    except Exception as exc:  # python-docx/lxml fail in many ways on a damaged package
        problem = type(exc).__name__
        raise GuidelineReadError(f"文件“{name}”不是有效的Word文档（.docx），文件可能已损坏（{problem}）") from exc


@dataclass
class _Paragraph:
    element: XmlElement


_Rows = list[list[list[_Paragraph]]]  # a table: rows → cells → paragraphs


@dataclass
class _Output:
    lines: list[str] = field(default_factory=list)
    hints: dict[int, str] = field(default_factory=dict)


class _Reader:
    def __init__(self, name: str, document: Any) -> None:  # a python-docx Document
        self.name = name
        self.document = document
        self.styles = _StyleIndex(document.styles.element)
        self.counter = NumberingCounter(NumberingDefinitions.from_element(document.part.numbering_part.element))
        self.out = _Output()

    def read(self) -> SourceText:
        for item in _body_items(self.document.element.body):
            if isinstance(item, _Paragraph):
                self._emit_paragraph(item)
            else:
                self._emit_table(item)
        warnings = tuple(Flag(FlagKind.SOURCE_PROBLEM, None, f"Word编号格式“{fmt}”无法识别，已按阿拉伯数字处理")
                         for fmt in sorted(self.counter.unknown_formats))
        return SourceText(self.name, tuple(self.out.lines), "docx", None, MappingProxyType(dict(self.out.hints)),
                          warnings)

    def _render(self, paragraph: _Paragraph) -> str:
        text = _text(paragraph.element).replace("\n", " ")
        num_id, ilvl = self.styles.numbering(paragraph.element)
        marker = self.counter.marker(num_id, ilvl) if num_id else ""
        return marker + text if text.strip() or marker.strip() else text

    def _emit_paragraph(self, paragraph: _Paragraph) -> None:
        self.out.lines.append(self._render(paragraph))
        level = self.styles.heading_level(paragraph.element)
        if level is not None:
            self.out.hints[len(self.out.lines)] = f"h{level}"

    def _emit_table(self, rows: _Rows) -> None:
        roles = _column_roles([[self._render_plain(p) for p in cell] for cell in rows[0]]) if rows else None
        if roles is None:
            for row in rows:
                for cell in row:
                    for paragraph in cell:
                        self._emit_paragraph(paragraph)
            return
        for cell in rows[0]:
            self.out.lines.extend("" for _ in cell)
        for row in rows[1:]:
            self._emit_direction_row(row, roles)

    def _render_plain(self, paragraph: _Paragraph) -> str:
        return _text(paragraph.element).strip()

    def _emit_direction_row(self, row: list[list[_Paragraph]], roles: list[tuple[str, str | None]]) -> None:
        number = None
        for column, cell in enumerate(row):
            role, label = roles[column] if column < len(roles) else ("other", None)
            texts = [self._render(p) for p in cell]
            if role == "number":
                joined = fold("".join(texts)).strip().rstrip(".、")
                number = number_of(joined) if joined else None
                self.out.lines.extend("" for _ in texts)
                continue
            first = next((i for i, t in enumerate(texts) if t.strip()), None)
            for index, text in enumerate(texts):
                if index == first and role == "title":
                    self.out.lines.append(text.strip())
                    self.out.hints[len(self.out.lines)] = f"row:{number}" if number is not None else "row"
                elif index == first and not FIELD_LABEL.match(fold(text.strip())):
                    prefix = f"{label}：" if role == "label" else f"相关说明：{label}："
                    self.out.lines.append(prefix + text.strip())
                else:
                    self.out.lines.append(text)


def _body_items(body: XmlElement) -> Iterator[_Paragraph | _Rows]:
    """Top-level paragraphs and tables in document order (content controls unwrapped)."""
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            yield _Paragraph(child)
        elif child.tag == qn("w:tbl"):
            yield _table_rows(child)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _body_items(content)


def _table_rows(table: XmlElement) -> _Rows:
    return [[[_Paragraph(p) for p in _cell_paragraphs(tc)] for tc in tr.iterchildren(qn("w:tc"))]
            for tr in table.iterchildren(qn("w:tr"))]


def _cell_paragraphs(container: XmlElement) -> Iterator[XmlElement]:
    """Paragraphs of a cell in order, those of nested tables and content controls included."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield child
        elif child.tag in (qn("w:tbl"), qn("w:tr"), qn("w:tc"), qn("w:sdt"), qn("w:sdtContent")):
            yield from _cell_paragraphs(child)


def _text(element: XmlElement) -> str:
    parts: list[str] = []
    for child in element.iterchildren():
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIPPED:
            continue
        if tag == qn("w:t"):
            parts.append(child.text or "")
        elif tag == qn("w:tab"):
            parts.append("\t")
        elif tag in _BREAKS:
            parts.append(" ")
        elif tag == qn("w:noBreakHyphen"):
            parts.append("-")
        else:
            parts.append(_text(child))
    return "".join(parts)


def _column_roles(header: list[list[str]]) -> list[tuple[str, str | None]] | None:
    """Roles of the columns of a table of directions, or None for any other table."""
    roles = [_column_role("".join(cell)) for cell in header]
    kinds = {role for role, _ in roles}
    return roles if "title" in kinds and "label" in kinds else None


def _column_role(header: str) -> tuple[str, str | None]:
    name = _BRACKETED.sub("", header)
    if name in _NUMBER_HEADERS:
        return "number", None
    if name in _TITLE_HEADERS:
        return "title", None
    if name in LABEL_KINDS:
        return "label", name
    for fragment, label in _HEADER_ALIASES:
        if fragment in name:
            return "label", label
    return ("other", name) if name else ("blank", None)


class _StyleIndex:
    """Numbering and heading level a paragraph gets from its own properties or its style chain."""

    def __init__(self, styles: XmlElement) -> None:
        self.styles: dict[str, XmlElement] = {s.get(qn("w:styleId"), ""): s for s in styles.iter(qn("w:style"))}

    def _chain(self, style_id: str | None) -> Iterator[XmlElement]:
        seen: set[str] = set()
        while style_id and style_id in self.styles and style_id not in seen:
            seen.add(style_id)
            style = self.styles[style_id]
            yield style
            based = style.find(qn("w:basedOn"))
            style_id = based.get(qn("w:val")) if based is not None else None

    def numbering(self, paragraph: XmlElement) -> tuple[str, int]:
        ppr = paragraph.find(qn("w:pPr"))
        own = ppr.find(qn("w:numPr")) if ppr is not None else None
        num_id, ilvl = _num_pr(own)
        if num_id is None or ilvl is None:
            for style in self._chain(_style_id(ppr)):
                style_num, style_lvl = _num_pr(style.find(f"{qn('w:pPr')}/{qn('w:numPr')}"))
                num_id = num_id if num_id is not None else style_num
                ilvl = ilvl if ilvl is not None else style_lvl
                if num_id is not None and ilvl is not None:
                    break
        return num_id or "", ilvl or 0

    def heading_level(self, paragraph: XmlElement) -> int | None:
        ppr = paragraph.find(qn("w:pPr"))
        outline = _outline(ppr)
        if outline is not None:
            return outline
        for style in self._chain(_style_id(ppr)):
            name = style.find(qn("w:name"))
            match = _HEADING_STYLE.match(name.get(qn("w:val"), "")) if name is not None else None
            if match:
                return int(match.group(1))
            outline = _outline(style.find(qn("w:pPr")))
            if outline is not None:
                return outline
        return None


def _style_id(ppr: XmlElement | None) -> str | None:
    style = ppr.find(qn("w:pStyle")) if ppr is not None else None
    return style.get(qn("w:val")) if style is not None else None


def _num_pr(num_pr: XmlElement | None) -> tuple[str | None, int | None]:
    if num_pr is None:
        return None, None
    num = num_pr.find(qn("w:numId"))
    lvl = num_pr.find(qn("w:ilvl"))
    ilvl = lvl.get(qn("w:val")) if lvl is not None else None
    return (num.get(qn("w:val")) if num is not None else None), (int(ilvl) if ilvl and ilvl.isdigit() else None)


def _outline(ppr: XmlElement | None) -> int | None:
    outline = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    value = outline.get(qn("w:val")) if outline is not None else None
    return int(value) + 1 if value is not None and value.isdigit() and int(value) < 9 else None
