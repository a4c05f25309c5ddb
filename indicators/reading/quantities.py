"""Quantities written in a clause: a number (or a range `A—B`, a tolerance `A±d`, a bound `±d`) with its
unit and the comparators around it (indicator-taxonomy §4, §5).

The scanner reads every number and says why the ones that are not values are skipped: identifiers and
class names (`T2`, `DDR4`, `GB/T 31485`, `7xxx`, `20～22T`, `355MPa级别`), quoted names (`“一控两槽”`),
dates, time scopes (`3年`), and conditions glued to the number (`2000h后`, `为2.25时`, `@100Hz`).
Which numbers are conditions of a test or baselines is decided later, with the clause around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from indicators.reading import units as u
from indicators.reading.comparators import Comparator, find_prefix, find_suffix
from indicators.reading.numbers import parse_cn_integer
from indicators.reading.spans import quoted

_ARABIC = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?")
# `1×10-3`, `1×10^-12`: scientific notation as the seeds write it (001 L104).
_SCIENTIFIC = re.compile(r"[ \t]*[×xX*][ \t]*10[ \t]*\^?[ \t]*([-−]?\d{1,2})(?![\d.])")
_CN_NUMERAL = re.compile(r"[一二两三四五六七八九十百千]+")
_RANGE_DASH = re.compile(r"[ \t]*(?:—+|–|~|～|〜|-|－|至|到)[ \t]*(?=[-−]?\d|[一二两三四五六七八九十])")
_PLUS_MINUS = re.compile(r"[ \t]*±[ \t]*(?=\d)")
# `50＜Φ≤127`: a number followed by `<` or `≤`, a short symbol and another comparator is a lower bound.
_REVERSED_INTERVAL = re.compile(r"[ \t]*(<=|≤|<)[ \t]*[^\d\s，；。,;]{1,4}?[ \t]*(?:<=|≤|<)")
_REVERSED_OPS = {"<=": ">=", "≤": ">=", "<": ">"}
_DIMENSION = re.compile(r"[ \t]*[x×X*][ \t]*\d")
_CONDITION_AFTER = re.compile(r"[ \t]*(?:后|时|之后|以后|内(?!容|部|径|置|在))(?![间期])")
_CLASS_AFTER = re.compile(r"级别")
_DATE = re.compile(r"(?:19|20)\d\d$")
# Characters before a Chinese numeral that make it part of a word (`第一`, `统一`, `唯一`, `之一`).
_CN_WORD_BEFORE = set("第统唯之其万进某任同逐每单专意另")
_CN_WORDS = ("一带一路", "一次性", "一部分", "一站式", "一系列", "一条龙", "一方面", "一揽子", "一体")
_ABSURD = Decimal(10) ** 12
_DIGITS = "0123456789"
_IDENTIFIER_TAIL = re.compile(r"[A-Za-z0-9.\-/+_]*")


@dataclass(eq=False)  # identity: quantities are looked up in lists of their own clause
class Quantity:
    """One value as written; ``ignored`` says why it is not a target value."""

    start: int  # first character: comparator symbol, sign, ± or digit
    num_start: int
    end: int  # after the unit and a suffix comparator
    unit_end: int
    low: Decimal | None
    high: Decimal | None = None
    shape: str = "single"  # single | range | tolerance (A±d) | bound (±d)
    unit: str | None = None
    family: str = u.NONE
    prefix: Comparator | None = None
    suffix: Comparator | None = None
    reversed_op: str | None = None
    chinese: bool = False
    notes: list[str] = field(default_factory=list)
    ignored: str | None = None
    raw: str = ""


def _in_fixed_word(text: str, i: int) -> bool:
    """True when position ``i`` lies inside a fixed expression such as `一带一路` or `一次性`."""
    for word in _CN_WORDS:
        k = text.find(word, max(0, i - len(word) + 1))
        if k != -1 and k <= i < k + len(word):
            return True
    return False


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.quoted = quoted(text)
        self.out: list[Quantity] = []

    # -- numbers ---------------------------------------------------------------------------------
    def _arabic(self, i: int) -> tuple[Decimal, int] | None:
        m = _ARABIC.match(self.s, i)
        if not m:
            return None
        value = _decimal(m.group())
        if value is None:
            return None
        end = m.end()
        sci = _SCIENTIFIC.match(self.s, end)
        if sci:
            exponent = int(sci.group(1).replace("−", "-"))
            value = value.scaleb(exponent)
            end = sci.end()
        return value, end

    def _signed(self, i: int) -> tuple[Decimal, int, int] | None:
        """(value, start, end) for a number at ``i`` with an optional minus sign before it."""
        start = i
        negative = False
        if self.s[i] in "-−－" and i + 1 < len(self.s) and self.s[i + 1] in _DIGITS:
            negative, i = True, i + 1
        got = self._arabic(i)
        if got is None:
            cn = _CN_NUMERAL.match(self.s, i)
            if not cn:
                return None
            value = parse_cn_integer(cn.group())
            if value is None:
                return None
            return Decimal(value), start, cn.end()
        value, end = got
        return (-value if negative else value), start, end

    # -- scanning --------------------------------------------------------------------------------
    def scan(self) -> list[Quantity]:
        s = self.s
        i = 0
        while i < len(s):
            ch = s[i]
            if ch in _DIGITS and (i == 0 or not (s[i - 1] in _DIGITS or s[i - 1] == ".")):
                i = self._at_number(i, chinese=False)
            elif ch in "一二两三四五六七八九十" and (i == 0 or s[i - 1] not in "一二两三四五六七八九十百千零"):
                i = self._at_number(i, chinese=True)
            else:
                i += 1
        return self.out

    def _identifier(self, i: int) -> bool:
        """A number glued to letters or a slash is part of a name: `T2`, `DDR4`, `QCT 743`, `λ/63`."""
        j = i - 1
        if j >= 0 and self.s[j] in "-−－":
            j -= 1
        if j >= 0 and self.s[j] == " ":
            j -= 1
        if j >= 0 and self.s[j] in "/+_#.∠":
            return True
        if j >= 0 and self.s[j].isascii() and self.s[j].isalpha():
            if self.s[j + 1] == " ":  # `PCT 1件`: a name, then a count
                m = _ARABIC.match(self.s, i)
                unit = u.read_unit(self.s, m.end()) if m else None
                return not (unit is not None and unit.family == u.COUNT)
            return True
        return False

    def _skip_identifier(self, i: int) -> int:
        m = _IDENTIFIER_TAIL.match(self.s, i)
        return max(m.end(), i + 1)

    def _at_number(self, i: int, chinese: bool) -> int:
        s = self.s
        if chinese:
            return self._at_chinese(i)
        start = i
        if i > 0 and s[i - 1] in "-−－" and (i < 2 or not (s[i - 2].isalnum() and s[i - 2].isascii())):
            start = i - 1  # a minus sign: `-55℃`, `≥-20dBm`
        if self._identifier(start):
            q = Quantity(start, start, self._skip_identifier(i), i, None, ignored="identifier")
            q.raw = s[start:q.end]
            self.out.append(q)
            return q.end
        first = self._signed(start)
        if first is None:
            return i + 1
        low, _, j = first
        q = Quantity(start, start, j, j, low)
        if self.quoted[i]:
            q.ignored = "quoted"
        if _DIMENSION.match(s, j):
            q.ignored = "dimension"
            m = re.compile(r"(?:[ \t]*[x×X*][ \t]*\d+(?:\.\d+)?)+").match(s, j)
            j = m.end() if m else j
        unit1 = u.read_unit(s, j)
        after1 = unit1.end if unit1 and unit1.unit else j
        tol = _PLUS_MINUS.match(s, after1)
        dash = None if tol else _RANGE_DASH.match(s, after1)
        unit = unit1
        if tol:
            second = self._signed(tol.end())
            if second is not None:
                q.shape, q.high = "tolerance", second[0]
                j = second[2]
                unit2 = u.read_unit(s, j)
                unit = unit2 if unit2 and unit2.unit else unit1
                after1 = unit2.end if unit2 and unit2.unit else j
        elif dash:
            second = self._signed(dash.end())
            if second is not None:
                q.shape, q.high = "range", second[0]
                j = second[2]
                unit2 = u.read_unit(s, j)
                if unit2 and unit2.unit:
                    unit = unit2
                    after1 = unit2.end
                elif unit2 and unit2.unknown:
                    unit = unit2
                    after1 = j
                else:
                    after1 = j
        self._finish(q, unit, after1)
        return max(q.end, i + 1)

    def _at_chinese(self, i: int) -> int:
        s = self.s
        m = _CN_NUMERAL.match(s, i)
        end = m.end()
        value = parse_cn_integer(m.group())
        unit_char = s[end] if end < len(s) else ""
        if (value is None or unit_char not in u.CN_NUMERAL_UNITS
                or (i > 0 and s[i - 1] in _CN_WORD_BEFORE) or _in_fixed_word(s, i)):
            return end
        q = Quantity(i, i, end, end, Decimal(value), chinese=True)
        if self.quoted[i]:
            q.ignored = "quoted"
        unit = u.read_unit(s, end)
        self._finish(q, unit, unit.end if unit else end)
        return q.end

    def _finish(self, q: Quantity, unit: u.UnitMatch | None, pos: int) -> None:
        s = self.s
        if unit is not None and unit.unknown:
            q.ignored = q.ignored or "class"  # `20～22T`, `7xxx`, `5G`
            q.raw = s[q.start:pos + len(unit.unknown)]
            q.end = q.unit_end = pos + len(unit.unknown)
            q.notes.append(f"未识别的单位“{unit.unknown}”")
            self.out.append(q)
            return
        if unit is not None and unit.unit:
            q.unit, q.family = unit.unit, unit.family
            if unit.scale != 1:
                q.low = None if q.low is None else q.low * unit.scale
                q.high = None if q.high is None else q.high * unit.scale
            if unit.typo:
                q.notes.append(unit.typo)
            pos = unit.end
            # `1亿元万元` (001 L46): a duplicated money unit; the first one is read (§9 #21).
            if q.family == u.MONEY and s.startswith("万元", pos):
                q.notes.append(f"单位重复“{s[q.num_start:pos + 2]}”，按“{unit.raw}”读取")
                pos += 2
        q.unit_end = pos
        if (unit is not None and unit.unit and len(unit.raw) == 1 and unit.raw.isascii() and unit.raw.isalpha()
                and pos < len(s) and "\u4e00" <= s[pos] <= "\u9fff"):
            q.ignored = q.ignored or "class"
        if _CLASS_AFTER.match(s, pos) and q.unit:
            q.ignored = q.ignored or "class"  # `355MPa级别新产品`: a grade in a name
        if q.family == u.DURATION:
            q.ignored = q.ignored or "period"
        if _CONDITION_AFTER.match(s, pos) and not s.startswith("时间", pos):
            q.ignored = q.ignored or "condition"  # `台架耐久时间2000h后`, `强化系数为2.25时`
        if q.unit is None and q.high is None and _DATE.match(s[q.num_start:pos]) and s.startswith("年", pos):
            q.ignored = q.ignored or "date"
        rev = _REVERSED_INTERVAL.match(s, pos)
        if rev and q.unit is None:
            q.reversed_op = _REVERSED_OPS[rev.group(1)]
        q.suffix = find_suffix(s, pos)
        if q.suffix is not None:
            pos = q.suffix.end
            if q.suffix.typo:
                q.notes.append(q.suffix.typo)
        q.end = max(pos, q.unit_end)
        q.raw = s[q.start:q.end]
        if q.low is not None and (abs(q.low) > _ABSURD or (q.high is not None and abs(q.high) > _ABSURD)):
            q.notes.append(f"数值过大（{q.raw}），请核对")
        self.out.append(q)


def scan(text: str) -> list[Quantity]:
    """Every number in the width-folded ``text``, left to right."""
    return _Scanner(text).scan()


def attach_prefix(text: str, q: Quantity, lo: int) -> None:
    """Find the comparator before ``q`` (no earlier than ``lo``); a `±` between them is skipped."""
    start = q.start
    if start > 0 and text[start - 1] == "±":
        q.shape = "bound" if q.shape == "single" else q.shape
        start -= 1
    q.prefix = find_prefix(text, lo, start)
    if q.prefix is not None and q.prefix.typo:
        q.notes.append(q.prefix.typo)


__all__ = ["Quantity", "attach_prefix", "scan"]
