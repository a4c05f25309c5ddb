"""The .docx reader: the seeds written into Word documents in three layouts parse like the .txt versions.

(a) one paragraph per line; (b) heading styles with Word automatic numbering (markers removed from the text,
numbering definitions written into numbering.xml); (c) directions as table rows
(序号 | 方向 | 主要内容 | 考核要求 | 实施期限 | 资助经费 | 申报条件 | 相关说明).
"""

from __future__ import annotations

import io
import re

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from imports.docx_numbering import NumberingCounter, NumberingDefinitions, format_number
from imports.docx_reader import read_docx
from imports.guideline_lines import FIELD_LABEL, LineType, classify
from imports.guideline_model import FieldKind
from imports.guideline_text import fold, number_of, strip_bookmarks
from imports.guidelines import ParsedGuideline, parse_guideline, read_source, read_source_bytes

HEADING_LEVELS = {"plan": 1, "topic": 1, "section": 1, "type": 2, "paren_cn": 2, "direction": 3,
                  "subdirection": 4, "paren_n": 5, "item": 5}
COLUMNS = ("序号", "方向", "主要内容", "考核要求", "实施期限", "资助经费", "申报条件", "相关说明")
COLUMN_OF = {FieldKind.CONTENT: 2, FieldKind.INDICATORS: 3, FieldKind.PERIOD: 4, FieldKind.FUNDING: 5,
             FieldKind.ELIGIBILITY: 6, FieldKind.NOTES: 7}
NUMERAL = re.compile(r"[一二三四五六七八九十百零〇两]+|[0-9０-９]+")


def _save(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- layout (a): one paragraph per line ----------------------------------------------------------------------

def _paragraph_layout(lines: tuple[str, ...]) -> bytes:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    return _save(document)


# --- layout (b): heading styles and Word numbering -------------------------------------------------------------

class _Numbering:
    """Writes one abstractNum per marker form and a new num (with startOverride) whenever a list restarts."""

    def __init__(self, document) -> None:
        self.root = document.part.numbering_part.element
        self.abstracts: dict[tuple[str, str], int] = {}
        self.current: dict[tuple[str, str], tuple[int, int]] = {}
        self.next_id = 500

    def apply(self, paragraph, lvl_text: str, fmt: str, value: int) -> None:
        key = (lvl_text, fmt)
        if key not in self.abstracts:
            self.abstracts[key] = self._abstract(lvl_text, fmt)
        num_id, last = self.current.get(key, (None, None))
        if num_id is None or value != last + 1:
            num_id = self._num(self.abstracts[key], value)
        self.current[key] = (num_id, value)
        num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = num_id

    def _abstract(self, lvl_text: str, fmt: str) -> int:
        self.next_id += 1
        abstract = _element("w:abstractNum", abstractNumId=self.next_id)
        level = _element("w:lvl", ilvl=0)
        for tag, value in (("w:start", "1"), ("w:numFmt", fmt), ("w:suff", "nothing"), ("w:lvlText", lvl_text)):
            level.append(_element(tag, val=value))
        abstract.append(level)
        first_num = self.root.find(qn("w:num"))
        if first_num is None:
            self.root.append(abstract)
        else:
            first_num.addprevious(abstract)
        return self.next_id

    def _num(self, abstract_id: int, start: int) -> int:
        self.next_id += 1
        num = _element("w:num", numId=self.next_id)
        num.append(_element("w:abstractNumId", val=abstract_id))
        override = _element("w:lvlOverride", ilvl=0)
        override.append(_element("w:startOverride", val=start))
        num.append(override)
        self.root.append(num)
        return self.next_id


def _element(tag: str, **attributes):
    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(qn(f"w:{name}"), str(value))
    return element


def _marker_of(text: str) -> str | None:
    info = classify(0, text)
    if info.type in (LineType.HEADING, LineType.LABEL_HEADING, LineType.LIST_ITEM) and info.num is not None:
        return info.marker if info.marker and text.startswith(info.marker) else None
    if info.type is LineType.LABEL:
        match = FIELD_LABEL.match(fold(text))
        if match and match["ordinal"]:
            return text[: match.end("ordinal") + 1]
    return None


def _numbering_form(marker: str, separator: str) -> tuple[str, str, int]:
    numeral = NUMERAL.search(marker)
    assert numeral, marker
    digits = fold(numeral.group())
    if digits.isdigit():
        fmt = "decimalFullWidth" if numeral.group() != digits else "decimal"
        value = int(digits)
    else:
        fmt, value = "chineseCounting", number_of(numeral.group()) or 0
    return marker[: numeral.start()] + "%1" + marker[numeral.end():] + separator, fmt, value


def _numbered_layout(lines: tuple[str, ...], parsed: ParsedGuideline) -> bytes:
    document = docx.Document()
    numbering = _Numbering(document)
    kinds = {n.line: n.kind for n in parsed.nodes if not n.title.endswith("（标题缺失）")}
    for number, raw in enumerate(lines, 1):
        text = strip_bookmarks(raw).strip()
        marker = _marker_of(text) if text else None
        if marker is None:
            paragraph = document.add_paragraph(raw)
        else:
            rest = text[len(marker):]
            body = rest.lstrip("：: ")
            template, fmt, value = _numbering_form(marker, rest[: len(rest) - len(body)])
            paragraph = document.add_paragraph(body)
            numbering.apply(paragraph, template, fmt, value)
        if number in kinds:
            paragraph.style = document.styles[f"Heading {HEADING_LEVELS.get(kinds[number], 1)}"]
    return _save(document)


# --- layout (c): directions as table rows ----------------------------------------------------------------------

def _table_layout(lines: tuple[str, ...], parsed: ParsedGuideline) -> bytes:
    document = docx.Document()
    leaf_lines = {n.line for n in parsed.leaves}
    infos = [classify(number, raw) for number, raw in enumerate(lines, 1)]
    rows: list[list[list[str]]] = []
    index = 0
    while index < len(infos):
        info = infos[index]
        if info.number not in leaf_lines:
            _flush(document, rows)
            document.add_paragraph(strip_bookmarks(info.raw))
            index += 1
            continue
        end = index + 1
        while end < len(infos) and infos[end].number not in leaf_lines and not _ends_body(infos[end]):
            end += 1
        rows.append(_row(info, infos[index + 1:end]))
        index = end
    _flush(document, rows)
    return _save(document)


def _ends_body(info) -> bool:
    return info.type in (LineType.HEADING, LineType.LABEL_HEADING, LineType.BARE) and not info.untitled_direction


def _row(heading, body) -> list[list[str]]:
    cells: list[list[str]] = [[""] for _ in COLUMNS]
    cells[0] = [str(heading.num or "")]
    cells[1] = [heading.title if heading.type is LineType.LIST_ITEM else heading.text]
    column = None
    for info in body:
        if info.type is LineType.BLANK:
            continue
        if info.untitled_direction:
            column, text = 2, info.title or ""
        elif info.type is LineType.LABEL:
            column = COLUMN_OF[info.field_kinds[0]]
            keep_label = column == COLUMN_OF[FieldKind.FUNDING] or cells[column] != [""]
            text = info.text if keep_label else info.value
        else:
            column, text = column or 2, info.text
        cells[column] = [*(c for c in cells[column] if c), text] if cells[column] != [""] else [text]
    return cells


def _flush(document, rows: list[list[list[str]]]) -> None:
    if not rows:
        return
    table = document.add_table(rows=1, cols=len(COLUMNS))
    for cell, name in zip(table.rows[0].cells, COLUMNS, strict=True):
        cell.paragraphs[0].text = name
    for row in rows:
        for cell, texts in zip(table.add_row().cells, row, strict=True):
            cell.paragraphs[0].text = texts[0]
            for text in texts[1:]:
                cell.add_paragraph(text)
    rows.clear()


# --- comparisons ---------------------------------------------------------------------------------------------

def _leaves(doc: ParsedGuideline) -> list[tuple[str, ...]]:
    return [n.path for n in doc.leaves]


def _clauses(doc: ParsedGuideline, with_lines: bool) -> list[tuple]:
    return [(n.path, c.line if with_lines else None, c.label, c.text) for n in doc.leaves for c in n.clauses]


def _assert_verbatim(doc: ParsedGuideline, lines: tuple[str, ...]) -> None:
    for node in doc.nodes:
        for clause in node.clauses:
            assert clause.text in lines[clause.line - 1]


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_layout_a_one_paragraph_per_line(prefix, sources, parsed):
    source = read_source_bytes(f"{prefix}.docx", _paragraph_layout(sources[prefix].lines))
    assert source.format == "docx" and source.lines == sources[prefix].lines
    doc = parse_guideline(source)
    assert [(n.path, n.line, n.leaf) for n in doc.nodes] == [(n.path, n.line, n.leaf) for n in parsed[prefix].nodes]
    assert _clauses(doc, True) == _clauses(parsed[prefix], True)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_layout_b_heading_styles_and_word_numbering(prefix, sources, parsed, tmp_path):
    path = tmp_path / f"{prefix}.docx"
    path.write_bytes(_numbered_layout(sources[prefix].lines, parsed[prefix]))
    source = read_source(path)
    stripped = [strip_bookmarks(line).strip() for line in sources[prefix].lines]
    assert sum(strip_bookmarks(a).strip() != b for a, b in zip(source.lines, stripped, strict=True)) == 0
    assert source.hints  # heading styles seen
    doc = parse_guideline(source)
    assert [(n.path, n.line) for n in doc.leaves] == [(n.path, n.line) for n in parsed[prefix].leaves]
    assert _clauses(doc, True) == _clauses(parsed[prefix], True)


def test_layout_b_markers_really_come_from_numbering(sources, parsed, tmp_path):
    path = tmp_path / "000.docx"
    path.write_bytes(_numbered_layout(sources["000"].lines, parsed["000"]))
    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs]
    assert texts[5] == "泛在感知驱动的数智景区全域协同管控平台研发及示范应用"  # no `子方向一：` in the text
    assert read_docx(path).lines[5] == "子方向一：泛在感知驱动的数智景区全域协同管控平台研发及示范应用"
    assert read_docx(path).lines[164] == "子方向十二：相干合成光纤激光系统研发与应用"


def _styled(paragraphs) -> bytes:
    document = docx.Document()
    numbering = _Numbering(document)
    for text, style, numbered in paragraphs:
        paragraph = document.add_paragraph(text, style=f"Heading {style}" if style else None)
        if numbered:
            numbering.apply(paragraph, *numbered)
    return _save(document)


def test_unnumbered_headings_take_the_kind_of_their_heading_style():
    """A city in Heading 2 without numbering is a sibling of the numbered `（一）桂林市` in Heading 2."""
    data = _styled([("区市联动类", 1, ("%1、", "chineseCounting", 1)), ("桂林市", 2, ("（%1）", "chineseCounting", 1)),
                    ("人工智能", 3, ("方向%1：", "decimal", 1)), ("考核指标：（1）申请专利2件。", 0, None),
                    ("梧州市", 2, None), ("有色金属", 3, ("方向%1：", "decimal", 1)),
                    ("考核指标：（1）发表论文1篇。", 0, None)])
    source = read_source_bytes("styles.docx", data)
    assert source.lines[:3] == ("一、区市联动类", "（一）桂林市", "方向1：人工智能")
    assert source.hints == {1: "h1", 2: "h2", 3: "h3", 5: "h2", 6: "h3"}
    doc = parse_guideline(source)
    assert [n.path for n in doc.leaves] == [("区市联动类", "桂林市", "人工智能"), ("区市联动类", "梧州市", "有色金属")]
    assert doc.node(("区市联动类", "梧州市")).kind == "paren_cn" and not doc.flags


def test_headings_known_only_by_style():
    data = _styled([("类别甲", 1, None), ("城市甲", 2, None), ("方向一", 3, None), ("考核要求：完成1项。", 0, None),
                    ("城市乙", 2, None), ("方向二", 3, None), ("考核要求：完成2项。", 0, None)])
    doc = parse_guideline(read_source_bytes("styles.docx", data))
    assert [(n.path, n.kind) for n in doc.leaves] == [(("类别甲", "城市甲", "方向一"), "h3"),
                                                      (("类别甲", "城市乙", "方向二"), "h3")]


@pytest.mark.parametrize("prefix", ["000", "001", "003", "004"])
def test_layout_c_directions_as_table_rows(prefix, sources, parsed):
    data = _table_layout(sources[prefix].lines, parsed[prefix])
    source = read_source_bytes(f"{prefix}-table.docx", data)
    assert any(hint.startswith("row") for hint in source.hints.values()) or prefix != "003"
    doc = parse_guideline(source)
    assert _leaves(doc) == _leaves(parsed[prefix])
    assert _clauses(doc, False) == _clauses(parsed[prefix], False)
    _assert_verbatim(doc, source.lines)
    for ours, theirs in zip(doc.leaves, parsed[prefix].leaves, strict=True):
        assert ours.has_own_indicators == theirs.has_own_indicators
        assert (ours.inherited_from is None) == (theirs.inherited_from is None)


def test_table_rows_keep_paragraph_positions(sources, parsed):
    data = _table_layout(sources["003"].lines, parsed["003"])
    source = read_source_bytes("003-table.docx", data)
    body = docx.Document(io.BytesIO(data)).element.body
    assert len(source.lines) == len(body.findall(f".//{qn('w:p')}"))  # body and table-cell paragraphs
    doc = parse_guideline(source)
    first = doc.leaves[0]
    assert source.lines[first.line - 1] == "超高清显示、液晶触显领域关键技术；"
    assert first.title == "超高清显示、液晶触显领域关键技术"
    assert source.hints[first.line] == "row:1" and first.number == 1
    assert first.direction == "支持方向"
    assert source.lines[doc.clauses[0].line - 1].startswith("形成新技术")


# --- numbering unit tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "fmt", "expected"), [
    (3, "decimal", "3"), (12, "chineseCounting", "十二"), (21, "chineseCountingThousand", "二十一"),
    (4, "decimalEnclosedCircle", "④"), (2, "decimalFullWidth", "２"), (10, "ideographDigital", "一〇"),
    (3, "ideographTraditional", "丙"), (28, "lowerLetter", "bb"), (14, "upperRoman", "XIV"),
    (5, "decimalZero", "05"), (2, "chineseLegalSimplified", "贰"), (7, "decimalEnclosedParen", "(7)"),
    (1, "no-such-format", None),
])
def test_number_formats(value, fmt, expected):
    assert format_number(value, fmt) == expected


def _definitions(xml: str) -> NumberingDefinitions:
    from docx.oxml import parse_xml

    namespace = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    return NumberingDefinitions.from_element(parse_xml(f"<w:numbering {namespace}>{xml}</w:numbering>"))


def test_levels_count_restart_and_share_counters():
    definitions = _definitions(
        '<w:abstractNum w:abstractNumId="1">'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:suff w:val="nothing"/>'
        '<w:lvlText w:val="%1、"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:suff w:val="nothing"/>'
        '<w:lvlText w:val="方向%2："/></w:lvl>'
        '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%2.%3"/></w:lvl>'
        '<w:lvl w:ilvl="3"><w:numFmt w:val="bullet"/><w:lvlText w:val="•"/></w:lvl>'
        '</w:abstractNum>'
        '<w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num>'
        '<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>'
        '<w:num w:numId="3"><w:abstractNumId w:val="1"/>'
        '<w:lvlOverride w:ilvl="1"><w:startOverride w:val="5"/></w:lvlOverride></w:num>')
    counter = NumberingCounter(definitions)
    markers = [counter.marker(num, level) for num, level in
               [("1", 0), ("1", 1), ("2", 1), ("1", 2), ("1", 0), ("1", 1), ("3", 1), ("3", 1), ("1", 3), ("0", 0)]]
    assert markers == ["一、", "方向一：", "方向二：", "二.1\t", "二、", "方向一：", "方向五：", "方向六：", "", ""]


def test_numbering_from_the_paragraph_style(tmp_path):
    document = docx.Document()
    numbering = _Numbering(document)
    abstract = numbering._abstract("方向%1：", "decimal")
    num_id = numbering._num(abstract, 1)
    style_numbering = document.styles["Heading 3"].element.get_or_add_pPr().get_or_add_numPr()
    style_numbering.get_or_add_numId().val = num_id
    for text, style in [("人工智能", "Heading 3"), ("考核要求：申请专利1件。", None), ("新能源", "Heading 3"),
                        ("考核要求：发表论文1篇。", None)]:
        document.add_paragraph(text, style=style)
    path = tmp_path / "style-numbering.docx"
    path.write_bytes(_save(document))
    source = read_docx(path)
    assert source.lines == ("方向1：人工智能", "考核要求：申请专利1件。", "方向2：新能源", "考核要求：发表论文1篇。")
    assert [n.path for n in parse_guideline(source).leaves] == [("人工智能",), ("新能源",)]


def test_revisions_keep_inserted_and_drop_deleted_text():
    document = docx.Document()
    paragraph = document.add_paragraph("考核要求：申请专利")
    inserted = _element("w:ins", id=1, author="审核人")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2件"
    run.append(text)
    inserted.append(run)
    deleted = _element("w:del", id=2, author="审核人")
    old_run = OxmlElement("w:r")
    old_text = OxmlElement("w:delText")
    old_text.text = "1件"
    old_run.append(old_text)
    deleted.append(old_run)
    paragraph._p.append(deleted)
    paragraph._p.append(inserted)
    document.paragraphs[0].insert_paragraph_before("方向1：甲")
    source = read_source_bytes("revised.docx", _save(document))
    assert source.lines == ("方向1：甲", "考核要求：申请专利2件")


def test_other_tables_are_read_as_paragraphs_in_order():
    document = docx.Document()
    document.add_paragraph("方向1：甲")
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table.rows[0].cells + table.rows[1].cells, ["单位", "联系人", "科技厅", "张三"], strict=True):
        cell.paragraphs[0].text = text
    document.add_paragraph("考核要求：完成1项。")
    source = read_source_bytes("other-table.docx", _save(document))
    assert source.lines == ("方向1：甲", "单位", "联系人", "科技厅", "张三", "考核要求：完成1项。")
    assert not source.hints
    assert parse_guideline(source).leaves[0].indicator_line == 6


def test_an_unknown_number_format_is_flagged():
    data = _styled([("甲", 3, ("方向%1：", "thaiLetters", 1)), ("考核要求：完成1项。", 0, None)])
    source = read_source_bytes("thai.docx", data)
    assert source.lines[0] == "方向1：甲"
    doc = parse_guideline(source)
    assert [(f.kind.value, f.line) for f in doc.flags] == [("source_problem", None)]
    assert "thaiLetters" in doc.flags[0].message


def _untitled_rows_layout(lines: tuple[str, ...]) -> bytes:
    """004 as a writer might put it in Word: the 项目类型 headings stay paragraphs, and each untitled `方向：…` line
    with the field lines after it becomes a one-row table whose 方向 cell holds the prose (no `方向：` label)."""
    document = docx.Document()
    index = 0
    while index < len(lines):
        info = classify(index + 1, lines[index])
        if not info.untitled_direction:
            document.add_paragraph(strip_bookmarks(lines[index]))
            index += 1
            continue
        fields: dict[str, str] = {}
        end = index + 1
        while end < len(lines) and classify(end + 1, lines[end]).type is not LineType.HEADING:
            follow = classify(end + 1, lines[end])
            if follow.type is LineType.LABEL and follow.field_kinds[0] is FieldKind.INDICATORS:
                fields["考核要求"] = follow.value
            elif follow.type is LineType.LABEL and follow.field_kinds[0] is FieldKind.ELIGIBILITY:
                fields["申报要求"] = follow.value
            end += 1
        table = document.add_table(rows=2, cols=2 + len(fields))
        for cell, name in zip(table.rows[0].cells, ("序号", "方向", *fields), strict=True):
            cell.paragraphs[0].text = name
        for cell, text in zip(table.rows[1].cells, ("1", info.title or "", *fields.values()), strict=True):
            cell.paragraphs[0].text = text
        index = end
    return _save(document)


def test_untitled_directions_in_table_rows_are_named_as_in_the_txt(sources, parsed):
    """004 `方向：支持科技人员围绕…`: the direction has no title and is named by its 项目类型, in the .txt and in a
    table whose 方向 cell holds the prose alike (issue #24, item 5)."""
    source = read_source_bytes("004-rows.docx", _untitled_rows_layout(sources["004"].lines))
    assert any(hint.startswith("row") for hint in source.hints.values())
    doc = parse_guideline(source)
    txt = {leaf.title: (leaf.path, leaf.direction) for leaf in parsed["004"].leaves}
    ours = {leaf.title: (leaf.path, leaf.direction) for leaf in doc.leaves}
    for title in ("自然科学探索项目", "产业应用研究项目"):
        assert ours[title] == txt[title]
    txt_clauses = {(n.direction, c.text) for n in parsed["004"].leaves for c in n.clauses}
    doc_clauses = {(n.direction, c.text) for n in doc.leaves for c in n.clauses}
    assert {c for c in txt_clauses if c[0] in ("自然科学探索项目", "产业应用研究项目")} <= doc_clauses
    assert not any(len(leaf.title) > 60 or "。" in leaf.title for leaf in doc.leaves)
