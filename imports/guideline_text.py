"""Character-level helpers for guideline text: bookmarks, width folding, Chinese numerals, bracket depth.

Patterns elsewhere run on *folded* text (`fold`), which maps full-width forms to ASCII one character for one
character, so an index into the folded text is an index into the original: titles and clause texts are always
sliced from the original, never from the folded copy (004 L21 keeps its full-width `２项`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# 002 carries 805 Word bookmarks (`[bookmark: _Toc1934353223]二、绿色化工`), some with an ASCII colon inside;
# they go before anything else looks at a line.
BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")

CN_DIGITS = "零〇一二两三四五六七八九"
CN_NUMERAL = "[零〇一二两三四五六七八九十百]+"  # 子方向十二 (000 L165)

_CN_VALUE = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
_CN_NAMES = "一二三四五六七八九"

# Brackets that protect separators inside them (taxonomy S1: `（1TB）`, `（含3年）` never split a clause).
# `<`/`>` are comparators in indicators (`氢含量<0.12ml`), so they are not brackets here.
OPENING = "（(【[〔《“‘{"
CLOSING = "）)】]〕》”’}"

# Leading whitespace that marks a surviving paragraph of a lost heading in 002 (L2 `␠围绕我区粮油…`).
LEADING_SPACE = (" ", "\t", "\u3000", "\xa0")

# What a clause text may not end with (taxonomy §1: no trailing `。；;，`; a colon ends an intro such as
# `内容：1.…`).
TRAILING = "。；;，,、：: \t\u3000\xa0"


def strip_bookmarks(line: str) -> str:
    return BOOKMARK.sub("", line)


def _fold_table() -> dict[int, str]:
    table = {}
    for code in range(0xFF01, 0xFFEF + 1):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and folded != chr(code):
            table[code] = folded
    table.update({0x3000: " ", 0xA0: " ", ord("∶"): ":"})  # ∶ (U+2236 RATIO) is a colon in 002 L760
    return table


_FOLD = _fold_table()


_NEEDS_FOLD = re.compile("[" + "".join(re.escape(chr(code)) for code in _FOLD) + "]")
_BRACKET = re.compile("[" + re.escape(OPENING + CLOSING) + "]")


def fold(text: str) -> str:
    """Full-width ASCII forms to ASCII (`（１）：` → `(1):`), NBSP and ideographic space to a space.

    Length-preserving on purpose; circled numbers (①) and Chinese punctuation (`。`, `、`) are kept."""
    return _NEEDS_FOLD.sub(_fold_char, text)  # faster than str.translate on long Chinese lines


def _fold_char(match: re.Match[str]) -> str:
    return _FOLD[ord(match.group())]


def cn_to_int(numeral: str) -> int | None:
    """`三` → 3, `十二` → 12, `二十一` → 21, `一百零五` → 105; None when not a numeral."""
    if not numeral or any(ch not in _CN_VALUE and ch not in "十百" for ch in numeral):
        return None
    total, current = 0, 0
    for ch in numeral:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + _CN_VALUE[ch] if current else _CN_VALUE[ch]
    return total + current


def int_to_cn(value: int) -> str:
    """3 → `三`, 12 → `十二`, 21 → `二十一` (what 000 and Word's chineseCounting write)."""
    if value <= 0:
        return str(value)
    if value < 10:
        return _CN_NAMES[value - 1]
    if value < 20:
        return "十" + (_CN_NAMES[value - 11] if value > 10 else "")
    if value < 100:
        tens, units = divmod(value, 10)
        return _CN_NAMES[tens - 1] + "十" + (_CN_NAMES[units - 1] if units else "")
    return str(value)  # beyond any heading number seen in guidelines


def number_of(numeral: str) -> int | None:
    """A marker's number, Arabic (full-width folded) or Chinese."""
    folded = fold(numeral)
    if folded.isdigit():
        return int(folded)
    return cn_to_int(numeral)


def depths(text: str) -> list[int]:
    """Bracket depth *before* each character; a closing bracket at depth 0 is ignored."""
    level = [0] * len(text)
    depth, begin = 0, 0
    for match in _BRACKET.finditer(text):
        pos = match.start()
        if depth:
            level[begin:pos + 1] = [depth] * (pos + 1 - begin)
        if text[pos] in OPENING:
            depth += 1
        elif depth:
            depth -= 1
        begin = pos + 1
    if depth:
        level[begin:] = [depth] * (len(text) - begin)
    return level


def is_balanced(text: str) -> bool:
    """Every opening bracket is closed. A stray closing one (000 L373 `8(B))`) is harmless: `depths` skips it."""
    depth = 0
    for ch in text:
        if ch in OPENING:
            depth += 1
        elif ch in CLOSING and depth > 0:
            depth -= 1
    return depth == 0


def split_spans(text: str, separators: str, start: int = 0, end: int | None = None,
                level: list[int] | None = None) -> Iterator[tuple[int, int]]:
    """Spans of `text[start:end]` between separators (separator excluded); with `level` (from `depths`) only
    separators at bracket depth 0 count."""
    stop = len(text) if end is None else end
    begin = start
    for pos in range(start, stop):
        if text[pos] in separators and (level is None or level[pos] == 0):
            yield begin, pos
            begin = pos + 1
    yield begin, stop


def trim_span(text: str, start: int, end: int, trailing: str = TRAILING) -> tuple[int, int]:
    """Shrink a span: leading whitespace and separators, trailing whitespace and separators (`。；;，`)."""
    while start < end and text[start] in TRAILING:
        start += 1
    while end > start and text[end - 1] in trailing:
        end -= 1
    return start, end


def has_leading_space(raw: str) -> bool:
    return raw.startswith(LEADING_SPACE) and bool(raw.strip())
