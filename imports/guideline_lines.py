"""Classify one guideline line: heading, field label, list item, plain text …

Only the shape of a single line is decided here; whether a `（1）短标题` or a `1. …` line is a heading depends
on its neighbours and is decided by the tree builder (`guideline_builder`). All patterns run on the folded line
(`guideline_text.fold`: `（一）` → `(一)`, `：` → `:`, `．` → `.`, `１` → `1`); titles and values are sliced from the
original line at the same positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from imports.guideline_model import FieldKind
from imports.guideline_text import CN_NUMERAL, fold, has_leading_space, number_of, strip_bookmarks


class LineType(Enum):
    BLANK = "blank"
    HEADING = "heading"  # a numbered heading: 一、 / （一） / 方向一： / 子方向1： / 专题一： / 计划一： / 项目类型1：
    LABEL = "label"  # `2. 考核指标：（1）…` — a field label with its value
    LABEL_HEADING = "label_heading"  # a heading whose title is a field label: `（三）考核指标`, 003 `四、考核要求`
    PAREN_N = "paren_n"  # `（1）通用型无人机…` — a 4th-level heading only when a content label follows (002 L555)
    LIST_ITEM = "list_item"  # `1. 超高清显示…；` — a direction in 003, an item inside any open field
    FOCUS_AREA = "focus_area"  # `重点支持领域1：现代特色农林渔业` (002 L814) — a content item
    BARE = "bare"  # short unnumbered, unpunctuated line: a title (003 L3) or a group (001 L368 `…专项`)
    TEXT = "text"


# Field labels as written → kind. 研究内容/主要内容/项目内容 (000 L8, 001 L6, 002 L642), 考核指标/考核要求
# (000 L10, 004 L15), 实施期限/实施年限/实施周期, 资助经费/补助经费 (001 L399), 资助方式/补助方式, 项目总投入
# (001 L37), 申报条件/申报要求, 相关说明, 申报途径/申报材料 (002 L899, L956).
LABEL_KINDS: dict[str, FieldKind] = {
    "研究内容": FieldKind.CONTENT, "主要内容": FieldKind.CONTENT, "项目内容": FieldKind.CONTENT,
    "考核指标": FieldKind.INDICATORS, "考核要求": FieldKind.INDICATORS,
    "实施期限": FieldKind.PERIOD, "实施年限": FieldKind.PERIOD, "实施周期": FieldKind.PERIOD,
    "资助经费": FieldKind.FUNDING, "补助经费": FieldKind.FUNDING, "资助方式": FieldKind.FUNDING,
    "补助方式": FieldKind.FUNDING, "项目总投入": FieldKind.FUNDING,
    "申报条件": FieldKind.ELIGIBILITY, "申报要求": FieldKind.ELIGIBILITY,
    "相关说明": FieldKind.NOTES, "申报途径": FieldKind.NOTES, "申报材料": FieldKind.NOTES,
}
# Titles that only occur as heading-form labels in the NSF part of 002 (L1003, L1137).
HEADING_LABEL_KINDS: dict[str, FieldKind] = {
    **LABEL_KINDS, "注意事项": FieldKind.NOTES, "重点资助产业和学科": FieldKind.CONTENT,
}

_LABEL_ALTERNATION = "|".join(sorted(LABEL_KINDS, key=len, reverse=True))

# `2. 考核指标：…` (000 L10), `1.主要内容：` (001 L6), `考核指标（对应上述内容）：1.…` (002 L1172),
# `考核要求：` (004 L15)
FIELD_LABEL = re.compile(rf"^(?:(?P<ordinal>\d+)\.\s*)?(?P<label>{_LABEL_ALTERNATION})(?P<qualifier>\([^)]*\))?\s*:"
                         r"(?P<value>.*)$")

# Numbered headings, tried in order on the folded, stripped line.
HEADING_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 004 L6 `计划一：百色市“科技尖峰”行动专项`
    ("plan", re.compile(rf"^(?P<marker>计划(?P<num>{CN_NUMERAL}|\d+))\s*:\s*(?P<title>.*)$")),
    # 002 L658 `“协同”行动计划（广西区域创新能力提升计划）` — the whole line is the title
    ("plan", re.compile(r"^(?P<title>“[^”]{1,12}”行动计划(?:\([^)]*\))?)$")),
    # 001 L3 `专题一：人工智能技术研发与应用`
    ("topic", re.compile(rf"^(?P<marker>专题(?P<num>{CN_NUMERAL}|\d+))\s*:\s*(?P<title>.*)$")),
    # 004 L9 `项目类型1：新质生产力培育项目（具体申报事项另行通知）`
    ("type", re.compile(r"^(?P<marker>项目类型(?P<num>\d+))\s*:\s*(?P<title>.*)$")),
    # 000 L6 `子方向一：`, 001 L32 `子方向1：`, 001 L652 `子方向1： 医疗器械…`
    ("subdirection", re.compile(rf"^(?P<marker>子方向(?P<num>{CN_NUMERAL}|\d+))\s*:\s*(?P<title>.*)$")),
    # 000 L4 `方向一：`, 001 L4 `方向1：`, 004 L34 `方向１：` (folded), 004 L46 `方向：` (unnumbered)
    ("direction", re.compile(rf"^(?P<marker>方向(?P<num>{CN_NUMERAL}|\d+)?)\s*:\s*(?P<title>.*)$")),
    # 000 L1 `一、区市科技创新联动类`, 002 L811 `一、支持一批重大科技成果转化`, 003 L7 `一、项目定位`
    ("section", re.compile(rf"^(?P<marker>(?P<num>{CN_NUMERAL})、)\s*(?P<title>.+)$")),
    # 000 L3 `（一）桂林市`, 002 L993 `（一）申报要求`, 003 L63 `（一）技术指标。`
    ("paren_cn", re.compile(rf"^(?P<marker>\((?P<num>{CN_NUMERAL})\))\s*(?P<title>.+)$")),
)

# 002 L555 `（1）通用型无人机关键技术研究及应用示范`: short, no sentence punctuation.
PAREN_NUMBER_HEADING = re.compile(r"^(?P<marker>\((?P<num>\d{1,2})\))\s*(?P<title>[^。;:,，；：]{2,40})$")
# 003 L15 `1. 超高清显示、液晶触显领域关键技术；`, 002 L104 `9．支持…` (folded); never `1.5GPa`.
LIST_ITEM = re.compile(r"^(?P<marker>(?P<num>\d{1,3})\.)(?!\d)\s*(?P<title>.+)$")
# 002 L814 `重点支持领域1：现代特色农林渔业`
FOCUS_AREA = re.compile(r"^(?P<marker>重点支持领域(?P<num>\d+))\s*:\s*(?P<title>.+)$")
# 001 L368 `高新技术企业培育专项`, 002 L988 `广西自然科学基金项目`, 003 L3 `2024年中国—东盟产业合作区建设`
BARE_LINE = re.compile(r"^[^。，；：,;:!?！？]{2,40}$")
# Numbering forms none of the seeds uses; such a line is kept as text and flagged.
UNKNOWN_NUMBERING = re.compile(
    rf"^(?:第(?:{CN_NUMERAL}|\d+)[章节部分篇条]|[A-Za-z][.、)]\s*\S|{CN_NUMERAL}[.]\s*\S|\d+、\s*\S"
    r"|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]+[.、]|[⑴-⒇⒈-⒛])")

_UNTITLED_DIRECTION_LENGTH = 60  # 004 L112 `方向：支持科技人员围绕…` is content, not a title
_HEADING_TITLE_LENGTH = 60


@dataclass(frozen=True)
class LineInfo:
    number: int  # 1-based line (or .docx paragraph) number
    raw: str  # as in the source
    text: str  # bookmarks removed, surrounding whitespace stripped
    type: LineType
    kind: str | None = None  # heading kind: plan, topic, type, section, paren_cn, direction, subdirection …
    marker: str | None = None  # as written: `方向１`, `一、`, `（一）`, `1.`
    num: int | None = None
    title: str | None = None  # heading title, list item text
    label: str | None = None  # field label as written, qualifier included: `考核指标（对应上述内容）`
    field_kinds: tuple[FieldKind, ...] = ()
    value: str = ""  # text after a label's colon
    leading_space: bool = False
    unknown_numbering: bool = False

    @property
    def untitled_direction(self) -> bool:
        """`方向：<content>` (004 L112, L119, L125): the text after the colon is the body, not a title."""
        return (self.type is LineType.HEADING and self.kind == "direction" and self.num is None
                and bool(self.title) and ("。" in self.title or len(self.title) > _UNTITLED_DIRECTION_LENGTH))


def heading_label_kinds(title: str) -> tuple[FieldKind, ...]:
    """Field kinds named by a heading title: `考核要求` → indicators; `资助经费与实施年限` → funding, period."""
    core = title.strip().rstrip("。.").strip()
    if core in HEADING_LABEL_KINDS:
        return (HEADING_LABEL_KINDS[core],)
    if "与" in core:
        parts = core.split("与")
        if all(p in HEADING_LABEL_KINDS for p in parts):
            return tuple(dict.fromkeys(HEADING_LABEL_KINDS[p] for p in parts))
    return ()


def classify(number: int, raw: str) -> LineInfo:
    original = strip_bookmarks(raw)
    stripped = original.strip()
    base = {"number": number, "raw": raw, "text": stripped, "leading_space": _leading_space(raw)}
    if not stripped:
        return LineInfo(type=LineType.BLANK, **base)
    folded = fold(stripped)
    return (_as_label(folded, stripped, base) or _as_heading(folded, stripped, base)
            or _as_numbered_line(folded, stripped, base) or _as_plain(folded, stripped, base))


def _leading_space(raw: str) -> bool:
    """Leading whitespace before real text; a bookmark prefix does not count (002 L3 `[bookmark: …]二、`)."""
    return has_leading_space(raw)


def _slice(stripped: str, match: re.Match[str], group: str) -> str:
    start, end = match.span(group)
    return stripped[start:end].strip() if start >= 0 else ""


def _as_label(folded: str, stripped: str, base: dict) -> LineInfo | None:
    match = FIELD_LABEL.match(folded)
    if not match:
        return None
    label = _slice(stripped, match, "label") + (_slice(stripped, match, "qualifier") if match["qualifier"] else "")
    value_start = match.start("value")
    return LineInfo(type=LineType.LABEL, label=label, field_kinds=(LABEL_KINDS[match["label"]],),
                    value=stripped[value_start:].strip(), **base)


def _as_heading(folded: str, stripped: str, base: dict) -> LineInfo | None:
    for kind, pattern in HEADING_FORMS:
        match = pattern.match(folded)
        if not match:
            continue
        title = _slice(stripped, match, "title")
        marker = _slice(stripped, match, "marker") if "marker" in pattern.groupindex else None
        num = number_of(match["num"]) if "num" in pattern.groupindex and match["num"] else None
        if kind in ("section", "paren_cn"):
            if len(title) > _HEADING_TITLE_LENGTH or "。" in title.rstrip("。"):
                return None  # an inline-numbered paragraph, not a heading
            label_kinds = heading_label_kinds(title)
            if label_kinds:
                return LineInfo(type=LineType.LABEL_HEADING, kind=kind, marker=marker, num=num, title=title,
                                label=title.rstrip("。"), field_kinds=label_kinds, **base)
        return LineInfo(type=LineType.HEADING, kind=kind, marker=marker, num=num, title=title, **base)
    return None


def _as_numbered_line(folded: str, stripped: str, base: dict) -> LineInfo | None:
    for line_type, pattern in ((LineType.FOCUS_AREA, FOCUS_AREA), (LineType.PAREN_N, PAREN_NUMBER_HEADING),
                               (LineType.LIST_ITEM, LIST_ITEM)):
        match = pattern.match(folded)
        if match:
            return LineInfo(type=line_type, marker=_slice(stripped, match, "marker"), num=int(match["num"]),
                            title=_slice(stripped, match, "title"), **base)
    return None


def _as_plain(folded: str, stripped: str, base: dict) -> LineInfo:
    if UNKNOWN_NUMBERING.match(folded):
        return LineInfo(type=LineType.TEXT, unknown_numbering=True, **base)
    if BARE_LINE.match(folded):
        return LineInfo(type=LineType.BARE, title=stripped, **base)
    return LineInfo(type=LineType.TEXT, **base)
