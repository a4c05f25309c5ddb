"""Units of indicator values, normalised the taxonomy's way (indicator-taxonomy §5).

- Money is 万元: `亿元` ×10000, `元` ÷10000, and `万` with no unit after it counts as 万元.
- Numeral multipliers go into the value for every other unit: `350万人次` → 3500000 人次, `万吨` → 吨.
- Counts keep their measure word (`件`, `项`, `人次`…); `人/次` is `人次`.
- Physical units use SI symbols (`纳米` → nm, `°C` → ℃, `us` → μs, `Mpa` → MPa, `cm3` → cm³).
- Compound units are kept as written after normalising each part (`W/cm3` → `W/cm³`, `条/秒` → `条/s`).

A *family* says what kind of quantity the unit measures; it drives the default comparator (C1: counts,
money and masses are minimums; C2: bare parameters are nominal) and the kind of target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

# Families.
MONEY = "money"
COUNT = "count"  # a measure word: 件, 项, 人, 家 …
MASS = "mass"  # 吨, kg: production volumes accumulate (C1)
AMOUNT = "amount"  # data volume (TB): accumulates like a count
PERCENT = "percent"
POINTS = "points"  # 百分点
MULTIPLE = "multiple"  # 倍
SCORE = "score"  # 分 (满意度得分)
GRADE = "grade"  # 级
PHYSICAL = "physical"
AREA = "area"  # m², 亩: a site or a planted area
DURATION = "duration"  # 年, 月: usually a time scope, not a target
NONE = "none"  # no unit written

#: Families whose bare values are minimums (C1) and whose targets accumulate.
CUMULATIVE_FAMILIES = frozenset({MONEY, COUNT, MASS, AMOUNT})

_WAN = Decimal(10_000)
_YI = Decimal(100_000_000)

# Chinese multipliers that may sit between the number and the unit.
_MULTIPLIERS = {"千万": Decimal(10_000_000), "百万": Decimal(1_000_000), "万": _WAN, "亿": _YI}

# Measure words (count units), longest first where one is a prefix of another.
COUNT_WORDS = (
    "人/次", "人次", "场次", "家次", "项次", "台套", "个百分点", "百分点", "通道",
    "件", "项", "个", "篇", "套", "条", "人", "名", "家", "次", "场", "份", "台", "种", "款", "部", "类",
    "处", "点", "颗", "羽", "辆", "路", "档", "株", "头", "只", "本", "册", "所", "座", "间", "组", "支",
    "位", "户", "块", "张", "棵", "例", "批", "届", "期", "轮", "门", "首", "批次", "款次",
)
#: Measure words a Chinese numeral may quantify (`一款`, `两处`); fewer than above, because `一次性`,
#: `一部分`, `三级` or `一期` are words, not counts.
CN_NUMERAL_UNITS = frozenset("件项个篇套条人名家场份台种款部处座所株只头本册例位支辆颗路组类")

# Chinese unit names → SI symbols (§5). Longest first.
_CJK_PHYSICAL = (
    ("平方米", "m²", AREA), ("平方公里", "km²", AREA), ("立方米", "m³", PHYSICAL), ("公顷", "公顷", AREA),
    ("纳米", "nm", PHYSICAL), ("微米", "μm", PHYSICAL), ("毫米", "mm", PHYSICAL), ("厘米", "cm", PHYSICAL),
    ("千米", "km", PHYSICAL), ("公里", "km", PHYSICAL), ("米", "m", PHYSICAL),
    ("纳秒", "ns", PHYSICAL), ("微秒", "μs", PHYSICAL), ("毫秒", "ms", PHYSICAL), ("秒", "s", PHYSICAL),
    ("分钟", "min", PHYSICAL), ("小时", "h", PHYSICAL),
    ("千瓦时", "kWh", PHYSICAL), ("千瓦", "kW", PHYSICAL), ("兆瓦", "MW", PHYSICAL), ("毫瓦", "mW", PHYSICAL),
    ("瓦", "W", PHYSICAL), ("伏", "V", PHYSICAL), ("安培", "A", PHYSICAL), ("毫安", "mA", PHYSICAL),
    ("焦耳", "J", PHYSICAL), ("千克", "kg", MASS), ("公斤", "kg", MASS), ("毫克", "mg", PHYSICAL),
    ("克", "g", PHYSICAL), ("吨", "吨", MASS), ("毫升", "ml", PHYSICAL), ("升", "L", PHYSICAL),
    ("摄氏度", "℃", PHYSICAL), ("赫兹", "Hz", PHYSICAL), ("兆帕", "MPa", PHYSICAL), ("分贝", "dB", PHYSICAL),
    ("英寸", "英寸", PHYSICAL), ("亩", "亩", AREA), ("万元", "万元", MONEY), ("亿元", "亿元", MONEY),
    ("元", "元", MONEY), ("倍", "倍", MULTIPLE), ("分", "分", SCORE), ("级", "级", GRADE),
    ("个月", "月", DURATION), ("年", "年", DURATION), ("月", "月", DURATION), ("天", "d", PHYSICAL),
    ("周", "周", DURATION),
)

# Latin symbols, exact case first; `_LATIN_FOLD` catches the case variants the seeds use (`Mpa`, `nS`,
# `KHz`, `Gj`, `CC`).
_LATIN = {
    "nm": "nm", "μm": "μm", "um": "μm", "mm": "mm", "cm": "cm", "m": "m", "km": "km", "pm": "pm",
    "ns": "ns", "μs": "μs", "us": "μs", "ms": "ms", "s": "s", "min": "min", "h": "h", "d": "d",
    "Hz": "Hz", "kHz": "kHz", "MHz": "MHz", "GHz": "GHz", "THz": "THz",
    "W": "W", "mW": "mW", "kW": "kW", "MW": "MW", "GW": "GW", "Wh": "Wh", "kWh": "kWh", "mWh": "mWh",
    "V": "V", "mV": "mV", "kV": "kV", "A": "A", "mA": "mA", "Ah": "Ah", "mAh": "mAh",
    "J": "J", "kJ": "kJ", "MJ": "MJ", "GJ": "GJ", "N": "N", "kN": "kN", "MN": "MN",
    "Pa": "Pa", "kPa": "kPa", "MPa": "MPa", "GPa": "GPa",
    "dB": "dB", "dBm": "dBm", "dBc": "dBc", "dBi": "dBi",
    "bps": "bps", "kbps": "kbps", "Mbps": "Mbps", "Gbps": "Gbps", "Tbps": "Tbps",
    "KB": "KB", "MB": "MB", "GB": "GB", "TB": "TB", "PB": "PB",
    "g": "g", "mg": "mg", "kg": "kg", "t": "t", "L": "L", "ml": "ml", "mL": "ml", "μl": "μl",
    "ppm": "ppm", "ppb": "ppb", "rpm": "rpm", "lm": "lm", "lx": "lx", "cd": "cd", "K": "K",
    "cc": "cc", "Ω": "Ω", "mΩ": "mΩ", "kΩ": "kΩ", "S": "S", "T": None, "mol": "mol", "Bq": "Bq",
    "cm2": "cm²", "cm3": "cm³", "m2": "m²", "m3": "m³", "mm2": "mm²", "km2": "km²",
    "cm²": "cm²", "cm³": "cm³", "m²": "m²", "m³": "m³", "mm²": "mm²", "km²": "km²",
    "MT": "MT", "GT": "GT", "fps": "fps", "Nm3": "Nm³", "Nm³": "Nm³", "Hazen": "Hazen",
    "Hz·s": "Hz·s", "N·m": "N·m", "kgce": "kgce", "tce": "tce", "kN·m": "kN·m", "dpi": "dpi", "mAh/g": "mAh/g",
}
# Case variants the seeds use; an explicit list, because case matters (`Nm³` is not `nm³`, `MW` not `mW`).
_LATIN_FOLD = {
    "mpa": "MPa", "MPA": "MPa", "Mpa": "MPa", "gpa": "GPa", "Gpa": "GPa", "kpa": "kPa", "Kpa": "kPa", "KPa": "kPa",
    "KHz": "kHz", "Khz": "kHz", "khz": "kHz", "KHZ": "kHz", "Mhz": "MHz", "MHZ": "MHz", "mhz": "MHz",
    "Ghz": "GHz", "GHZ": "GHz", "ghz": "GHz", "hz": "Hz", "HZ": "Hz",
    "Gj": "GJ", "gj": "GJ", "Mj": "MJ", "KJ": "kJ", "Kj": "kJ", "CC": "cc", "nS": "ns", "NS": "ns", "uS": "μs",
    "mS": "ms", "Kg": "kg", "KG": "kg", "KW": "kW", "Kw": "kW", "kw": "kW", "KV": "kV", "Kv": "kV", "kv": "kV",
    "KN": "kN", "Kn": "kN", "DB": "dB", "db": "dB", "Db": "dB", "dbm": "dBm", "DBm": "dBm", "DBM": "dBm",
    "ML": "ml", "Ml": "ml", "PPM": "ppm", "Ppm": "ppm", "RPM": "rpm", "Rpm": "rpm", "r/min": "rpm",
    "um": "μm", "UM": "μm", "NM": "nm", "MM": "mm", "CM": "cm", "KM": "km", "Km": "km",
    "KWh": "kWh", "kwh": "kWh", "Kwh": "kWh", "KWH": "kWh", "MAh": "mAh", "mah": "mAh", "WH": "Wh", "wh": "Wh",
    "GBPS": "Gbps", "gbps": "Gbps", "Gb/s": "Gbps", "MBPS": "Mbps", "mbps": "Mbps", "Tb": "TB", "tb": "TB",
}
# Truncated symbols seen in the seeds; read with a flag (taxonomy §9 #22: `540-720MP`).
LATIN_TYPOS = {"MP": "MPa", "μ": "μm"}  # `厚度13μ`: a length in microns with its `m` dropped
_LATIN_FAMILY = {"kg": MASS, "t": MASS, "TB": AMOUNT, "GB": AMOUNT, "PB": AMOUNT, "MB": AMOUNT, "m²": AREA,
                 "km²": AREA}

# A Latin unit run: letters, μ, Ω, a middle dot, ² ³ and digits glued to a letter (`cm3`).
_LATIN_RUN = re.compile(r"[A-Za-zμΩ][A-Za-zμΩ·]*[23²³]?")
_DENOMINATOR = re.compile(
    r"/(?:[A-Za-zμΩ°℃][A-Za-zμΩ·.²³0-9]*|[0-9]+[A-Za-z][A-Za-z.0-9]*|[秒年批吨天月人次台件小时分钟立方米安培]+)"
)
# `70wt%`, `0wt.%`, `99.85%wt`: a mass fraction keeps its `wt%` (like `%IACS`), it is not a plain percentage
_PERCENT = re.compile(r"wt\.?%|%(?:IACS)?(?:wt)?|‰")
_DEGREE = re.compile(r"°C|°c|℃|°")
_SPACE = re.compile(r"[ \t]*")


@dataclass(frozen=True)
class UnitMatch:
    """A unit read right after a number."""

    raw: str  # as written, multiplier included
    unit: str | None  # normalised (money already in 万元)
    family: str
    scale: Decimal  # multiply the written number by this
    end: int  # index after the unit
    typo: str | None = None  # a note when the unit was read through a known typo
    unknown: str | None = None  # a Latin run that is no known unit


def _read_denominators(text: str, pos: int) -> tuple[str, int]:
    """`/kg`, `/cm3`, `/秒`, `/100g.Al`: normalise each part; `/年` stays for the caller (per-year)."""
    parts = []
    while True:
        m = _DENOMINATOR.match(text, pos)
        if not m:
            break
        part = m.group()[1:]
        cjk = {"秒": "s", "小时": "h", "分钟": "min", "分": "min", "立方米": "m³", "安培": "A", "天": "d", "a": "年"}
        if part in cjk:  # `5万吨/a`: per annum is per year
            part = cjk[part]
        elif part in _LATIN:
            part = _LATIN[part] or part
        elif part in _LATIN_FOLD:
            part = _LATIN_FOLD[part]
        elif part.startswith("t.") or "." in part:
            # `GJ/t.ao`, `ml/100g.Al`: a unit with a qualifier, kept as written
            pass
        parts.append(part)
        pos = m.end()
    return "".join("/" + p for p in parts), pos


def _latin_symbol(run: str) -> tuple[str | None, str | None]:
    """(normalised symbol, typo note) for a Latin run, or (None, None) if unknown."""
    if run in _LATIN:
        return _LATIN[run], None
    if run in LATIN_TYPOS:
        return LATIN_TYPOS[run], f"单位“{run}”按“{LATIN_TYPOS[run]}”读取"
    if run in _LATIN_FOLD:
        return _LATIN_FOLD[run], None
    return None, None


def read_unit(text: str, pos: int) -> UnitMatch | None:
    """Read the unit that starts at ``pos`` (spaces skipped); None when no unit is written.

    ``text`` must already be width-folded (``numbers.normalize_width``).
    """
    start = pos
    pos = _SPACE.match(text, pos).end()
    scale = Decimal(1)
    multiplier = ""
    for word, factor in _MULTIPLIERS.items():
        if text.startswith(word, pos):
            multiplier, scale = word, factor
            pos += len(word)
            break
    # Money first: 万元 and 亿元 are the multiplier plus 元.
    if text.startswith("元", pos):
        value_scale = scale / _WAN
        denominator, end = _read_denominators(text, pos + 1)
        return UnitMatch(text[start:end].strip(), "万元" + denominator, MONEY, value_scale, end)
    if text.startswith("个月", pos):
        return UnitMatch(text[start:pos + 2].strip(), "月", DURATION, scale, pos + 2)
    for word in COUNT_WORDS:
        if text.startswith(word, pos):
            unit = {"人/次": "人次", "个百分点": "百分点"}.get(word, word)
            family = POINTS if unit == "百分点" else COUNT
            end = pos + len(word)
            denominator, end = _read_denominators(text, end)
            return UnitMatch(text[start:end].strip(), unit + denominator, _rate(family, denominator), scale, end)
    m = _PERCENT.match(text, pos)
    if m:
        unit = "wt%" if "wt" in m.group() else m.group()
        return UnitMatch(text[start:m.end()].strip(), unit, PERCENT, scale, m.end())
    m = _DEGREE.match(text, pos)
    if m:
        unit = "°" if m.group() == "°" else "℃"
        denominator, end = _read_denominators(text, m.end())
        return UnitMatch(text[start:end].strip(), unit + denominator, PHYSICAL, scale, end)
    for word, symbol, family in _CJK_PHYSICAL:
        if text.startswith(word, pos):
            end = pos + len(word)
            if family == MONEY:  # 万元/亿元 after a multiplier-less number
                factor = {"万元": Decimal(1), "亿元": _WAN, "元": 1 / _WAN}[symbol]
                denominator, end = _read_denominators(text, end)
                return UnitMatch(text[start:end].strip(), "万元" + denominator, MONEY, scale * factor, end)
            denominator, end = _read_denominators(text, end)
            return UnitMatch(text[start:end].strip(), symbol + denominator, _rate(family, denominator), scale, end)
    m = _LATIN_RUN.match(text, pos)
    if m:
        run = m.group()
        symbol, typo = _latin_symbol(run)
        end = m.end()
        if symbol is None:
            # try the longest known prefix (`Wh/kg` is read as `Wh` then `/kg`; `GHz～` stops at the tilde)
            for cut in range(len(run) - 1, 0, -1):
                symbol, typo = _latin_symbol(run[:cut])
                if symbol is not None and not run[cut].isalpha():
                    end = pos + cut
                    break
                symbol = None
        if symbol is None:
            return UnitMatch(text[start:end].strip(), None, NONE, scale, start, unknown=run)
        denominator, end = _read_denominators(text, end)
        family = _rate(_LATIN_FAMILY.get(symbol, PHYSICAL), denominator)
        return UnitMatch(text[start:end].strip(), symbol + denominator, family, scale, end, typo=typo)
    if multiplier:
        # `200万/年`, `500万以上`: 万 with no unit after it is 万元 (§5); 亿 likewise.
        denominator, end = _read_denominators(text, pos)
        return UnitMatch(text[start:end].strip(), "万元" + denominator, MONEY, scale / _WAN, end)
    return None


def _rate(family: str, denominator: str) -> str:
    """A count or mass per second, per cubic metre… is a measured rate; per year or per batch it still
    accumulates (`吨/年`, `kg/批`)."""
    if denominator and family in (COUNT, MASS, AMOUNT) and denominator not in ("/年", "/批"):
        return PHYSICAL
    return family


def with_suffix(unit: str | None, suffix: str) -> str | None:
    """Add a scope suffix (`/年`, `/批`, `/吨`) unless the unit already has a denominator."""
    if unit is None or "/" in unit:
        return unit
    return unit + suffix


def is_money(unit: str | None) -> bool:
    return bool(unit) and unit.startswith("万元")
