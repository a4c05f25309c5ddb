"""Implementation period (实施期限/实施年限/实施周期) of a direction, and a project's end date.

Forms in the seeds (seeds-structure §1.5, §2.5, §3.5, §4.2):

- fixed: `3. 实施期限：3年。` (000 L12, ×94), `实施年限：2年。` (002 L652),
  `项目实施期为2年` inside 考核指标 (001 L396);
- at most: `实施年限：不超过3年。` (000 L966, 002 ×68), `不超过三年` (001 L23), `实施周期一般不超过3年` (003 L12),
  NSF `单个项目资助经费为10万元，实施年限不超过3年。` (002 L998), `（3）项目实施年限不超过3年` in 申报要求 (001 L390);
- a range: `实施年限：2—3年。` (002 L604);
- per content item: `主要内容中1、3不超过5年，其他不超过3年。` (002 L342);
- per project subtype: `培养工程博士4年；引进博士服务企业3年。` (002 L644);
- a rolling extension: `不超过3年，对…成效突出的，最长可滚动支持5年。` (002 L833).

No seed states a period in months; `N个月` is accepted anyway. The start is the task-book signing date:
`项目实施周期从签订项目任务书之日算起` (003 L12, the only seed that says it; DESIGN §2 makes it the rule everywhere).

Calendar rule (decided here): the signing day is day one, so the period ends the day before the same date N years
(or months) later: signed 2025-03-01, 3 years → ends 2028-02-29. When that date does not exist (signed 2024-02-29,
1 year; signed 01-31, 1 month) the period ends on the last day of the month before, i.e. 2025-02-28. This is the
Civil Code art. 202 month-end rule with the start day counted, as the parties agree under art. 201/204 when the
guideline says the period runs 从签订之日算起.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from indicators.reading.flags import Flag
from indicators.reading.numbers import normalize_width, parse_cn_integer, strip_chars


class PeriodKind(StrEnum):
    FIXED = "fixed"  # exactly N
    AT_MOST = "at_most"  # ≤ N; the task book chooses
    RANGE = "range"  # min–max
    BY_CATEGORY = "by_category"  # only per subtype (002 L644): no general period


class PeriodError(ValueError):
    """A task-book period that the guideline does not allow; the message is Chinese, for the officer."""


@dataclass(frozen=True)
class PeriodOverride:
    """A period for one content item (`主要内容3`) or project subtype (`培养工程博士`)."""

    label: str
    kind: PeriodKind
    months: int
    min_months: int | None = None


@dataclass(frozen=True)
class PeriodRule:
    kind: PeriodKind | None = None  # None: the text states no period
    months: int | None = None  # the fixed period, or the maximum
    min_months: int | None = None  # RANGE only
    hedged: bool = False  # 一般/原则上不超过 (003 L12): exceptions possible with approval
    overrides: tuple[PeriodOverride, ...] = ()
    extension_months: int | None = None  # 最长可滚动支持5年 (002 L833)
    extension_condition: str = ""
    start_stated: bool = False  # the text itself says 从签订项目任务书之日算起
    flags: tuple[Flag, ...] = ()
    source: str = ""

    start_rule = "task_book_signing"  # DESIGN §2: start = task-book signing date (003 L12)

    @property
    def years(self) -> int | None:
        return self.months // 12 if self.months is not None and self.months % 12 == 0 else None


# ------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------

# Numbers start at the start of their run and are bounded: no int() of a 5000-digit run, and no quadratic
# regex on a long run of digits or numerals.
_N = r"(?<!\d)\d{1,3}(?:\.5)?(?!\d)|(?<![一二两三四五六七八九十])[一二两三四五六七八九十]{1,4}|半"
_UNIT = r"(?P<unit>年|个月|月)"
_HEDGE = r"(?P<hedge>一般|原则上|最长|最多)?"
# A label only when a value follows: `实施期限内应实现…` (001 L35) is a time scope, not a period.
_LABEL = re.compile(
    r"(?:实施(?:期限|年限|周期)|执行期限|项目(?:实施)?期限?|实施期)"
    r"(?:[：:]|为|是|(?=一般|原则上|不超过|不得超过|\d|[一二两三四五六七八九十半]+(?:年|个月)))"
)
_AT_MOST = re.compile(rf"{_HEDGE}(?:不超过|不多于|不得超过|不长于|最长|最多|以内)(?P<n>{_N}){_UNIT}(?:以内)?")
_WITHIN = re.compile(rf"(?P<n>{_N}){_UNIT}以内")
_RANGE = re.compile(rf"(?P<lo>{_N})(?:年|个月)?[—–‒―−－〜～~\-至到](?P<hi>{_N}){_UNIT}")
_FIXED = re.compile(rf"(?:为|是|：|:|^)(?P<n>{_N}){_UNIT}(?![以内])")
_PER_ITEM = re.compile(
    rf"主要内容中?(?P<items>\d+(?:[、，,和及]\d+)*)(?P<kw>不超过|为)?(?P<n>{_N}){_UNIT}[，,；;]"
    rf"其他(?:内容)?(?P<kw2>不超过|为)?(?P<n2>{_N})(?P<unit2>年|个月)"
)
_PER_SUBTYPE = re.compile(rf"(?P<label>[^；;，,。：:]{{2,20}}?)(?P<kw>不超过)?(?P<n>{_N}){_UNIT}(?=[；;。]|$)")
_EXTENSION = re.compile(
    rf"(?:对(?P<cond>[^，。；]{{2,80}}?)的[，,])?最长可(?:滚动)?(?:支持|延长)(?:至)?(?P<n>{_N}){_UNIT}"
)
_START = re.compile(r"(?:从|自)签订(?:项目)?任务书之日(?:起)?(?:算起|起算|开始计算|起)")
_BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")


def _months(number: str, unit: str) -> int | None:
    if number == "半":  # `半年` never appears in the seeds; 6 months if it does
        return 6 if unit == "年" else None
    if number[0].isdigit():
        if "." in number:
            # `1.5年` → 18 months; only halves are accepted by the regex
            whole = int(number.split(".")[0])
            return (whole * 12 + 6) if unit == "年" else None
        value_int = int(number)
    else:
        parsed = parse_cn_integer(number)
        if parsed is None:
            return None
        value_int = parsed
    months = value_int * 12 if unit == "年" else value_int
    return months if 0 < months <= 12 * 50 else None


def _fmt_months(months: int) -> str:
    return f"{months // 12}年" if months % 12 == 0 else (f"{months}个月")


def parse_period(text: str) -> PeriodRule:
    """The period stated in one field text (`实施年限：不超过3年。`, or a sentence that mentions it)."""
    if not isinstance(text, str):
        return PeriodRule(flags=(Flag("not_text", "实施期限不是文本"),))
    clean = strip_chars(normalize_width(_BOOKMARK.sub("", text)))
    flags: list[Flag] = []
    start_stated = bool(_START.search(clean))

    label = _LABEL.search(clean)
    # Without a label, only a bare value counts (`3年。`), so that `服务不少于3年` in an indicator is not a period.
    body = clean[label.end() :] if label else clean
    if not label and not re.match(rf"^(?:不超过|一般不超过|原则上不超过)?(?:{_N})(?:年|个月)", body):
        return PeriodRule(start_stated=start_stated, source="")

    extension_months = None
    extension_condition = ""
    ext = _EXTENSION.search(body)
    if ext:
        extension_months = _months(ext.group("n"), ext.group("unit"))
        extension_condition = ext.group("cond") or ""
        body = body[: ext.start()] + body[ext.end() :]

    per_item = _PER_ITEM.search(body)
    if per_item:
        m_item = _months(per_item.group("n"), per_item.group("unit"))
        m_other = _months(per_item.group("n2"), per_item.group("unit2"))
        if m_item and m_other:
            kind_item = PeriodKind.AT_MOST if per_item.group("kw") == "不超过" else PeriodKind.FIXED
            kind_other = PeriodKind.AT_MOST if per_item.group("kw2") == "不超过" else PeriodKind.FIXED
            overrides = tuple(PeriodOverride(f"主要内容{n}", kind_item, m_item)
                              for n in re.findall(r"\d+", per_item.group("items")))
            return PeriodRule(kind_other, m_other, None, False, overrides, extension_months, extension_condition,
                              start_stated, tuple(flags), per_item.group(0))

    head = re.split(r"[；;。]", body, maxsplit=1)[0]
    rng = _RANGE.search(head)
    at_most = _AT_MOST.search(head)
    within = _WITHIN.search(head)
    fixed = _FIXED.search(head)
    if rng:
        lo, hi = _months(rng.group("lo"), rng.group("unit")), _months(rng.group("hi"), rng.group("unit"))
        if lo and hi:
            if lo > hi:
                flags.append(Flag("range_reversed", f"实施期限“{rng.group(0)}”下限大于上限，已对调"))
                lo, hi = hi, lo
            return PeriodRule(PeriodKind.RANGE, hi, lo, False, (), extension_months, extension_condition,
                              start_stated, tuple(flags), rng.group(0))
    for m in (at_most, within):
        if m:
            months = _months(m.group("n"), m.group("unit"))
            if months:
                hedged = bool(m.groupdict().get("hedge")) and m.group("hedge") in ("一般", "原则上")
                return PeriodRule(PeriodKind.AT_MOST, months, None, hedged, (), extension_months,
                                  extension_condition, start_stated, tuple(flags), m.group(0))

    # Subtypes (002 L644): `培养工程博士4年；引进博士服务企业3年` — several labelled values and no general one.
    subtypes = [m for m in _PER_SUBTYPE.finditer(body) if not re.search(r"^\d", m.group("label"))]
    if len(subtypes) >= 2:
        overrides = []
        for m in subtypes:
            months = _months(m.group("n"), m.group("unit"))
            if months:
                kind = PeriodKind.AT_MOST if m.group("kw") else PeriodKind.FIXED
                overrides.append(PeriodOverride(m.group("label"), kind, months))
        if len(overrides) >= 2:
            flags.append(Flag("by_category", "实施期限按项目类型区分，须按项目类型确定"))
            return PeriodRule(PeriodKind.BY_CATEGORY, None, None, False, tuple(overrides), extension_months,
                              extension_condition, start_stated, tuple(flags), body)

    if fixed:
        months = _months(fixed.group("n"), fixed.group("unit"))
        if months:
            return PeriodRule(PeriodKind.FIXED, months, None, False, (), extension_months, extension_condition,
                              start_stated, tuple(flags), fixed.group(0).lstrip("为是：:"))
    if label:
        flags.append(Flag("unparsed", f"实施期限“{body[:40]}”未能识别"))
    return PeriodRule(None, None, None, False, (), extension_months, extension_condition, start_stated,
                      tuple(flags), "")


# ------------------------------------------------------------------------------------------------
# Calendar
# ------------------------------------------------------------------------------------------------


def add_period(start: date, months: int) -> date:
    """Last day of a period of `months` that starts on (and counts) `start` — see the module docstring."""
    if months <= 0:
        raise PeriodError("实施期限必须大于0")
    total = start.year * 12 + (start.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise PeriodError("实施期限超出可计算的日期范围")
    last_day = calendar.monthrange(year, month)[1]
    if start.day <= last_day:
        anniversary = date(year, month, start.day)
        return anniversary - timedelta(days=1)
    return date(year, month, last_day)  # no such day (02-29, 01-31 + 1 month): the month's last day


def _check(kind: PeriodKind, max_months: int, min_months: int | None, chosen: int, hedged: bool,
           approved_exception: bool, extension: int | None, what: str) -> None:
    if kind is PeriodKind.FIXED and chosen != max_months:
        raise PeriodError(f"{what}实施期限为{_fmt_months(max_months)}，任务书填写{_fmt_months(chosen)}不符")
    if min_months is not None and chosen < min_months:
        raise PeriodError(f"{what}实施期限为{_fmt_months(min_months)}至{_fmt_months(max_months)}，"
                          f"任务书填写{_fmt_months(chosen)}过短")
    if chosen > max_months:
        if approved_exception and extension is not None and chosen <= extension:
            return
        if approved_exception and hedged and extension is None:
            return
        extra = ""
        if extension is not None:
            extra = f"；符合条件并经批准的最长可至{_fmt_months(extension)}"
        elif hedged:
            extra = "；指南写明“一般/原则上”，如经批准可例外"
        raise PeriodError(f"{what}实施期限不超过{_fmt_months(max_months)}，任务书填写{_fmt_months(chosen)}超出{extra}")


def project_end(
    rule: PeriodRule,
    start: date,
    years: int | None = None,
    *,
    months: int | None = None,
    category: str | None = None,
    approved_exception: bool = False,
) -> date:
    """End date of a project that starts on `start` (the task-book signing date).

    `years`/`months` is the period written in the task book. For an "at most" rule it must not exceed the maximum
    (else PeriodError with a Chinese message), and when omitted the maximum is used; a fixed rule must match.
    `category` picks a content-item or subtype override (`主要内容1`, `培养工程博士`). `approved_exception` allows
    a longer period where the guideline itself allows one (一般/原则上, 最长可滚动支持5年).
    """
    if years is not None and months is not None:
        raise PeriodError("请只填写年数或月数中的一项")
    chosen = years * 12 if years is not None else months
    if chosen is not None and chosen <= 0:
        raise PeriodError("实施期限必须大于0")

    kind, max_months, min_months, what = rule.kind, rule.months, rule.min_months, ""
    if category is not None:
        override = next((o for o in rule.overrides if o.label == category), None)
        if override is not None:
            kind, max_months, min_months, what = override.kind, override.months, override.min_months, f"{category}的"
        elif rule.kind is PeriodKind.BY_CATEGORY:
            names = "、".join(o.label for o in rule.overrides)
            raise PeriodError(f"项目类型“{category}”不在实施期限的类型中：{names}")
    elif rule.kind is PeriodKind.BY_CATEGORY:
        names = "、".join(o.label for o in rule.overrides)
        raise PeriodError(f"实施期限按项目类型区分（{names}），请指定项目类型")

    if kind is None or max_months is None:
        if chosen is None:
            raise PeriodError("指南未规定实施期限，请在任务书中填写实施期限")
        return add_period(start, chosen)
    if chosen is None:
        chosen = max_months
    _check(kind, max_months, min_months, chosen, rule.hedged, approved_exception, rule.extension_months, what)
    return add_period(start, chosen)


# ------------------------------------------------------------------------------------------------
# Serialisation and description
# ------------------------------------------------------------------------------------------------


def to_dict(rule: PeriodRule) -> dict[str, Any]:
    return {
        "kind": rule.kind.value if rule.kind else None,
        "months": rule.months,
        "min_months": rule.min_months,
        "hedged": rule.hedged,
        "overrides": [{"label": o.label, "kind": o.kind.value, "months": o.months, "min_months": o.min_months}
                      for o in rule.overrides],
        "extension_months": rule.extension_months,
        "extension_condition": rule.extension_condition,
        "start_stated": rule.start_stated,
        "start_rule": rule.start_rule,
        "flags": [{"kind": f.kind, "message": f.message} for f in rule.flags],
        "source": rule.source,
    }


def from_dict(data: dict[str, Any]) -> PeriodRule:
    try:
        return PeriodRule(
            kind=PeriodKind(data["kind"]) if data.get("kind") else None,
            months=data.get("months"),
            min_months=data.get("min_months"),
            hedged=bool(data.get("hedged", False)),
            overrides=tuple(PeriodOverride(str(o["label"]), PeriodKind(o["kind"]), int(o["months"]),
                                           o.get("min_months")) for o in data.get("overrides", [])),
            extension_months=data.get("extension_months"),
            extension_condition=str(data.get("extension_condition", "")),
            start_stated=bool(data.get("start_stated", False)),
            flags=tuple(Flag(str(f["kind"]), str(f["message"])) for f in data.get("flags", [])),
            source=str(data.get("source", "")),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"实施期限数据不完整：{exc}") from exc


def describe(rule: PeriodRule) -> str:
    """`不超过3年`, `3年`, `2年至3年`, `主要内容1：不超过5年；其他：不超过3年`…"""

    def one(kind: PeriodKind | None, months: int | None, min_months: int | None) -> str:
        if kind is None or months is None:
            return "未规定"
        if kind is PeriodKind.RANGE and min_months is not None:
            return f"{_fmt_months(min_months)}至{_fmt_months(months)}"
        return ("不超过" if kind is PeriodKind.AT_MOST else "") + _fmt_months(months)

    parts = [f"{o.label}：{one(o.kind, o.months, o.min_months)}" for o in rule.overrides]
    if rule.kind is not PeriodKind.BY_CATEGORY:
        general = ("一般" if rule.hedged else "") + one(rule.kind, rule.months, rule.min_months)
        parts.append(f"其他：{general}" if parts else general)
    if rule.extension_months is not None:
        parts.append(f"符合条件的最长可至{_fmt_months(rule.extension_months)}")
    return "；".join(parts)
