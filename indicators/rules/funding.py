"""Funding rules of a direction, and the post-subsidy amount computed from the acceptance certificate.

What the seeds say (seeds-structure §1.4, §2.4, §3.4, §4.2, §5.2):

- modes, alone or as allowed alternatives: `前资助或贷补联动` (000 L968), `前资助或自筹` (002 L33), `后补助` (001 L12),
  `里程碑式补助` (001 L107), `定额资助` (002 L581), `自筹` (002 L972), `采取前资助形式` (003 L12), `包干制` (004 L125);
- amounts in 万元: range `100万元—300万元` (000 L14) / `100—300万元` (002 L432), cap `不超过150万元` (002 L44),
  `最高50万元` (002 L646), floor `不少于80万元` (001 L108), fixed `单个项目资助100万元` (002 L695), tiers by category
  (002 L582, L598, L716–717, L964; caps in 申报要求 000 L991/L993), an exception ceiling (002 L835), `一事一议` (L964);
- formulas, rate × base with a cap: `按实际支付人工智能算力费用20%补贴，最高不超过50万元` (001 L13),
  `按验收证书中核定的自筹经费的10%给予补助，单个项目最高补助30万元` (001 L225), `…技术交易总额的1%核算` (002 L954);
- bounds without a rate: `不低于10万元且不高于项目总投入20%` (001 L408),
  `最高 30 万元且不高于项目总投资的20%` (001 L399);
- matching `不低于4:1` (001 L457), `3:1` (003 L12, 002 L839), `1∶1` (002 L760), `3倍` (002 L583, L647);
  minimum total investment `项目总投入：不少于800万元` (001 L106), `总投资不低于3000万元` (002 L922);
- trigger `通过验收后一次性拨付` (001 L12), after the partner's payment (001 L398), per milestone (001 L107);
  forfeiture `验收不通过或终止结题，不拨付` (001 L12); no city money `不拨付市财政科技经费` (001 L599).

Money is `Decimal` in 万元, never float. `compute_disbursement` is pure arithmetic over the certificate figures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from indicators.reading.flags import Flag
from indicators.reading.numbers import normalize_width, parse_cn_integer, parse_number, strip_chars


class FundingMode(StrEnum):
    PRE = "前资助"
    POST = "后补助"
    MILESTONE = "里程碑式补助"
    FIXED = "定额资助"
    LOAN_LINKED = "贷补联动"
    SELF = "自筹"
    LUMP_SUM = "包干制"


class Trigger(StrEnum):
    UPFRONT = "upfront"  # 前资助: paid on the task book
    ON_ACCEPTANCE = "on_acceptance"  # 项目实施完成并通过验收后一次性拨付 (001 L12)
    AFTER_PARTNER_PAYMENT = "after_partner_payment"  # 企业支付相应合作款项后一次性拨付 (001 L398)
    PER_MILESTONE = "per_milestone"  # 里程碑式补助 (001 L107)


# The bases a formula or a relative bound may name: stable keys (certificate figures use the same keys, in 万元)
# and the Chinese wording for messages.
BASES: dict[str, str] = {
    "compute_spend": "实际支付的人工智能算力费用",
    "certified_self_funding": "验收证书中核定的自筹经费",
    "total_investment": "项目总投入",
    "partner_payment": "企业已支付的合作款项",
    "technology_transaction_total": "年度促成技术合同的技术交易总额",
    "self_funding": "自筹经费",
    "approved_funding": "任务书核定的财政资助经费",
}
# Most specific first: `核定的自筹经费` must not fall to `自筹经费`.
_BASE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("compute_spend", re.compile(r"算力费用")),
    ("certified_self_funding", re.compile(r"核定的?自筹(?:经费|资金)")),
    ("technology_transaction_total", re.compile(r"技术交易(?:总额|额)|技术合同(?:成交|交易)额")),
    ("partner_payment", re.compile(r"合作款项?|横向(?:课题)?经费")),
    ("total_investment", re.compile(r"总投入|总投资")),
    ("self_funding", re.compile(r"自筹(?:经费|资金)")),
    ("approved_funding", re.compile(r"(?:财政|资助)(?:经费|资金)(?:总额)?")),
)
_BASE_ALT = r"(?:项目)?(?:总投入|总投资)|(?:验收证书中)?核定的?自筹(?:经费|资金)|自筹(?:经费|资金)"


def base_key(text: str) -> str | None:
    """`验收证书中核定的自筹经费` → `certified_self_funding`; None when the wording is not in the vocabulary."""
    for key, pattern in _BASE_PATTERNS:
        if pattern.search(text):
            return key
    return None


# ------------------------------------------------------------------------------------------------
# The rule
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """Per-project amount in 万元: a range is floor + cap; `fixed` for 定额 (002 L582) and NSF amounts."""

    floor: Decimal | None = None
    cap: Decimal | None = None
    fixed: Decimal | None = None

    @property
    def empty(self) -> bool:
        return self.floor is None and self.cap is None and self.fixed is None


@dataclass(frozen=True)
class Share:
    """`rate` × the figure `base` (rate as a fraction: 20% → 0.2)."""

    rate: Decimal
    base: str
    base_text: str = ""


@dataclass(frozen=True)
class Tier:
    label: str
    bounds: Bounds


@dataclass(frozen=True)
class Matching:
    """Committed matching money ≥ ratio × fiscal money. `condition` names who it applies to (003 L12 has one ratio
    for enterprise-led projects and one, on another base, for the others)."""

    ratio: Decimal
    condition: str = ""
    text: str = ""


@dataclass(frozen=True)
class Milestone:
    label: str
    amount: Decimal | None = None
    share: Decimal | None = None  # of the approved fiscal funding


@dataclass(frozen=True)
class FundingRule:
    modes: frozenset[FundingMode] = frozenset()
    fiscal: bool = True  # False: no government money (自筹 only; 001 L599 不拨付市财政科技经费)
    bounds: Bounds = Bounds()
    formula: Share | None = None
    relative_caps: tuple[Share, ...] = ()
    relative_floors: tuple[Share, ...] = ()
    tiers: tuple[Tier, ...] = ()
    exception_cap: Decimal | None = None
    exception_condition: str = ""
    case_by_case: bool = False  # 一事一议 (002 L964)
    matching: tuple[Matching, ...] = ()
    min_total_investment: Decimal | None = None
    portfolio_caps: tuple[Decimal, ...] = ()  # per 赛道/高新区 per year, not per project (000 L1013, 002 L686)
    trigger: Trigger | None = None
    lump_sum: bool = False  # 一次性
    forfeit: bool = False  # 验收不通过或终止结题，不拨付
    milestones: tuple[Milestone, ...] = ()
    external_standard: str = ""  # 按照《…管理办法》补助标准执行 (002 L897)
    fund_sources: tuple[str, ...] = ()
    flags: tuple[Flag, ...] = ()
    evidence: tuple[str, ...] = ()  # the sentences that produced the rule, for the officer to check

    @property
    def matching_ratio(self) -> Decimal | None:
        return max((m.ratio for m in self.matching), default=None)

    @property
    def officer_enters_amount(self) -> bool:
        """Bounds without a rate (001 L408): the officer enters the amount, the system enforces the bounds."""
        return self.fiscal and self.formula is None and self.bounds.fixed is None

    @property
    def required_figures(self) -> tuple[str, ...]:
        keys: list[str] = []
        for share in (self.formula, *self.relative_caps, *self.relative_floors):
            if share is not None and share.base not in keys:
                keys.append(share.base)
        if self.trigger is Trigger.AFTER_PARTNER_PAYMENT and "partner_payment" not in keys:
            keys.append("partner_payment")
        return tuple(keys)


# ------------------------------------------------------------------------------------------------
# Serialisation
# ------------------------------------------------------------------------------------------------


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"不是数值：{value!r}") from exc


def _bounds_dict(b: Bounds) -> dict[str, Any]:
    return {"floor": _dec(b.floor), "cap": _dec(b.cap), "fixed": _dec(b.fixed)}


def _share_dict(s: Share) -> dict[str, Any]:
    return {"rate": _dec(s.rate), "base": s.base, "base_text": s.base_text}


def to_dict(rule: FundingRule) -> dict[str, Any]:
    """JSON-friendly: Decimals as strings (exact), modes as their Chinese names in a fixed order."""
    return {
        "modes": [m.value for m in FundingMode if m in rule.modes],
        "fiscal": rule.fiscal,
        "bounds": _bounds_dict(rule.bounds),
        "formula": _share_dict(rule.formula) if rule.formula else None,
        "relative_caps": [_share_dict(s) for s in rule.relative_caps],
        "relative_floors": [_share_dict(s) for s in rule.relative_floors],
        "tiers": [{"label": t.label, "bounds": _bounds_dict(t.bounds)} for t in rule.tiers],
        "exception_cap": _dec(rule.exception_cap),
        "exception_condition": rule.exception_condition,
        "case_by_case": rule.case_by_case,
        "matching": [{"ratio": _dec(m.ratio), "condition": m.condition, "text": m.text} for m in rule.matching],
        "min_total_investment": _dec(rule.min_total_investment),
        "portfolio_caps": [_dec(c) for c in rule.portfolio_caps],
        "trigger": rule.trigger.value if rule.trigger else None,
        "lump_sum": rule.lump_sum,
        "forfeit": rule.forfeit,
        "milestones": [{"label": m.label, "amount": _dec(m.amount), "share": _dec(m.share)}
                       for m in rule.milestones],
        "external_standard": rule.external_standard,
        "fund_sources": list(rule.fund_sources),
        "flags": [{"kind": f.kind, "message": f.message} for f in rule.flags],
        "evidence": list(rule.evidence),
    }


def _bounds_from(d: Mapping[str, Any]) -> Bounds:
    return Bounds(_undec(d.get("floor")), _undec(d.get("cap")), _undec(d.get("fixed")))


def _share_from(d: Mapping[str, Any]) -> Share:
    rate = _undec(d["rate"])
    if rate is None:
        raise ValueError("比例缺失")
    return Share(rate, str(d["base"]), str(d.get("base_text", "")))


def from_dict(data: Mapping[str, Any]) -> FundingRule:
    """Inverse of `to_dict`; ValueError on malformed data."""
    try:
        return FundingRule(
            modes=frozenset(FundingMode(m) for m in data.get("modes", [])),
            fiscal=bool(data.get("fiscal", True)),
            bounds=_bounds_from(data.get("bounds") or {}),
            formula=_share_from(data["formula"]) if data.get("formula") else None,
            relative_caps=tuple(_share_from(s) for s in data.get("relative_caps", [])),
            relative_floors=tuple(_share_from(s) for s in data.get("relative_floors", [])),
            tiers=tuple(Tier(str(t["label"]), _bounds_from(t["bounds"])) for t in data.get("tiers", [])),
            exception_cap=_undec(data.get("exception_cap")),
            exception_condition=str(data.get("exception_condition", "")),
            case_by_case=bool(data.get("case_by_case", False)),
            matching=tuple(Matching(_undec(m["ratio"]) or Decimal(0), str(m.get("condition", "")),
                                    str(m.get("text", ""))) for m in data.get("matching", [])),
            min_total_investment=_undec(data.get("min_total_investment")),
            portfolio_caps=tuple(_undec(c) or Decimal(0) for c in data.get("portfolio_caps", [])),
            trigger=Trigger(data["trigger"]) if data.get("trigger") else None,
            lump_sum=bool(data.get("lump_sum", False)),
            forfeit=bool(data.get("forfeit", False)),
            milestones=tuple(Milestone(str(m["label"]), _undec(m.get("amount")), _undec(m.get("share")))
                             for m in data.get("milestones", [])),
            external_standard=str(data.get("external_standard", "")),
            fund_sources=tuple(str(s) for s in data.get("fund_sources", [])),
            flags=tuple(Flag(str(f["kind"]), str(f["message"])) for f in data.get("flags", [])),
            evidence=tuple(str(e) for e in data.get("evidence", [])),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"资助规则数据不完整：{exc}") from exc


# ------------------------------------------------------------------------------------------------
# Money phrases
# ------------------------------------------------------------------------------------------------

# A number starts at the start of its run and is bounded, so that a long digit run cannot make the regexes
# quadratic (every start position would otherwise retry the whole run).
_CN = "零一二两三四五六七八九十百千"
_NUM = rf"(?<![\d.])\d{{1,15}}(?:\.\d{{1,8}})?(?![\d.])|(?<![{_CN}])[{_CN}]{{1,12}}"
_PLAIN = r"(?<![\d.])\d{1,6}(?:\.\d{1,4})?(?![\d.])"
# `万` without `元` (002 L968 `50万以上`) is read as 万元 and flagged; foreign currencies are flagged, not converted.
_UNIT = r"亿元|万元|千元|元|万美元|美元|欧元|港元|万(?=以上|以下|以内|[，。；,;)）—\-~～至到]|$)"
_DASH = r"[—–‒―−－〜～~\-至到]"
_RANGE = re.compile(rf"(?P<lo>{_NUM})(?P<lu>{_UNIT})?{_DASH}(?P<hi>{_NUM})(?P<hu>{_UNIT})")
_CAP_WORDS = r"最高不超过|最高不高于|不超过|不高于|不多于|最高(?:补助|资助|支持)?(?:金额)?(?:为)?|至多|上限为?"
_FLOOR_WORDS = r"不少于|不低于|最低(?:为)?|至少"
_CAP = re.compile(rf"(?:{_CAP_WORDS})(?P<n>{_NUM})(?P<u>{_UNIT})|(?P<n2>{_NUM})(?P<u2>{_UNIT})(?:以内|以下)")
_FLOOR = re.compile(rf"(?:{_FLOOR_WORDS})(?P<n>{_NUM})(?P<u>{_UNIT})|(?P<n2>{_NUM})(?P<u2>{_UNIT})及?以上")
_AMOUNT = re.compile(rf"(?P<n>{_NUM})(?P<u>{_UNIT})")

_MODE_WORD = "|".join(["里程碑式补助", "里程碑式资助", "前资助", "后补助", "定额资助", "贷补联动", "包干制", "自筹"])
_MODES_ONLY = re.compile(rf"^(?:{_MODE_WORD})(?:[或、和及/](?:{_MODE_WORD}))*$")
_MODE_ADOPTED = re.compile(rf"采(?:取|用)(?P<m>(?:{_MODE_WORD})(?:[或、和及](?:{_MODE_WORD}))*)(?:的)?(?:形式|方式)")
_MODE_LEAD = re.compile(rf"^(?P<m>(?:{_MODE_WORD})(?:[或、和及](?:{_MODE_WORD}))*)(?=[，,]|$)")

_NO_FISCAL = re.compile(r"不(?:予)?拨付(?:市|县|区|自治区|省)?(?:级)?财政(?:科技|科研)?(?:经费|资金)")
_FORFEIT = re.compile(r"(?P<cond>(?:验收)?不通过(?:或|、|和)?(?:终止(?:结题)?)?|终止(?:结题)?)[，,]?不(?:予)?拨付")
_AFTER_PARTNER = re.compile(r"支付(?:相应|全部)?(?:的)?合作款项?后(?P<once>一次性)?拨付")
_ON_ACCEPTANCE = re.compile(r"(?:通过验收|验收通过|验收合格)后(?P<once>一次性)?(?:拨付|给予|支付)")
_ONCE = re.compile(r"一次性")
_EXTERNAL = re.compile(r"按(?:照)?《(?P<doc>[^》]{2,60})》[^，。；]{0,20}?(?:补助|资助)?标准执行")
_CASE_BY_CASE = re.compile(r"一事一议")
_PORTFOLIO = re.compile(rf"(?:支持)?总经费(?:额度)?(?:{_CAP_WORDS})(?P<n>{_NUM})(?P<u>{_UNIT})")
_RATIO = re.compile(rf"(?P<a>{_PLAIN})\s*[:：∶]\s*(?P<b>{_PLAIN})")
_RATIO_CONTEXT = re.compile(r"配套|自筹|匹配|比例|投入比|出资")
_TIMES = re.compile(
    rf"(?:不低于|不少于)(?P<den>[^，。；]{{0,12}}?)的?(?P<n>{_PLAIN}|[一二两三四五六七八九十])倍(?:的比例)?"
    r"(?:进行)?(?=配套|[^，。；]{0,6}配套)"
)
_TOTAL_INVESTMENT = re.compile(
    rf"(?:项目)?总投(?:入|资)(?:应|须|需)?(?:{_FLOOR_WORDS}|达到|在)(?P<n>{_NUM})(?P<u>{_UNIT})(?:以上)?"
)
_FORMULA = re.compile(
    rf"按(?:照)?(?P<base>[^，。；%]{{2,40}}?)的?(?P<pct>{_NUM})%(?:的比例)?(?:给予|进行)?"
    r"(?P<verb>补贴|补助|资助|核算|奖励|计算|支持)"
)
_RELATIVE = re.compile(
    rf"且?(?P<kw>最高不超过|不超过|不高于|不低于|不少于)(?P<base>{_BASE_ALT})的?(?P<pct>{_PLAIN})%"
)
_EXCEPTION = re.compile(r"^对(?P<cond>[^，。；]{4,80}?)的[，,](?P<rest>.*?(?:最高|不超过)[^，。；]*?)$")
_MILESTONE = re.compile(
    rf"(?P<label>第[一二三四五六七八九十\d]+(?:个)?(?:阶段|里程碑|节点))[^，。；]{{0,30}}?(?:拨付|补助|资助)"
    rf"[^，。；\d]{{0,10}}?(?:(?P<pct>{_NUM})%|(?P<n>{_NUM})(?P<u>{_UNIT}))"
)
_FUND_SOURCES = re.compile(r"资金来源(?:为|是|：|:)(?P<src>[^。；]+)")
_FUNDING_WORDS = re.compile(r"资助|补助|补贴|支持经费|经费资助|经费支持")
# Text about money: an amount or a percentage (`经费` alone is too common to flag, 002 L1126).
_MONEYISH = re.compile(r"\d\s*(?:万|亿|千)?元|\d\s*万(?:以上|以下|以内)|\d\s*%|[一二两三四五六七八九十百千]万?元")
_LEAD_ENUM = re.compile(r"^(?:[（(]\d+[）)]|\d+[.．、](?!\d))")
# The clause subject in front of an amount: `高新技术企业单个项目资助40万元` (002 L582) → 高新技术企业.
_SUBJECT_ANCHOR = re.compile(r"单个项目|每个项目|每项|每家|支持经费|经费资助|研发补助|资助|补助|给予|支持")
_GENERIC_SUBJECTS = {"", "项目", "每个", "单个", "本项目", "本方向", "此方向"}

_LABEL = re.compile(
    r"^(?:[（(][一二三四五六七八九十]+[）)]|\d+[.．、]\s*)?"
    r"(?P<label>资助经费与实施年限|资助经费|补助经费|资助方式|补助方式|项目总投入|项目总投资|相关说明|申报要求|申报条件"
    r"|主要内容|研究内容|项目内容|考核指标|考核要求|实施期限|实施年限)(?:[：:；;]|$)"
)
_MONEY_LABELS = {"资助经费与实施年限", "资助经费", "补助经费", "资助方式", "补助方式", None}
_INVESTMENT_LABELS = {"项目总投入", "项目总投资"}
_BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")

_Q = Decimal("0.0001")  # one yuan in 万元


def _to_wan(number: str, unit: str) -> tuple[Decimal | None, Flag | None]:
    """An amount in 万元; None (with a flag) for a currency we cannot convert."""
    value = parse_number(number)
    if value is None:
        return None, Flag("unreadable_amount", f"金额“{number}{unit}”无法识别")
    if unit == "万元":
        return value, None
    if unit == "亿元":
        return value * 10000, None
    if unit == "元":
        return value / 10000, None
    if unit == "千元":
        return value / 10, None
    if unit == "万":
        return value, Flag("unit_without_yuan", f"金额“{number}万”未写“元”，按万元理解")
    return None, Flag("unusual_unit", f"金额单位“{unit}”不是万元/元/亿元，无法换算，请人工核定")


def _rate(pct: str) -> Decimal | None:
    value = parse_number(pct)
    return None if value is None else value / 100


def _clean_subject(prefix: str) -> str:
    anchor = _SUBJECT_ANCHOR.search(prefix)
    subject = prefix[: anchor.start()] if anchor else prefix
    subject = _LEAD_ENUM.sub("", subject.strip("□")).strip("□：:，,、 ")
    subject = re.sub(r"^对", "", subject)
    subject = re.sub(r"(?:的|为)$", "", subject)
    return "" if subject in _GENERIC_SUBJECTS else subject


# ------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------


@dataclass
class _Acc:
    """Mutable accumulator used only inside `parse_funding`; the result is the frozen FundingRule."""

    modes: set[FundingMode] = field(default_factory=set)
    fiscal: bool = True
    general: list[tuple[str, Decimal]] = field(default_factory=list)  # ("floor"|"cap"|"fixed", value)
    tiers: dict[str, list[tuple[str, Decimal]]] = field(default_factory=dict)
    formula: Share | None = None
    relative_caps: list[Share] = field(default_factory=list)
    relative_floors: list[Share] = field(default_factory=list)
    exception_cap: Decimal | None = None
    exception_condition: str = ""
    case_by_case: bool = False
    matching: list[Matching] = field(default_factory=list)
    min_total_investment: Decimal | None = None
    portfolio_caps: list[Decimal] = field(default_factory=list)
    trigger: Trigger | None = None
    lump_sum: bool = False
    forfeit: bool = False
    milestones: list[Milestone] = field(default_factory=list)
    external_standard: str = ""
    fund_sources: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    saw_money_field: bool = False

    def flag(self, flag: Flag | None) -> None:
        if flag is not None and flag not in self.flags:
            self.flags.append(flag)


def _modes_in(text: str) -> set[FundingMode]:
    found: set[FundingMode] = set()
    for word in re.findall(_MODE_WORD, text):
        found.add(FundingMode.MILESTONE if word.startswith("里程碑") else FundingMode(word))
    return found


def _prepare(text: str) -> str:
    text = _BOOKMARK.sub("", text)
    text = normalize_width(text).replace("∶", ":")
    # Lines of one field (tiers on their own lines, 002 L716–717) become sentences; other whitespace goes
    # (`最高 30 万元`, 001 L399; NBSP inside numbers, 000 L184).
    return strip_chars(re.sub(r"[\r\n]+", "；", text))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[。；;]", text) if s.strip("，, ")]


def _blank(sentence: str, m: re.Match[str]) -> str:
    """Consume a match: later patterns must not read the same words again."""
    return sentence[: m.start()] + "□" * (m.end() - m.start()) + sentence[m.end() :]


def _blank_all(sentence: str, spans: Sequence[tuple[int, int]]) -> str:
    """Consume many matches in one pass (one `_blank` per match would be quadratic on long text)."""
    if not spans:
        return sentence
    chars = list(sentence)
    for start, end in spans:
        chars[start:end] = "□" * (end - start)
    return "".join(chars)


def _feed(acc: _Acc, raw: str) -> None:
    text = _prepare(raw)
    label_match = _LABEL.match(text)
    label = label_match.group("label") if label_match else None
    if label_match:
        text = text[label_match.end() :]
    money_context = label in _MONEY_LABELS
    if label in ("资助经费", "补助经费", "资助经费与实施年限") or (label is None and _AMOUNT.search(text)):
        acc.saw_money_field = True

    if label in ("资助方式", "补助方式"):
        head = re.split(r"[，,。；]", text, maxsplit=1)[0]
        modes = _modes_in(head)
        if modes:
            acc.modes |= modes
        elif head:
            acc.flag(Flag("unknown_mode", f"资助方式“{head}”不在已知方式中"))

    for m in _FUND_SOURCES.finditer(text):
        for src in re.split(r"[，,、和及]", m.group("src")):
            if src and src not in acc.fund_sources:
                acc.fund_sources.append(src)

    for sentence in _sentences(text):
        _feed_sentence(acc, sentence, label, money_context)


def _feed_sentence(acc: _Acc, sentence: str, label: str | None, money_context: bool) -> None:
    original = sentence
    found = 0
    sentence = _LEAD_ENUM.sub(lambda m: "□" * len(m.group(0)), sentence)

    # Modes stated outside a 资助方式 field: `采取前资助形式` (003 L12), a bare `后补助` sentence, `包干制` (004 L125).
    adopted = list(_MODE_ADOPTED.finditer(sentence))
    for m in adopted:
        acc.modes |= _modes_in(m.group("m"))
    sentence, found = _blank_all(sentence, [m.span() for m in adopted]), found + len(adopted)
    if money_context and label not in ("资助方式", "补助方式"):
        lead = _MODE_LEAD.match(sentence)
        if lead:
            acc.modes |= _modes_in(lead.group("m"))
            sentence, found = _blank(sentence, lead), found + 1
    if "包干制" in sentence:
        acc.modes.add(FundingMode.LUMP_SUM)
        found += 1
    if label in ("资助方式", "补助方式") and _MODES_ONLY.match(sentence.strip("，, ")):
        found += 1

    # Milestones first: `第二阶段通过验收后拨付60%` is a milestone, not the general trigger.
    matches = list(_MILESTONE.finditer(sentence))
    for m in matches:
        amount = share = None
        if m.group("pct"):
            share = _rate(m.group("pct"))
        else:
            amount, flag = _to_wan(m.group("n"), m.group("u"))
            acc.flag(flag)
        acc.milestones.append(Milestone(m.group("label"), amount, share))
        found += 1
    sentence = _blank_all(sentence, [m.span() for m in matches])

    m = _NO_FISCAL.search(sentence)
    if m:
        acc.fiscal = False
        sentence, found = _blank(sentence, m), found + 1
    m = _FORFEIT.search(sentence)
    if m:
        acc.forfeit = True
        sentence, found = _blank(sentence, m), found + 1
    m = _AFTER_PARTNER.search(sentence)
    if m:
        acc.trigger = Trigger.AFTER_PARTNER_PAYMENT
        acc.lump_sum = acc.lump_sum or bool(m.group("once"))
        sentence, found = _blank(sentence, m), found + 1
    m = _ON_ACCEPTANCE.search(sentence)
    if m:
        acc.trigger = acc.trigger or Trigger.ON_ACCEPTANCE
        acc.lump_sum = acc.lump_sum or bool(m.group("once"))
        sentence, found = _blank(sentence, m), found + 1
    m = _EXTERNAL.search(sentence)
    if m:
        acc.external_standard = m.group("doc")
        acc.flag(Flag("external_standard", f"补助标准见《{m.group('doc')}》，金额需按该办法人工核定"))
        sentence, found = _blank(sentence, m), found + 1
    if _CASE_BY_CASE.search(sentence):
        acc.case_by_case = True
        acc.flag(Flag("case_by_case", "成效特别突出的可“一事一议”，金额可不受上限约束"))
        found += 1
    matches = list(_PORTFOLIO.finditer(sentence))
    for m in matches:
        value, flag = _to_wan(m.group("n"), m.group("u"))
        acc.flag(flag)
        if value is not None:
            acc.portfolio_caps.append(value)
        found += 1
    sentence = _blank_all(sentence, [m.span() for m in matches])

    sentence, n = _feed_matching(acc, sentence)
    found += n

    matches = list(_FORMULA.finditer(sentence))
    for m in matches:
        rate = _rate(m.group("pct"))
        key = base_key(m.group("base"))
        if key is None:
            acc.flag(Flag("unknown_base", f"计算基数“{m.group('base')}”不在已知基数中，需人工核定"))
            key = "other"
        if rate is not None:
            if acc.formula is not None and acc.formula != Share(rate, key, m.group("base")):
                acc.flag(Flag("conflicting_formula", "出现多个补助计算公式，只取第一个"))
            else:
                acc.formula = Share(rate, key, m.group("base"))
        found += 1
    sentence = _blank_all(sentence, [m.span() for m in matches])

    matches = list(_RELATIVE.finditer(sentence))
    for m in matches:
        rate = _rate(m.group("pct"))
        key = base_key(m.group("base")) or "other"
        if rate is not None:
            share = Share(rate, key, m.group("base"))
            target = acc.relative_floors if m.group("kw") in ("不低于", "不少于") else acc.relative_caps
            if share not in target:
                target.append(share)
        found += 1
    sentence = _blank_all(sentence, [m.span() for m in matches])

    m = _TOTAL_INVESTMENT.search(sentence)
    if m:
        value, flag = _to_wan(m.group("n"), m.group("u"))
        acc.flag(flag)
        if value is not None:
            acc.min_total_investment = value
        sentence, found = _blank(sentence, m), found + 1

    m = _EXCEPTION.match(sentence)
    if m and (label in _MONEY_LABELS):
        amount = _AMOUNT.search(m.group("rest"))
        if amount:
            value, flag = _to_wan(amount.group("n"), amount.group("u"))
            acc.flag(flag)
            acc.exception_cap = value
            acc.exception_condition = m.group("cond")
            sentence, found = "□" * len(sentence), found + 1

    found += _feed_amounts(acc, sentence, label, money_context)

    if found:
        acc.evidence.append(original)
    elif money_context and _MONEYISH.search(sentence) and label not in ("资助方式", "补助方式"):
        acc.flag(Flag("unmatched", f"资助经费中的“{original}”未能识别为金额、范围或公式，请人工核对"))


def _feed_matching(acc: _Acc, sentence: str) -> tuple[str, int]:
    found = 0
    if _RATIO_CONTEXT.search(sentence):
        ratios = list(_RATIO.finditer(sentence))
        text = sentence.replace("□", "")
        comma = re.search(r"[，,]", sentence)
        first_comma = comma.start() if comma else len(sentence)
        for m in ratios:
            a, b = Decimal(m.group("a")), Decimal(m.group("b"))
            if b == 0:
                acc.flag(Flag("bad_ratio", f"配套比例“{m.group(0)}”分母为0"))
                continue
            # `企业牵头申报的项目，企业配套经费与财政经费投入比不低于3:1` (003 L12): the first clause says for whom.
            condition = sentence[:first_comma].strip("□") if first_comma < m.start() else ""
            acc.matching.append(Matching(a / b, condition, text))
            found += 1
        sentence = _blank_all(sentence, [m.span() for m in ratios])
    times = list(_TIMES.finditer(sentence))
    for m in times:
        raw = m.group("n")
        n = Decimal(raw) if raw[0].isdigit() else Decimal(parse_cn_integer(raw) or 0)
        if n:
            acc.matching.append(Matching(n, "", sentence.replace("□", "")))
            found += 1
    return _blank_all(sentence, [m.span() for m in times]), found


def _feed_amounts(acc: _Acc, sentence: str, label: str | None, money_context: bool) -> int:
    found = 0
    clauses = sentence.split("，") if "，" in sentence else sentence.split(",")
    for i, clause in enumerate(clauses):
        if not _AMOUNT.search(clause):
            continue
        if not money_context and label not in _INVESTMENT_LABELS and not _FUNDING_WORDS.search(clause):
            continue  # 申报要求 money is eligibility (`研发投入在500万元以上`, 004 L16), not funding
        items: list[tuple[str, Decimal, int]] = []  # (kind, value, position)
        rest = clause
        ranges = list(_RANGE.finditer(rest))
        for m in ranges:
            unit = m.group("hu")
            lo, f1 = _to_wan(m.group("lo"), m.group("lu") or unit)
            hi, f2 = _to_wan(m.group("hi"), unit)
            acc.flag(f1)
            acc.flag(f2)
            if lo is not None and hi is not None:
                items += [("floor", lo, m.start()), ("cap", hi, m.start())]
        rest = _blank_all(rest, [m.span() for m in ranges])
        for kind, pattern in (("cap", _CAP), ("floor", _FLOOR), ("fixed", _AMOUNT)):
            matches = list(pattern.finditer(rest))
            for m in matches:
                number = m.group("n") or (m.groupdict().get("n2") or "")
                unit = m.group("u") or (m.groupdict().get("u2") or "")
                value, flag = _to_wan(number, unit)
                acc.flag(flag)
                if value is not None:
                    items.append((kind, value, m.start()))
            rest = _blank_all(rest, [m.span() for m in matches])
        if not items:
            continue
        found += 1
        if label in _INVESTMENT_LABELS:
            # `项目总投入：不少于800万元` (001 L106) is the project's size, not the subsidy.
            acc.min_total_investment = max(v for _, v, _ in items)
            continue
        subject = _clean_subject(clause[: min(p for _, _, p in items)])
        if not subject and not money_context and i > 0:
            # `支持新获批…的自治区级高新区申报，经费资助最高不超过500万元` (000 L991): the earlier clause is the tier.
            subject = "，".join(c.strip("□") for c in clauses[:i]).strip("，")
        pairs = [(k, v) for k, v, _ in items]
        if subject:
            acc.tiers.setdefault(subject, []).extend(pairs)
        else:
            acc.general.extend(pairs)
    return found


def _bounds_of(pairs: Sequence[tuple[str, Decimal]], where: str, acc: _Acc) -> Bounds:
    floors = [v for k, v in pairs if k == "floor"]
    caps = [v for k, v in pairs if k == "cap"]
    fixed = [v for k, v in pairs if k == "fixed"]
    if len(set(floors)) > 1 or len(set(caps)) > 1 or len(set(fixed)) > 1:
        acc.flag(Flag("conflicting_amounts", f"{where}出现多个不同金额，取最严格者，请人工核对"))
    b = Bounds(max(floors) if floors else None, min(caps) if caps else None, fixed[0] if fixed else None)
    if b.floor is not None and b.cap is not None and b.floor > b.cap:
        acc.flag(Flag("floor_above_cap", f"{where}下限{_fmt(b.floor)}万元高于上限{_fmt(b.cap)}万元"))
    return b


def parse_funding(texts: Sequence[str]) -> FundingRule:
    """The funding rule of one leaf from its funding-related field texts.

    Pass each field as written, label included (`资助经费：…`, `补助方式：…`, `项目总投入：…`, `申报要求：…`): the
    label decides what a number means (`不少于800万元` is a subsidy floor under 资助经费 and a project size under
    项目总投入). Unlabelled text is read as 资助经费. Never raises on arbitrary text.
    """
    acc = _Acc()
    try:
        for raw in texts:
            if isinstance(raw, str) and raw.strip():
                _feed(acc, raw)
        return _build(acc)
    except (ArithmeticError, ValueError) as exc:  # e.g. a Decimal overflow on a 10^6-digit "amount"
        return FundingRule(flags=(Flag("parse_error", f"资助规则无法解析：{exc}"),))


def _build(acc: _Acc) -> FundingRule:
    bounds = _bounds_of(acc.general, "资助经费", acc)
    tiers = tuple(Tier(label, _bounds_of(pairs, f"“{label}”", acc)) for label, pairs in acc.tiers.items())
    if len(tiers) == 1 and bounds.empty:
        # `科技领军储备库企业单个项目200万元` (002 L590): the only category named is the direction's own applicant.
        bounds, tiers = tiers[0].bounds, ()
    if acc.fiscal is False and not acc.modes:
        acc.modes.add(FundingMode.SELF)
        acc.flag(Flag("mode_inferred", "未写明资助方式；不拨付财政经费，按“自筹”处理"))
    if acc.modes == {FundingMode.SELF}:
        acc.fiscal = False
    if not acc.modes and acc.saw_money_field:
        acc.flag(Flag("mode_missing", "未写明资助方式（如前资助、后补助），需项目管理专员确认"))
    trigger = acc.trigger
    if trigger is None and FundingMode.MILESTONE in acc.modes:
        trigger = Trigger.PER_MILESTONE
    elif trigger is None and FundingMode.PRE in acc.modes and FundingMode.POST not in acc.modes:
        trigger = Trigger.UPFRONT  # the 前资助 alternative is paid on the task book
    if trigger is None and FundingMode.POST in acc.modes:
        acc.flag(Flag("trigger_missing", "后补助未写明拨付时点（如验收通过后），请项目管理专员确认"))
    if FundingMode.MILESTONE in acc.modes and not acc.milestones:
        acc.flag(Flag("milestones_missing", "里程碑式补助未在指南中定义里程碑，需在任务书中约定各里程碑及金额"))
    for share in (acc.formula, *acc.relative_caps, *acc.relative_floors):
        if share is not None and share.base == "other":
            acc.flag(Flag("unknown_base", f"计算基数“{share.base_text}”不在已知基数中，需人工核定"))
    return FundingRule(
        modes=frozenset(acc.modes),
        fiscal=acc.fiscal,
        bounds=bounds,
        formula=acc.formula,
        relative_caps=tuple(acc.relative_caps),
        relative_floors=tuple(acc.relative_floors),
        tiers=tiers,
        exception_cap=acc.exception_cap,
        exception_condition=acc.exception_condition,
        case_by_case=acc.case_by_case,
        matching=tuple(acc.matching),
        min_total_investment=acc.min_total_investment,
        portfolio_caps=tuple(acc.portfolio_caps),
        trigger=trigger,
        lump_sum=acc.lump_sum,
        forfeit=acc.forfeit,
        milestones=tuple(acc.milestones),
        external_standard=acc.external_standard,
        fund_sources=tuple(acc.fund_sources),
        flags=tuple(acc.flags),
        evidence=tuple(acc.evidence),
    )


# ------------------------------------------------------------------------------------------------
# Description
# ------------------------------------------------------------------------------------------------


def _fmt(value: Decimal) -> str:
    """`100` not `1E+2`, `0.0005` not `5E-4`, and no trailing zeros."""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _pct(rate: Decimal) -> str:
    return _fmt(rate * 100) + "%"


def _bounds_text(b: Bounds) -> str:
    if b.fixed is not None:
        return f"{_fmt(b.fixed)}万元"
    if b.floor is not None and b.cap is not None:
        return f"{_fmt(b.floor)}—{_fmt(b.cap)}万元"
    if b.cap is not None:
        return f"不超过{_fmt(b.cap)}万元"
    if b.floor is not None:
        return f"不少于{_fmt(b.floor)}万元"
    return ""


def describe(rule: FundingRule) -> str:
    """One line for pages: `后补助；按验收证书中核定的自筹经费的10%，不超过30万元；验收通过后一次性拨付；…`."""
    parts: list[str] = []
    modes = [m.value for m in FundingMode if m in rule.modes]
    if modes:
        parts.append("或".join(modes))
    if not rule.fiscal:
        parts.append("不拨付财政经费")
    money = []
    if rule.formula:
        money.append(f"按{BASES.get(rule.formula.base, rule.formula.base_text)}的{_pct(rule.formula.rate)}")
    if _bounds_text(rule.bounds):
        money.append(_bounds_text(rule.bounds))
    money += [f"不高于{BASES.get(s.base, s.base_text)}的{_pct(s.rate)}" for s in rule.relative_caps]
    money += [f"不低于{BASES.get(s.base, s.base_text)}的{_pct(s.rate)}" for s in rule.relative_floors]
    if money:
        parts.append("，".join(money))
    parts += [f"{t.label}：{_bounds_text(t.bounds)}" for t in rule.tiers]
    if rule.exception_cap is not None:
        parts.append(f"{rule.exception_condition}的最高{_fmt(rule.exception_cap)}万元")
    if rule.matching_ratio is not None:
        parts.append(f"配套比例不低于{_fmt(rule.matching_ratio)}:1")
    if rule.min_total_investment is not None:
        parts.append(f"项目总投入不少于{_fmt(rule.min_total_investment)}万元")
    trigger_text = {
        Trigger.UPFRONT: "立项后拨付",
        Trigger.ON_ACCEPTANCE: "验收通过后拨付",
        Trigger.AFTER_PARTNER_PAYMENT: "企业支付合作款项后拨付",
        Trigger.PER_MILESTONE: "按里程碑拨付",
    }
    if rule.trigger:
        parts.append(trigger_text[rule.trigger].replace("后拨付", "后一次性拨付") if rule.lump_sum
                     else trigger_text[rule.trigger])
    if rule.forfeit:
        parts.append("验收不通过或终止结题不拨付")
    if rule.external_standard:
        parts.append(f"按《{rule.external_standard}》执行")
    return "；".join(parts)


# ------------------------------------------------------------------------------------------------
# Disbursement
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisbursementCalc:
    """`amount` in 万元, rounded half-up to the yuan (4 decimals), or None when `blocked` (then `message` says
    why, in Chinese, naming the missing certificate figure). `steps` explain the arithmetic for the checklist."""

    amount: Decimal | None
    blocked: bool
    message: str
    raw: Decimal | None = None
    floor: Decimal | None = None
    cap: Decimal | None = None
    clamped: str | None = None  # "floor" | "cap"
    missing: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()


def _blocked(message: str, steps: Sequence[str] = (), missing: Sequence[str] = (),
             floor: Decimal | None = None, cap: Decimal | None = None) -> DisbursementCalc:
    return DisbursementCalc(None, True, message, None, floor, cap, None, tuple(missing), tuple(steps))


def _round(value: Decimal) -> Decimal:
    return value.quantize(_Q, rounding=ROUND_HALF_UP)


def _range_text(floor: Decimal | None, cap: Decimal | None) -> str:
    if floor is not None and cap is not None:
        return f"不低于{_fmt(floor)}万元且不高于{_fmt(cap)}万元"
    if cap is not None:
        return f"不高于{_fmt(cap)}万元"
    if floor is not None:
        return f"不低于{_fmt(floor)}万元"
    return "无上下限"


def compute_disbursement(
    rule: FundingRule,
    figures: Mapping[str, Decimal],
    officer_amount: Decimal | None = None,
    *,
    tier: str | None = None,
    exception_approved: bool = False,
    milestone: str | None = None,
) -> DisbursementCalc:
    """The payment for one project (or one milestone) in 万元.

    `figures` are the acceptance-certificate figures in 万元 keyed as in `BASES` (`certified_self_funding`,
    `compute_spend`, `total_investment`, `partner_payment`…). A formula is applied and clamped by floor and cap;
    bounds without a rate validate the officer's amount instead (never silently clamp what a person typed).
    `tier` picks a category tier (002 L582); `exception_approved` lifts the cap to the exception ceiling or, for
    一事一议, removes it. `milestone` picks a stated milestone (its amount, or its share of `approved_funding`).
    """
    steps: list[str] = []
    if not rule.fiscal:
        return DisbursementCalc(Decimal(0), False, "该方向不拨付财政经费，补助金额为0", steps=("不拨付财政经费",))
    if milestone is not None:
        return _milestone_amount(rule, figures, milestone)

    bounds = rule.bounds
    if tier is not None:
        chosen = next((t for t in rule.tiers if t.label == tier), None)
        if chosen is None:
            names = "、".join(t.label for t in rule.tiers) or "（无）"
            return _blocked(f"资助档次“{tier}”不在该方向的档次中：{names}")
        bounds = Bounds(
            chosen.bounds.floor if chosen.bounds.floor is not None else bounds.floor,
            chosen.bounds.cap if chosen.bounds.cap is not None else bounds.cap,
            chosen.bounds.fixed if chosen.bounds.fixed is not None else bounds.fixed,
        )
        steps.append(f"适用档次“{tier}”：{_bounds_text(bounds) or '未写明金额'}")
    elif rule.tiers:
        names = "、".join(t.label for t in rule.tiers)
        if bounds.empty:
            return _blocked(f"该方向按档次资助（{names}），请先指定项目适用的档次")
        steps.append(f"未指定档次（{names}），按通用金额计算")

    values: dict[str, Decimal] = {}
    for key in rule.required_figures:
        raw_value = figures.get(key)
        if raw_value is None:
            continue
        try:
            value = Decimal(raw_value) if not isinstance(raw_value, Decimal) else raw_value
        except (InvalidOperation, TypeError, ValueError):
            return _blocked(f"验收证书中的“{BASES.get(key, key)}”不是有效金额：{raw_value!r}")
        if not value.is_finite() or value < 0:
            return _blocked(f"验收证书中的“{BASES.get(key, key)}”不能为负数或非数值：{raw_value}")
        values[key] = value
    missing = [k for k in rule.required_figures if k not in values]
    if "other" in missing:
        base_text = next((s.base_text for s in (rule.formula, *rule.relative_caps, *rule.relative_floors)
                          if s is not None and s.base == "other"), "")
        return _blocked(f"计算基数“{base_text}”不在系统的基数中，请人工核定补助金额", missing=missing)
    if missing:
        names = "、".join(f"“{BASES.get(k, k)}”" for k in missing)
        return _blocked(f"验收证书缺少{names}，无法计算补助金额，请先补录证书数据", missing=missing)

    if rule.trigger is Trigger.AFTER_PARTNER_PAYMENT and values["partner_payment"] <= 0:
        return _blocked("企业尚未支付合作款项，按规定须在企业支付合作款项后拨付")

    floor = bounds.fixed if bounds.fixed is not None else bounds.floor
    cap = bounds.fixed if bounds.fixed is not None else bounds.cap
    for share in rule.relative_caps:
        limit = share.rate * values[share.base]
        steps.append(f"上限：{BASES.get(share.base, share.base_text)}{_fmt(values[share.base])}万元"
                     f"×{_pct(share.rate)}={_fmt(limit)}万元")
        cap = limit if cap is None else min(cap, limit)
    for share in rule.relative_floors:
        limit = share.rate * values[share.base]
        steps.append(f"下限：{BASES.get(share.base, share.base_text)}{_fmt(values[share.base])}万元"
                     f"×{_pct(share.rate)}={_fmt(limit)}万元")
        floor = limit if floor is None else max(floor, limit)
    if exception_approved:
        if rule.case_by_case:
            cap = None
            steps.append("经批准“一事一议”，不受上限约束")
        elif rule.exception_cap is not None:
            cap = rule.exception_cap
            steps.append(f"经认定符合“{rule.exception_condition}”，上限提高至{_fmt(rule.exception_cap)}万元")
        else:
            return _blocked("该方向没有可提高上限的例外条款")

    if floor is not None and cap is not None and floor > cap:
        return _blocked(
            f"补助下限{_fmt(floor)}万元高于上限{_fmt(cap)}万元，无法确定补助金额，请核对证书数据或报请处理",
            steps, floor=floor, cap=cap,
        )

    if rule.formula is not None:
        base_value = values[rule.formula.base]
        raw = rule.formula.rate * base_value
        steps.append(f"{BASES.get(rule.formula.base, rule.formula.base_text)}{_fmt(base_value)}万元"
                     f"×{_pct(rule.formula.rate)}={_fmt(raw)}万元")
        amount, clamped = raw, None
        if cap is not None and amount > cap:
            amount, clamped = cap, "cap"
            steps.append(f"超过上限，按上限{_fmt(cap)}万元")
        if floor is not None and amount < floor:
            amount, clamped = floor, "floor"
            steps.append(f"低于下限，按下限{_fmt(floor)}万元")
        amount = _round(amount)
        if officer_amount is not None and _round(Decimal(officer_amount)) != amount:
            steps.append(f"录入金额{_fmt(Decimal(officer_amount))}万元与公式结果不同，以公式结果为准")
        return DisbursementCalc(amount, False, f"补助金额{_fmt(amount)}万元", raw, floor, cap, clamped,
                                (), tuple(steps))

    if bounds.fixed is not None:
        amount = _round(bounds.fixed)
        if officer_amount is not None and _round(Decimal(officer_amount)) != amount:
            return _blocked(f"定额资助金额为{_fmt(amount)}万元，录入的{_fmt(Decimal(officer_amount))}万元不符",
                            steps, floor=floor, cap=cap)
        return DisbursementCalc(amount, False, f"定额资助{_fmt(amount)}万元", amount, floor, cap, None,
                                (), tuple(steps))

    allowed = _range_text(floor, cap)
    if officer_amount is None:
        note = f"（按《{rule.external_standard}》核定）" if rule.external_standard else ""
        return _blocked(f"该方向无计算公式，请录入补助金额{note}；允许范围：{allowed}", steps, floor=floor, cap=cap)
    try:
        entered = _round(Decimal(officer_amount))
    except (InvalidOperation, TypeError, ValueError):
        return _blocked(f"录入的补助金额不是有效数值：{officer_amount!r}", steps, floor=floor, cap=cap)
    if not entered.is_finite() or entered < 0:
        return _blocked("录入的补助金额不能为负数", steps, floor=floor, cap=cap)
    if floor is not None and entered < floor:
        return _blocked(f"录入的补助金额{_fmt(entered)}万元低于下限{_fmt(floor)}万元；允许范围：{allowed}",
                        steps, floor=floor, cap=cap)
    if cap is not None and entered > cap:
        return _blocked(f"录入的补助金额{_fmt(entered)}万元高于上限{_fmt(cap)}万元；允许范围：{allowed}",
                        steps, floor=floor, cap=cap)
    steps.append(f"录入金额{_fmt(entered)}万元，在允许范围内（{allowed}）")
    return DisbursementCalc(entered, False, f"补助金额{_fmt(entered)}万元", entered, floor, cap, None,
                            (), tuple(steps))


def _milestone_amount(rule: FundingRule, figures: Mapping[str, Decimal], label: str) -> DisbursementCalc:
    chosen = next((m for m in rule.milestones if m.label == label), None)
    if chosen is None:
        names = "、".join(m.label for m in rule.milestones) or "（指南未定义里程碑）"
        return _blocked(f"里程碑“{label}”不在该方向的里程碑中：{names}")
    if chosen.amount is not None:
        amount = _round(chosen.amount)
        return DisbursementCalc(amount, False, f"{label}补助{_fmt(amount)}万元", amount,
                                steps=(f"{label}：定额{_fmt(amount)}万元",))
    approved = figures.get("approved_funding")
    if chosen.share is None or approved is None:
        return _blocked(f"缺少“{BASES['approved_funding']}”，无法按比例计算{label}的补助金额",
                        missing=("approved_funding",))
    if approved < 0:
        return _blocked(f"“{BASES['approved_funding']}”不能为负数")
    raw = chosen.share * approved
    amount = _round(raw)
    return DisbursementCalc(amount, False, f"{label}补助{_fmt(amount)}万元", raw,
                            steps=(f"{label}：{_fmt(approved)}万元×{_pct(chosen.share)}={_fmt(raw)}万元",))


VERDICTS_PAYABLE = frozenset({"通过"})


def disbursement_allowed(rule: FundingRule, verdict: str) -> tuple[bool, str]:
    """Whether an acceptance verdict (通过/不通过/结题/终止) releases the payment (DESIGN §2 Disbursement)."""
    if not rule.fiscal:
        return False, "该方向不拨付财政经费"
    if verdict in VERDICTS_PAYABLE:
        return True, "验收通过，可以拨付"
    reason = "指南规定验收不通过或终止结题不拨付" if rule.forfeit else "验收未通过，按规定不拨付"
    return False, f"验收结论为“{verdict}”：{reason}"


__all__ = [
    "BASES",
    "Bounds",
    "DisbursementCalc",
    "Flag",
    "FundingMode",
    "FundingRule",
    "Matching",
    "Milestone",
    "Share",
    "Tier",
    "Trigger",
    "base_key",
    "compute_disbursement",
    "describe",
    "disbursement_allowed",
    "from_dict",
    "parse_funding",
    "to_dict",
]
