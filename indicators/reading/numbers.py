"""Numbers as the guideline documents write them.

The seeds mix full-width and half-width digits (`方向１`, `１０％`), Chinese numerals (`一款`, `两处`,
`十二`), thousands separators (`1,200`) and multipliers glued to the number (`350万人次`, `1.2亿元`).
Everything here is pure and returns `Decimal`, never float, so that money and counts stay exact.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

# Full-width forms that NFKC would also fold, plus the dashes and tildes used for ranges.
_DASHES = "\u2014\u2013\u2012\u2015\u2212\uff0d\u301c\uff5e~"


def normalize_width(text: str) -> str:
    """Fold full-width ASCII (digits, letters, ％, ＜, ：…) to half-width, keep CJK punctuation.

    NFKC would also rewrite `①` into `1` and `（` into `(`: markers and brackets matter to the
    parsers, so only the U+FF01–U+FF5E block and the ideographic space are folded.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A or ch in "％．＋＜＞＝":
            out.append(chr(code - 0xFEE0))
        elif ch == "\u3000" or ch == "\xa0":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "".join(_CN_SMALL_UNITS) + "".join(_CN_BIG_UNITS)


def parse_cn_integer(text: str) -> int | None:
    """`十二` → 12, `二十` → 20, `一百零五` → 105, `两` → 2, `三万` → 30000; None if not a numeral."""
    if not text or any(ch not in CN_NUMERAL_CHARS for ch in text):
        return None
    total = section = digit = 0
    seen_digit = False
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            seen_digit = True
        elif ch in _CN_SMALL_UNITS:
            # `十二`: a unit with no digit before it means one of it.
            section += (digit if seen_digit else 1) * _CN_SMALL_UNITS[ch]
            digit, seen_digit = 0, False
        else:
            section += digit
            total += (section or 1) * _CN_BIG_UNITS[ch]
            section = digit = 0
            seen_digit = False
    return total + section + digit


_ARABIC = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$|^\.\d+$")


def parse_decimal(text: str) -> Decimal | None:
    """A plain number, full-width or with thousands separators (`1,200`, `８５.５`); None otherwise."""
    s = normalize_width(text).strip()
    if not _ARABIC.match(s):
        return None
    try:
        return Decimal(s.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regex already guards it
        return None


def parse_number(text: str) -> Decimal | None:
    """Arabic or Chinese numeral, with an optional 万/亿 multiplier: `1.2亿` → 120000000.

    The multiplier is applied to the value; callers that want 万元 divide by 10 000 themselves.
    """
    s = normalize_width(text).strip()
    multiplier = 1
    while s and s[-1] in _CN_BIG_UNITS and len(s) > 1:
        multiplier *= _CN_BIG_UNITS[s[-1]]
        s = s[:-1]
    value = parse_decimal(s)
    if value is None:
        cn = parse_cn_integer(s)
        if cn is None:
            return None
        value = Decimal(cn)
    return value * multiplier


def is_range_dash(ch: str) -> bool:
    """The characters the seeds use between the ends of a range (`100万元—300万元`, `0.8GHz～18GHz`)."""
    return ch in _DASHES or ch == "-"


def to_plain(value: Decimal) -> int | float:
    """JSON-friendly number: an int when the value is whole, else a float (for the jsonl output)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def strip_chars(text: str) -> str:
    """Remove all Unicode whitespace (the seeds contain NBSP inside numbers: `200\\xa0小时`)."""
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("Z") and ch not in "\t\r\n")
