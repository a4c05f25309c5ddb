"""Bracket depth, quotes and depth-0 splitting over a clause (taxonomy S1–S3: markers and separators only
count at parenthesis depth 0, so `（1TB）` or `（含3年）` never split a clause).

Everything works on indices into the width-folded text, which has the same length as the original, so a
span maps back to a verbatim substring.
"""

from __future__ import annotations

OPENING = "（(【[〔{｛"
CLOSING = "）)】]〕}｝"
QUOTE_PAIRS = {"“": "”", "‘": "’", "「": "」", "『": "』", "《": "》", "〈〈": "〉〉"}

#: Separators between requirements inside one clause (S2/S3). `。` and `；` end a sentence; commas join.
SENTENCE_SEPARATORS = "。；;"
COMMAS = "，,"


def depths(text: str) -> list[int]:
    """Parenthesis depth of every character (the brackets themselves count as inside). Never negative."""
    out = []
    depth = 0
    for ch in text:
        if ch in OPENING:
            depth += 1
            out.append(depth)
        elif ch in CLOSING:
            out.append(depth)
            depth = max(0, depth - 1)
        else:
            out.append(depth)
    return out


def quoted(text: str) -> list[bool]:
    """True for characters inside Chinese quotes or book-title marks: `“一控两槽”` is a name, not a count."""
    out = [False] * len(text)
    i = 0
    while i < len(text):
        close = QUOTE_PAIRS.get(text[i])
        if close:
            j = text.find(close, i + 1)
            if j != -1 and j - i <= 40:
                for k in range(i, j + 1):
                    out[k] = True
                i = j + 1
                continue
        i += 1
    return out


def split_at(text: str, separators: str, lo: int = 0, hi: int | None = None,
             depth: list[int] | None = None) -> list[tuple[int, int]]:
    """Spans of ``text[lo:hi]`` between separators at depth 0 (relative to the depth at ``lo``)."""
    hi = len(text) if hi is None else hi
    depth = depths(text) if depth is None else depth
    base = depth[lo] if lo < len(depth) and text[lo] not in OPENING else (depth[lo] - 1 if lo < len(depth) else 0)
    spans = []
    start = lo
    for i in range(lo, hi):
        if text[i] in separators and depth[i] <= base:
            spans.append((start, i))
            start = i + 1
    spans.append((start, hi))
    return spans


def trim(text: str, lo: int, hi: int, chars: str = " \t。；;，,、") -> tuple[int, int]:
    """Shrink a span past leading and trailing separators and spaces."""
    while lo < hi and text[lo] in chars:
        lo += 1
    while hi > lo and text[hi - 1] in chars:
        hi -= 1
    return lo, hi


def openers(text: str) -> list[int | None]:
    """For every position, the index of the innermost bracket still open before it (None at depth 0).
    One pass, so that callers asking for many positions stay linear."""
    out: list[int | None] = []
    stack: list[int] = []
    for i, ch in enumerate(text):
        out.append(stack[-1] if stack else None)
        if ch in OPENING:
            stack.append(i)
        elif ch in CLOSING and stack:
            stack.pop()
    out.append(stack[-1] if stack else None)
    return out


def closers(text: str) -> dict[int, int]:
    """Index of the matching closing bracket for every opening bracket that is closed."""
    out: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in OPENING:
            stack.append(i)
        elif ch in CLOSING and stack:
            out[stack.pop()] = i
    return out


def enclosing_open(text: str, pos: int, lo: int) -> int | None:
    """Index of the unclosed opening bracket before ``pos`` (not before ``lo``), or None at depth 0."""
    level = 0
    for i in range(pos - 1, lo - 1, -1):
        ch = text[i]
        if ch in CLOSING:
            level += 1
        elif ch in OPENING:
            if level == 0:
                return i
            level -= 1
    return None


def strip_brackets(text: str) -> str:
    """Drop bracketed asides (`（含境外、国外）`), for cue matching on the main phrase."""
    out = []
    level = 0
    for ch in text:
        if ch in OPENING:
            level += 1
        elif ch in CLOSING:
            level = max(0, level - 1)
        elif level == 0:
            out.append(ch)
    return "".join(out)
