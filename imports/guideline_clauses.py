"""Segment indicator blocks into clauses and content fields into items (taxonomy §1, rules S1, S2, S4).

- S1 numbered items: `（1）…（N）`, `①…⑩`, `1.…5.`; one clause per item; markers count only at bracket depth 0
  and right after the start of the value or a separator, so `（1TB）`, `P1.5/50` or `满足考核指标①或②` never
  split; a `；` or `。` inside an item does not split it (000 L28, L60).
- S2 unnumbered prose: split on `。` `；` `;` at bracket depth 0; label None.
- S4 sentences that select indicators instead of stating one (`每个项目满足考核指标①或②即可` 002 L579,
  `（企业联合…须考核指标中的①②；…）` 002 L643, `考核指标包含技术指标和效益指标` 003 L62) become
  `SelectionRule`s, not clauses.
- S3 (splitting a clause into pure AND/OR runs) is left to the targets interpreter.
Every clause text is a verbatim slice of its line, without marker and trailing separator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imports.guideline_model import Clause, ContentItem, Flag, FlagKind, SelectionRule
from imports.guideline_text import CN_NUMERAL, depths, fold, is_balanced, split_spans, trim_span

CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"

# Item markers on the folded text. `（3）` (000 L10), `①` (002 L31), `1.` (002 L961) but not `1.5GPa`.
MARKER_FORMS: dict[str, re.Pattern[str]] = {
    "circled": re.compile(f"[{CIRCLED}]"),
    "paren": re.compile(r"\((\d{1,2})\)"),
    "dot": re.compile(r"(\d{1,2})\.(?!\d)"),
}
# A marker counts when it opens the value or follows one of these (000 L60 `;（5）`, L169 `，（5）`,
# 002 L1171 `内容：1.`); whitespace in between is allowed (001 L198 `； （2）`).
MARKER_AFTER = "。；;，,：:"

# S4 (taxonomy §1): a sentence that selects among the indicators. Not 001 L687 `设置项目考核指标内容`.
SELECTION_SENTENCE = re.compile(r"(?:满足|须)考核指标|^考核指标包含")
# `（满足考核指标中的①②⑤⑥⑦或①③⑤⑥⑦）` on content items (002 L22); 002 L959 `（满足申报要求1、2、3，满足考核指标1、…）`
ITEM_SELECTION = re.compile(r"\((?P<inner>[^()]*满足考核指标[^()]*)\)")
SELECTION_SET = re.compile(rf"^满足考核指标中的(?P<set>[{CIRCLED}或]+)$")
# 003 L63 `（一）技术指标。`, an indicator group heading inside a block
GROUP_HEADING = re.compile(rf"^\({CN_NUMERAL}\)\s*(?P<name>[^,;:。，；：]{{2,20}}?)[。.]?$")
# 002 L765 `1.企业类：（1）…`: the applicant category the following items apply to
CATEGORY_PREFIX = re.compile(r"^\d{1,2}\.\s*(?P<name>[^,;:。，；：]{1,30}类)\s*:")


@dataclass(frozen=True)
class BlockLine:
    number: int
    value: str  # text of the block on this line (after the label on the label line), bookmarks removed
    raw: str  # the source line, for the verbatim check


@dataclass(frozen=True)
class Marker:
    start: int
    end: int
    label: str  # as written
    number: int


@dataclass
class Segmented:
    clauses: list[Clause]
    rules: list[SelectionRule]
    flags: list[Flag]


def find_markers(value: str, folded: str, start: int = 0,
                 level: list[int] | None = None) -> tuple[str | None, list[Marker]]:
    """The item markers of `value[start:]` in the style of the first one found, or (None, [])."""
    level = depths(value) if level is None else level
    first_style: str | None = None
    found: list[Marker] = []
    for style, pattern in MARKER_FORMS.items():
        hits = [m for m in pattern.finditer(folded, start)
                if level[m.start()] == 0 and _opens_item(folded, m.start(), start)]
        if hits and (first_style is None or hits[0].start() < found[0].start):
            first_style = style
            found = [Marker(m.start(), m.end(), value[m.start():m.end()], _marker_number(style, folded, m))
                     for m in hits]
    return first_style, found


def _marker_number(style: str, folded: str, match: re.Match[str]) -> int:
    return CIRCLED.index(folded[match.start()]) + 1 if style == "circled" else int(match.group(1))


def _numbered_from(folded: str, offset: int, first: Marker) -> bool:
    """The value is a numbered list: the first marker opens it, or follows a colon (002 L1171 `内容：1.`)."""
    before = folded[offset:first.start].strip()
    return not before or before[-1] in ":："


def _opens_item(folded: str, pos: int, start: int) -> bool:
    before = pos - 1
    while before >= start and folded[before].isspace():
        before -= 1
    return before < start or folded[before] in MARKER_AFTER


def segment_block(lines: list[BlockLine]) -> Segmented:
    """Clauses of one indicator block (the value of a 考核指标/考核要求 label and its continuation lines)."""
    result = Segmented([], [], [])
    group: str | None = None
    for line in lines:
        value = line.value
        if not value.strip():
            continue
        folded = fold(value)
        heading = GROUP_HEADING.match(folded.strip())
        if heading:
            group = heading["name"]
            continue
        offset = 0
        category = CATEGORY_PREFIX.match(folded)
        if category:
            group, offset = value[category.start("name"):category.end("name")], category.end()
        _segment_line(line, value, folded, offset, group, result)
    return result


def _segment_line(line: BlockLine, value: str, folded: str, offset: int, group: str | None,
                  result: Segmented) -> None:
    balanced = is_balanced(value)
    line_flags = [] if balanced else [Flag(FlagKind.UNBALANCED_BRACKETS, line.number,
                                           f"第{line.number}行考核指标括号不配对，已按不计括号切分")]
    result.flags.extend(line_flags)
    level = depths(value) if balanced else None
    _, markers = find_markers(value, folded, offset, level)
    if markers and _numbered_from(folded, offset, markers[0]):
        _prose(line, value, offset, markers[0].start, group, level, line_flags, result)
        for index, marker in enumerate(markers):
            end = markers[index + 1].start if index + 1 < len(markers) else len(value)
            _item(line, value, marker, end, group, level, line_flags, result)
    else:
        _prose(line, value, offset, len(value), group, level, line_flags, result)


def _prose(line: BlockLine, value: str, start: int, end: int, group: str | None, level: list[int] | None,
           flags: list[Flag], result: Segmented) -> None:
    for a, b in split_spans(value, "。；;", start, end, level):
        a, b = trim_span(value, a, b)
        if a < b:
            _emit(line, value, a, b, None, group, flags, result)


def _item(line: BlockLine, value: str, marker: Marker, end: int, group: str | None, level: list[int] | None,
          flags: list[Flag], result: Segmented) -> None:
    sentences = [trim_span(value, a, b) for a, b in split_spans(value, "。", marker.end, end, level)]
    sentences = [(a, b) for a, b in sentences if a < b]
    while sentences and SELECTION_SENTENCE.search(fold(value[slice(*sentences[-1])])):
        result.rules.append(SelectionRule(value[slice(*sentences.pop())], line.number))
    while sentences and SELECTION_SENTENCE.search(fold(value[slice(*sentences[0])])):
        result.rules.append(SelectionRule(value[slice(*sentences.pop(0))], line.number))
    if sentences:
        _emit(line, value, sentences[0][0], sentences[-1][1], marker.label, group, flags, result)


def _emit(line: BlockLine, value: str, start: int, end: int, label: str | None, group: str | None,
          flags: list[Flag], result: Segmented) -> None:
    text = value[start:end]
    if label is None and SELECTION_SENTENCE.search(fold(text)):
        result.rules.append(SelectionRule(text, line.number))
        return
    clause_flags = list(flags)
    if text not in line.raw:
        clause_flags.append(Flag(FlagKind.SOURCE_PROBLEM, line.number,
                                 f"第{line.number}行条款文字与原文不一致（可能含书签标记）：{text[:20]}…"))
    result.clauses.append(Clause(label, text, line.number, group, tuple(clause_flags)))


def check_numbering(clauses: list[Clause]) -> list[Flag]:
    """Gaps and repeats among numbered clauses (001 L169 `（4）`→`（7）`; 001 L198 `（4）` twice)."""
    flags: list[Flag] = []
    expected, group = 1, object()
    for clause in clauses:
        number = _label_number(clause.label)
        if number is None:
            continue
        if clause.group != group or number == 1:
            expected, group = 1, clause.group
        if number > expected:
            flags.append(Flag(FlagKind.NUMBERING_GAP, clause.line,
                              f"第{clause.line}行考核指标编号跳号：{clause.label}之前缺少{expected}至{number - 1}号"))
        elif number < expected:
            flags.append(Flag(FlagKind.NUMBERING_DUPLICATE, clause.line,
                              f"第{clause.line}行考核指标编号重复或倒退：{clause.label}出现在{expected - 1}号之后"))
        expected = max(expected, number + 1)
    return flags


def _label_number(label: str | None) -> int | None:
    if not label:
        return None
    if label[0] in CIRCLED:
        return CIRCLED.index(label[0]) + 1
    digits = "".join(ch for ch in fold(label) if ch.isdigit())
    return int(digits) if digits else None


# --- content items -------------------------------------------------------------------------------------------

FOCUS_AREA_LINE = re.compile(r"^(?P<label>重点支持领域\d+)\s*:\s*(?P<text>.+)$")


def content_items(lines: list[BlockLine]) -> tuple[list[ContentItem], list[SelectionRule]]:
    """Numbered items of a 研究内容/主要内容 field and the selection rules found in it.

    Items: `1.支持…` lines (002 L22), inline `（1）…（2）…` (001 L103), `内容：1.…2.…` (002 L1171),
    `重点支持领域N：` lines with their description on the next line (002 L814–831)."""
    items: list[ContentItem] = []
    rules: list[SelectionRule] = []
    focus_open = False
    for line in lines:
        value = line.value.strip()
        if not value:
            continue
        folded = fold(value)
        focus = FOCUS_AREA_LINE.match(folded)
        if focus:
            items.append(ContentItem(value[: focus.end("label")], value[focus.start("text"):].strip(), line.number))
            focus_open = True
            continue
        _, markers = find_markers(value, folded)
        if markers and _numbered_from(folded, 0, markers[0]):
            focus_open = False
            items.extend(_split_items(line, value, markers))
        elif focus_open:
            last = items[-1]
            items[-1] = ContentItem(last.label, f"{last.text}\n{value}", last.line, last.selection)
            focus_open = False
        else:
            rules.extend(SelectionRule(m["inner"], line.number) for m in ITEM_SELECTION.finditer(folded))
    return [_with_selection(item) for item in items], rules


def _split_items(line: BlockLine, value: str, markers: list[Marker]) -> list[ContentItem]:
    found = []
    for index, marker in enumerate(markers):
        end = markers[index + 1].start if index + 1 < len(markers) else len(value)
        a, b = trim_span(value, marker.end, end)
        if a < b:
            found.append(ContentItem(marker.label, value[a:b], line.number))
    return found


def _with_selection(item: ContentItem) -> ContentItem:
    folded = fold(item.text)
    match = ITEM_SELECTION.search(folded)
    if not match:
        return item
    inner = item.text[match.start("inner"):match.end("inner")]
    chosen = SELECTION_SET.match(fold(inner))
    return ContentItem(item.label, item.text, item.line, chosen["set"] if chosen else inner)
