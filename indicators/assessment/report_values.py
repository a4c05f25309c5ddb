"""A value a grantee reports against a target, read into the target's unit (DESIGN §2 "Progress report").

Grantees write the number as they have it: `1.2亿元` against a 万元 target, `1.2万人次`, `50000元`, `30分钟`.
The unit rules are the taxonomy's (indicator-taxonomy §5) and the unit parser is the one of the indicator
reader (``units.read_unit`` through ``target_edit.normalize_unit``); this module adds only the scale between
units of one kind (元/万元/亿元, kg/吨, mm/m, s/min/h…), so that progress compares like with like. A unit of
another kind is refused rather than guessed. Nothing raises: a problem comes back as a Chinese message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from indicators.reading import units as u
from indicators.reading.numbers import normalize_width, parse_cn_integer, parse_decimal
from indicators.reading.target_edit import MAX_VALUE, normalize_unit


@dataclass(frozen=True)
class ValueReading:
    """A number typed by a grantee, read into the target's unit, or why it could not be."""

    value: Decimal | None  # in the target's unit; None when the text was empty or rejected
    error: str | None  # Chinese, for the form


# ------------------------------------------------------------------------------------------------
# Scales between units of one kind
# ------------------------------------------------------------------------------------------------

_SI = {"p": "1e-12", "n": "1e-9", "μ": "1e-6", "m": "1e-3", "": "1", "k": "1e3", "M": "1e6", "G": "1e9",
       "T": "1e12"}


def _si(kind: str, symbol: str, prefixes: str) -> dict[str, tuple[str, Decimal]]:
    """`mm`, `m`, `km` … as multiples of the base symbol; a prefix is one character, `-` is none."""
    return {(p if p != "-" else "") + symbol: (kind, Decimal(_SI[p if p != "-" else ""])) for p in prefixes}


def _table(kind: str, **factors: str) -> dict[str, tuple[str, Decimal]]:
    return {unit: (kind, Decimal(factor)) for unit, factor in factors.items()}


# unit → (kind, factor to the kind's base unit). Only exact scales: `亩` (1/15 公顷) and data sizes
# (1000 or 1024?) are left out, and calendar months and years do not mix with days.
_SCALES: dict[str, tuple[str, Decimal]] = {
    **_table(u.MONEY, 元="1", 万元="1e4", 亿元="1e8"),
    **_table(u.MASS, mg="1e-6", g="1e-3", kg="1", 吨="1e3", t="1e3"),
    **_si("length", "m", "pnμm-k"),
    **{"mm²": ("area", Decimal("1e-6")), "cm²": ("area", Decimal("1e-4")), "m²": ("area", Decimal(1)),
       "公顷": ("area", Decimal("1e4")), "km²": ("area", Decimal("1e6"))},
    **{"μl": ("volume", Decimal("1e-6")), "ml": ("volume", Decimal("1e-3")), "cm³": ("volume", Decimal("1e-3")),
       "L": ("volume", Decimal(1)), "m³": ("volume", Decimal("1e3"))},
    **_si("time", "s", "nμm-"),
    **_table("time", min="60", h="3600", d="86400", 周="604800"),
    **_table("calendar", 月="1", 年="12"),
    **_si("frequency", "Hz", "-kMGT"),
    **_si("power", "W", "m-kMG"),
    **_si("energy", "J", "-kMG"),
    **_table("energy", mWh="3.6", Wh="3600", kWh="3.6e6"),
    **_si("voltage", "V", "m-k"),
    **_si("current", "A", "m-"),
    **_si("charge", "Ah", "m-"),
    **_si("pressure", "Pa", "-kMG"),
    **_si("force", "N", "-kM"),
    **_si("resistance", "Ω", "m-k"),
    **_si("rate", "bps", "-kMGT"),
    **_table(u.PERCENT, **{"%": "1", "‰": "0.1"}),
}


def _plain(value: Decimal) -> Decimal:
    """12000, not 1.2E+4: trailing zeros of the fraction dropped, those of a whole number kept."""
    value = value.normalize()
    if value == 0:
        return Decimal(0)
    if value.as_tuple().exponent > 0:
        return value.quantize(Decimal(1))
    return value


def _split_per(unit: str) -> tuple[str, str]:
    """`万元/年` → (`万元`, `/年`); `Wh/kg` → (`Wh`, `/kg`)."""
    base, slash, per = unit.partition("/")
    return base, slash + per


def convert(value: Decimal, from_unit: str | None, to_unit: str | None) -> Decimal | None:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (normalised units); None when they measure
    different things. A value without `/年` may be reported against a per-year target: it is the year's."""
    if from_unit == to_unit:
        return _plain(value)
    if from_unit is None or to_unit is None:
        return None
    from_base, from_per = _split_per(from_unit)
    to_base, to_per = _split_per(to_unit)
    if from_per != to_per and not (from_per == "" and to_per == "/年"):
        return None
    if from_base == to_base:
        return _plain(value)
    source, target = _SCALES.get(from_base), _SCALES.get(to_base)
    if source is None or target is None or source[0] != target[0]:
        return None
    return _plain(value * source[1] / target[1])


# ------------------------------------------------------------------------------------------------
# Reading the text
# ------------------------------------------------------------------------------------------------

_SIGNS = {"-": -1, "−": -1, "－": -1, "+": 1}
_ARABIC = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+")
# A Chinese numeral starts with a digit or 十 (`千瓦` is a unit, not a thousand); a trailing 万/亿 is left
# to the unit, as it is after an Arabic number (`十万` against a 万元 target is 10 万元).
_CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千万亿]*")
_NOT_A_UNIT = re.compile(r"[0-9.,]|[eE][+-]?\d")  # `1.2.3`, `1,20`, `1e5`
_BARE_MULTIPLIER = re.compile(r"(千万|百万|万|亿)(/年)?")
_MULTIPLIERS = {"千万": Decimal(10_000_000), "百万": Decimal(1_000_000), "万": Decimal(10_000),
                "亿": Decimal(100_000_000)}


def _read_number(text: str) -> tuple[Decimal | None, str]:
    """(number, the rest of the text); None when the text does not start with a number."""
    sign = _SIGNS.get(text[:1])
    body = text[1:].lstrip() if sign is not None else text
    m = _ARABIC.match(body)
    if m:
        number, end = parse_decimal(m.group()), m.end()
    else:
        m = _CN_NUMERAL.match(body)
        numeral = m.group().rstrip("万亿") if m else ""
        cn = parse_cn_integer(numeral) if numeral else None
        number, end = (Decimal(cn) if cn is not None else None), len(numeral)
    if number is None:
        return None, text
    rest = body[end:].strip()
    if _NOT_A_UNIT.match(rest):
        return None, text
    return (-number if sign == -1 else number), rest


def _unit_error(written: str, target_unit: str) -> str:
    return f"单位“{written[:20]}”不能换算为“{target_unit}”"


def _in_target_unit(number: Decimal, written: str, target_unit: str | None) -> tuple[Decimal | None, str | None]:
    """The number with the unit written after it, in the target's unit."""
    if not written or written == target_unit:
        return number, None
    bare = _BARE_MULTIPLIER.fullmatch(written)
    if bare and not u.is_money(target_unit):
        # `1.2万` against a count: the multiplier goes into the value; against money 万 is 万元 (§5)
        value = number * _MULTIPLIERS[bare.group(1)]
        if bare.group(2) and not (target_unit or "").endswith("/年"):
            return None, _unit_error(written, target_unit or "无单位")
        return value, None
    unit, scale, error = normalize_unit(written)
    if error or unit is None:
        return None, f"无法识别的单位“{written[:20]}”"
    if target_unit is None:
        return None, f"该指标没有单位，请只填写数字（填写了“{written[:20]}”）"
    converted = convert(number * scale if scale != 1 else number, unit, target_unit)
    if converted is None:
        return None, _unit_error(written, target_unit)
    return converted, None


def read_value(text: str, target_unit: str | None, *, allow_negative: bool = False) -> ValueReading:
    """Read a reported value into ``target_unit``; a bare number is taken to be in it already.

    ``allow_negative`` is for level targets that can lie below zero (a temperature).
    """
    raw = normalize_width(text or "").strip()
    if not raw:
        return ValueReading(None, None)
    number, rest = _read_number(raw)
    if number is None:
        return ValueReading(None, f"“{raw[:20]}”不是数字")
    if number < 0 and not allow_negative:
        return ValueReading(None, "不能为负数")
    value, error = _in_target_unit(number, rest, target_unit or None)
    if error or value is None:
        return ValueReading(None, error)
    if abs(value) > MAX_VALUE:
        return ValueReading(None, "数值大得不合理，请检查单位和数字")
    return ValueReading(_plain(value), None)
