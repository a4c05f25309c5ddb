"""Word automatic numbering (numbering.xml) → the marker text Word would display (`一、`, `（二）`, `方向3：`).

The marker is not in a paragraph's text; it comes from the paragraph's `w:numPr` (or its style's), the
`w:num` it points to, the `w:abstractNum` behind it (`w:lvlText` such as `方向%1：`, `w:numFmt` such as
`chineseCounting`) and counters kept per list and level. A level counts from `w:start` (or the num's
`w:startOverride`), and using a level resets the levels below it, as Word does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from docx.oxml.ns import qn

from imports.guideline_text import int_to_cn

XmlElement = Any  # an lxml element as python-docx hands it out

_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_LEGAL = "零壹贰叁肆伍陆柒捌玖"
_IDEOGRAPH_DIGITS = "〇一二三四五六七八九"
_HEAVENLY_STEMS = "甲乙丙丁戊己庚辛壬癸"
_PLACEHOLDER = re.compile(r"%([1-9])")
_SUFFIX = {"tab": "\t", "space": " ", "nothing": ""}


@dataclass(frozen=True)
class Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = "%1."
    suffix: str = "\t"


@dataclass
class NumberingDefinitions:
    abstracts: dict[str, dict[int, Level]] = field(default_factory=dict)
    nums: dict[str, tuple[str, dict[int, int], dict[int, Level]]] = field(default_factory=dict)

    @classmethod
    def from_element(cls, numbering: XmlElement | None) -> NumberingDefinitions:
        result = cls()
        if numbering is None:
            return result
        for abstract in numbering.iter(qn("w:abstractNum")):
            result.abstracts[abstract.get(qn("w:abstractNumId"), "")] = {
                _int(lvl.get(qn("w:ilvl")), 0): _level(lvl) for lvl in abstract.iter(qn("w:lvl"))}
        for num in numbering.iter(qn("w:num")):
            abstract_id = _val(num.find(qn("w:abstractNumId"))) or ""
            starts, levels = {}, {}
            for override in num.iter(qn("w:lvlOverride")):
                ilvl = _int(override.get(qn("w:ilvl")), 0)
                start = override.find(qn("w:startOverride"))
                if start is not None:
                    starts[ilvl] = _int(_val(start), 1)
                lvl = override.find(qn("w:lvl"))
                if lvl is not None:
                    levels[ilvl] = _level(lvl)
            result.nums[num.get(qn("w:numId"), "")] = (abstract_id, starts, levels)
        return result


class NumberingCounter:
    """Counts numbered paragraphs in document order and renders their markers."""

    def __init__(self, definitions: NumberingDefinitions) -> None:
        self.definitions = definitions
        self.counters: dict[tuple[str, str], dict[int, int]] = {}
        self.unknown_formats: set[str] = set()

    def marker(self, num_id: str, ilvl: int) -> str:
        if num_id in ("", "0") or num_id not in self.definitions.nums:
            return ""
        abstract_id, starts, overrides = self.definitions.nums[num_id]
        levels = {**self.definitions.abstracts.get(abstract_id, {}), **overrides}
        level = levels.get(ilvl, Level())
        # a num restarting its levels counts on its own; plain nums of one abstractNum share the counters
        key = ("num", num_id) if starts else ("abstract", abstract_id)
        counts = self.counters.setdefault(key, {})
        counts[ilvl] = counts[ilvl] + 1 if ilvl in counts else starts.get(ilvl, level.start)
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]
        if level.fmt in ("bullet", "none"):
            return ""
        text = _PLACEHOLDER.sub(lambda m: self._format(levels, counts, starts, int(m.group(1)) - 1), level.text)
        return text + level.suffix if text else ""

    def _format(self, levels: dict[int, Level], counts: dict[int, int], starts: dict[int, int], ilvl: int) -> str:
        level = levels.get(ilvl, Level())
        value = counts.get(ilvl, starts.get(ilvl, level.start))
        rendered = format_number(value, level.fmt)
        if rendered is None:
            self.unknown_formats.add(level.fmt)
            rendered = str(value)
        return rendered


def format_number(value: int, fmt: str) -> str | None:
    """A counter in one of Word's number formats; None for a format this reader does not know."""
    if fmt in ("decimal", "decimalHalfWidth"):
        return str(value)
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(ch) + 0xFEE0) for ch in str(value))
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting"):
        return int_to_cn(value)
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join(_IDEOGRAPH_DIGITS[int(d)] for d in str(value))
    if fmt == "chineseLegalSimplified":
        return "".join(_LEGAL[int(d)] for d in str(value))
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= value <= len(_CIRCLED):
        return _CIRCLED[value - 1]
    if fmt == "decimalEnclosedParen":
        return f"({value})"
    if fmt == "decimalEnclosedFullstop":
        return f"{value}."
    if fmt == "ideographTraditional" and 1 <= value <= len(_HEAVENLY_STEMS):
        return _HEAVENLY_STEMS[value - 1]
    if fmt in ("lowerLetter", "upperLetter"):
        letter = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(value)
        return roman if fmt == "upperRoman" else roman.lower()
    return None


def _roman(value: int) -> str:
    numerals = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
                (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = []
    for amount, symbol in numerals:
        count, value = divmod(value, amount)
        out.append(symbol * count)
    return "".join(out)


def _level(lvl: XmlElement) -> Level:
    fmt = _val(lvl.find(qn("w:numFmt"))) or "decimal"
    text = _val(lvl.find(qn("w:lvlText")))
    suffix = _SUFFIX.get(_val(lvl.find(qn("w:suff"))) or "tab", "\t")
    return Level(_int(_val(lvl.find(qn("w:start"))), 1), fmt, "" if text is None else text, suffix)


def _val(element: XmlElement | None) -> str | None:
    return None if element is None else element.get(qn("w:val"))


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
