"""Requirement expressions: which indicators of a block a project must meet (taxonomy §8.2).

A guideline's indicator block is a menu; a *selection rule* says which items of it a project is held to:

- 002 content items: `（满足考核指标中的①②⑤⑥⑦或①③⑤⑥⑦）` (002 L22) → all of ①②⑤⑥⑦, or all of ①③⑤⑥⑦;
- either-or: `每个项目满足考核指标①或②即可` (002 L579);
- k-of-n over the whole block: `（满足考核指标中的3项及以上）` (001 L536);
- sets keyed by project subtype: `（企业联合…工程博士项目须考核指标中的①②；高校引进…项目须考核指标中的③④）` (002 L643),
  by enterprise type (`①非农业领域企业：…②农业领域企业：…`, 002 L587), by applicant category (`1.企业类：（1）…`,
  002 L765–768 and L801–804), by 科创飞地 type with plain digits (002 L960), by content item
  (`考核指标（对应上述内容）`, 002 L1172);
- no rule: every item of the block (`default_rule`).

The tree is immutable and JSON-serialisable (`to_dict`/`from_dict`); `evaluate` gives readiness on the latest
values (DESIGN §2 Acceptance): True/False/None plus a score and the unmet items of the closest alternative.
Pure: stdlib and `indicators.reading.numbers` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Union

from indicators.reading.flags import Flag
from indicators.reading.numbers import normalize_width, parse_cn_integer

# ------------------------------------------------------------------------------------------------
# Markers
# ------------------------------------------------------------------------------------------------

# ① … ⑳ are U+2460–U+2473; ⑴ … ⒇ (parenthesised) U+2474–U+2487. 002 uses ① … ⑩ (⑩ is one code point, L74).
_CIRCLED_FIRST, _CIRCLED_LAST = 0x2460, 0x2473
_PAREN_DIGIT_FIRST, _PAREN_DIGIT_LAST = 0x2474, 0x2487
CIRCLED = "".join(chr(c) for c in range(_CIRCLED_FIRST, _CIRCLED_LAST + 1))

_MARKER_TEXT = re.compile(
    r"^\s*(?:[（(]\s*(?P<paren>\d+|[一二三四五六七八九十]+)\s*[）)]"
    r"|(?P<plain>\d+|[一二三四五六七八九十]+)\s*[.．、]?)\s*$"
)


def marker_ordinal(marker: str | int) -> int | None:
    """`①` → 1, `（3）`/`(3)` → 3, `⑵` → 2, `4.`/`4、`/`4` → 4, `（三）` → 3; None when it is not a marker."""
    if isinstance(marker, bool):
        return None
    if isinstance(marker, int):
        return marker if marker > 0 else None
    text = normalize_width(marker).strip()
    if len(text) == 1:
        code = ord(text)
        if _CIRCLED_FIRST <= code <= _CIRCLED_LAST:
            return code - _CIRCLED_FIRST + 1
        if _PAREN_DIGIT_FIRST <= code <= _PAREN_DIGIT_LAST:
            return code - _PAREN_DIGIT_FIRST + 1
    m = _MARKER_TEXT.match(text)
    if not m:
        return None
    raw = m.group("paren") or m.group("plain")
    value = int(raw) if raw.isdigit() and len(raw) <= 6 else parse_cn_integer(raw)
    return value if value and value > 0 else None


def marker_text(ordinal: int) -> str:
    """1 → `①` (the form 002 uses); beyond ⑳ the bracket form `（21）`."""
    if 1 <= ordinal <= _CIRCLED_LAST - _CIRCLED_FIRST + 1:
        return chr(_CIRCLED_FIRST + ordinal - 1)
    return f"（{ordinal}）"


# ------------------------------------------------------------------------------------------------
# The expression tree
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """One indicator of the block, by its ordinal (`①` and `（1）` and `1.` are all 1)."""

    index: int

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 1:
            raise ValueError(f"指标序号必须是正整数：{self.index!r}")

    @classmethod
    def of(cls, marker: str | int) -> Ref:
        ordinal = marker_ordinal(marker)
        if ordinal is None:
            raise ValueError(f"无法识别的指标序号：{marker!r}")
        return cls(ordinal)


@dataclass(frozen=True)
class AllOf:
    items: tuple[Expr, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Expr, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        if not self.items:
            raise ValueError("“或”规则至少需要一个备选项")


@dataclass(frozen=True)
class AtLeast:
    """k of the items. Empty `items` means *the whole block* (001 L536 names no items); `bind_block` or
    `evaluate` (with the keys of `met`) resolves it."""

    k: int
    items: tuple[Expr, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"“至少k项”中的k必须是正整数：{self.k!r}")
        if self.items and self.k > len(self.items):
            raise ValueError(f"要求至少满足{self.k}项，但只列出{len(self.items)}项")


@dataclass(frozen=True)
class ByCategory:
    """An expression per project attribute value: applicant category (企业类), subtype (工程博士项目), enterprise
    type (农业领域企业) or content item (主要内容1). Refs inside a case are numbered within that case's own list
    when the block is partitioned (002 L765: each category restarts at （1）)."""

    cases: tuple[tuple[str, Expr], ...]

    def __init__(self, cases: Mapping[str, Expr] | Iterable[tuple[str, Expr]]) -> None:
        pairs = tuple(cases.items()) if isinstance(cases, Mapping) else tuple(cases)
        if not pairs:
            raise ValueError("分类规则至少需要一个类别")
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"分类规则中类别重复：{keys}")
        object.__setattr__(self, "cases", pairs)

    def get(self, category: str) -> Expr | None:
        for key, expr in self.cases:
            if key == category:
                return expr
        return None

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.cases)


Expr = Union[Ref, AllOf, AnyOf, AtLeast, ByCategory]  # noqa: UP007 - a runtime alias used in isinstance


def default_rule(labels: Sequence[int | str | None]) -> AllOf:
    """No selection rule: the project must meet every item of the block. A None label (an unnumbered clause,
    001 L538) is identified by its 1-based position in the block."""
    refs: list[Expr] = []
    for position, label in enumerate(labels, start=1):
        ordinal = position if label is None else marker_ordinal(label)
        if ordinal is None:
            raise ValueError(f"无法识别的指标序号：{label!r}")
        refs.append(Ref(ordinal))
    return AllOf(tuple(refs))


def refs(rule: Expr) -> frozenset[int]:
    """Every ordinal the rule names (the whole-block placeholder names none)."""
    if isinstance(rule, Ref):
        return frozenset({rule.index})
    if isinstance(rule, ByCategory):
        return frozenset().union(*(refs(e) for _, e in rule.cases))
    return frozenset().union(*(refs(e) for e in rule.items)) if rule.items else frozenset()


def missing_refs(rule: Expr, labels: Sequence[int | str | None]) -> tuple[int, ...]:
    """Ordinals the rule names that the block does not have (a typo in the guideline, or a wrong block)."""
    have = set(refs(default_rule(labels)))
    return tuple(sorted(refs(rule) - have))


def bind_block(rule: Expr, labels: Sequence[int | str | None]) -> Expr:
    """Replace the whole-block placeholder of `AtLeast(k)` with the block's items."""
    if isinstance(rule, AtLeast):
        items = rule.items or default_rule(labels).items
        return AtLeast(rule.k, tuple(bind_block(e, labels) for e in items))
    if isinstance(rule, AllOf):
        return AllOf(tuple(bind_block(e, labels) for e in rule.items))
    if isinstance(rule, AnyOf):
        return AnyOf(tuple(bind_block(e, labels) for e in rule.items))
    if isinstance(rule, ByCategory):
        return ByCategory(tuple((k, bind_block(e, labels)) for k, e in rule.cases))
    return rule


def _simplify(expr: Expr) -> Expr:
    """One-item AllOf/AnyOf collapse to the item, so `①或②` reads as AnyOf(Ref, Ref)."""
    if isinstance(expr, AllOf | AnyOf) and len(expr.items) == 1:
        return _simplify(expr.items[0])
    return expr


# ------------------------------------------------------------------------------------------------
# Serialisation
# ------------------------------------------------------------------------------------------------


def to_dict(rule: Expr) -> dict[str, Any]:
    """JSON-friendly form for the database: `{"op": "ref"|"all"|"any"|"at_least"|"by_category", …}`."""
    if isinstance(rule, Ref):
        return {"op": "ref", "index": rule.index}
    if isinstance(rule, AllOf):
        return {"op": "all", "items": [to_dict(e) for e in rule.items]}
    if isinstance(rule, AnyOf):
        return {"op": "any", "items": [to_dict(e) for e in rule.items]}
    if isinstance(rule, AtLeast):
        return {"op": "at_least", "k": rule.k, "items": [to_dict(e) for e in rule.items]}
    if isinstance(rule, ByCategory):
        # A list of pairs, not an object: the order of the categories is the guideline's and must survive.
        return {"op": "by_category", "cases": [[k, to_dict(e)] for k, e in rule.cases]}
    raise TypeError(f"不是规则表达式：{rule!r}")


def from_dict(data: Mapping[str, Any]) -> Expr:
    """Inverse of `to_dict`; raises ValueError on anything malformed (a stored rule must never half-load)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"规则必须是对象：{data!r}")
    op = data.get("op")
    try:
        if op == "ref":
            return Ref(data["index"])
        if op in ("all", "any", "at_least"):
            items = tuple(from_dict(e) for e in data.get("items", []))
            if op == "all":
                return AllOf(items)
            if op == "any":
                return AnyOf(items)
            return AtLeast(data["k"], items)
        if op == "by_category":
            raw = data["cases"]
            pairs = raw.items() if isinstance(raw, Mapping) else raw
            return ByCategory(tuple((str(k), from_dict(e)) for k, e in pairs))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"规则数据不完整：{data!r}") from exc
    raise ValueError(f"未知的规则类型：{op!r}")


# ------------------------------------------------------------------------------------------------
# Description (Chinese, for pages and the acceptance checklist)
# ------------------------------------------------------------------------------------------------


def _all_refs(items: Sequence[Expr]) -> bool:
    return all(isinstance(e, Ref) for e in items)


def _refs_text(items: Sequence[Expr]) -> str:
    return "".join(marker_text(e.index) for e in items if isinstance(e, Ref))


def describe(rule: Expr) -> str:
    """`AnyOf(AllOf(①②⑤⑥⑦), AllOf(①③⑤⑥⑦))` → `满足①②⑤⑥⑦全部，或满足①③⑤⑥⑦全部`."""
    if isinstance(rule, Ref):
        return f"满足{marker_text(rule.index)}"
    if isinstance(rule, AllOf):
        if not rule.items:
            return "无强制指标"
        if _all_refs(rule.items):
            return f"满足{_refs_text(rule.items)}" + ("全部" if len(rule.items) > 1 else "")
        return "；且".join(describe(e) for e in rule.items)
    if isinstance(rule, AnyOf):
        return "，或".join(describe(e) for e in rule.items)
    if isinstance(rule, AtLeast):
        if not rule.items:
            return f"满足考核指标中至少{rule.k}项"
        if _all_refs(rule.items):
            return f"满足{_refs_text(rule.items)}中至少{rule.k}项"
        return f"以下{len(rule.items)}组中至少满足{rule.k}组：" + "；".join(describe(e) for e in rule.items)
    if isinstance(rule, ByCategory):
        return "；".join(f"{k}：{describe(e)}" for k, e in rule.cases)
    raise TypeError(f"不是规则表达式：{rule!r}")


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """`satisfied` is None when the answer depends on unknown values. `score` = met / required in the best
    alternative (unknowns count as not met). `unmet` lists that alternative's items not (yet) met, `unknown` the
    subset whose status is unknown (no accepted value, or awaiting the expert panel)."""

    satisfied: bool | None
    score: Fraction
    unmet: tuple[int, ...]
    unknown: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    # The score's parts (items met, of those the best alternative requires): the score says the same, reduced.
    met: int = field(default=0, compare=False)
    required: int = field(default=0, compare=False)


@dataclass(frozen=True)
class _Partial:
    satisfied: bool | None
    met: int
    required: int
    unmet: tuple[int, ...]
    unknown: tuple[int, ...]
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> Fraction:
        return Fraction(self.met, self.required) if self.required else Fraction(1)


def _rank(p: _Partial) -> tuple[int, Fraction, int]:
    # Closest alternative: satisfied beats unknown beats failed; then the higher score; then fewer gaps.
    state = {True: 2, None: 1, False: 0}[p.satisfied]
    return (state, p.score, -len(p.unmet))


def _combine_all(parts: Sequence[_Partial]) -> _Partial:
    if any(p.satisfied is False for p in parts):
        sat: bool | None = False
    elif any(p.satisfied is None for p in parts):
        sat = None
    else:
        sat = True
    return _Partial(
        sat,
        sum(p.met for p in parts),
        sum(p.required for p in parts),
        tuple(i for p in parts for i in p.unmet),
        tuple(i for p in parts for i in p.unknown),
        tuple(n for p in parts for n in p.notes),
    )


def _eval(rule: Expr, met: Mapping[int, bool | None], category: str | None) -> _Partial:
    if isinstance(rule, Ref):
        value = met.get(rule.index)
        if value is True:
            return _Partial(True, 1, 1, (), ())
        if value is None:
            return _Partial(None, 0, 1, (rule.index,), (rule.index,))
        return _Partial(False, 0, 1, (rule.index,), ())
    if isinstance(rule, AllOf):
        return _combine_all([_eval(e, met, category) for e in rule.items])
    if isinstance(rule, AnyOf):
        parts = [_eval(e, met, category) for e in rule.items]
        return max(parts, key=_rank)  # max keeps the first of equals: the guideline's order breaks ties
    if isinstance(rule, AtLeast):
        items = rule.items or tuple(Ref(i) for i in sorted(met))
        if rule.k > len(items):
            return _Partial(False, 0, rule.k, (), (), (f"考核指标只有{len(items)}项，不足要求的{rule.k}项",))
        parts = [_eval(e, met, category) for e in items]
        chosen = sorted(parts, key=_rank, reverse=True)[: rule.k]  # sorted is stable: ties keep block order
        n_true = sum(p.satisfied is True for p in parts)
        n_unknown = sum(p.satisfied is None for p in parts)
        sat: bool | None = True if n_true >= rule.k else (None if n_true + n_unknown >= rule.k else False)
        combined = _combine_all(chosen)
        return _Partial(sat, combined.met, combined.required, combined.unmet, combined.unknown, combined.notes)
    if isinstance(rule, ByCategory):
        if category is not None:
            chosen_expr = rule.get(category)
            if chosen_expr is not None:
                return _eval(chosen_expr, met, category)
            note = f"申报类别“{category}”不在规则的类别中（{'、'.join(rule.categories)}）"
        else:
            note = f"未指定申报类别（{'、'.join(rule.categories)}），无法确定适用的考核指标"
        best = max((_eval(e, met, category) for _, e in rule.cases), key=_rank)
        return _Partial(None, best.met, best.required, best.unmet, best.unknown, best.notes + (note,))
    raise TypeError(f"不是规则表达式：{rule!r}")


def evaluate(rule: Expr, met: Mapping[int, bool | None], category: str | None = None) -> Evaluation:
    """Readiness of one requirement expression. `met[i]` is True/False/None for indicator i; a missing key is
    unknown. `category` picks the case of a `ByCategory` (applicant category, subtype or content item)."""
    p = _eval(rule, met, category)
    return Evaluation(p.satisfied, p.score, p.unmet, p.unknown, p.notes, p.met, p.required)


# ------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectionParse:
    """`rule` None means the text states no block-level rule (then `default_rule` applies). `span` indexes the
    original text. `eligibility_refs` are the 申报要求 items a content item also selects (002 L959–960)."""

    rule: Expr | None
    flags: tuple[Flag, ...] = ()
    span: tuple[int, int] | None = None
    source: str = ""
    eligibility_refs: tuple[int, ...] = field(default=())


_BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")  # 002 hazard §7.10


def _clean(text: str) -> tuple[str, list[int]]:
    """Width-folded text without bookmarks, and for each kept character its index in the original."""
    kept: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _BOOKMARK.finditer(text):
        kept.append(text[pos : m.start()])
        index.extend(range(pos, m.start()))
        pos = m.end()
    kept.append(text[pos:])
    index.extend(range(pos, len(text)))
    folded = normalize_width("".join(kept))  # one character for one: indices stay valid
    return folded, index


def _orig_span(index: list[int], start: int, end: int, original: str) -> tuple[int, int]:
    if not index:
        return (0, 0)
    s = index[start] if start < len(index) else len(original)
    e = index[end - 1] + 1 if end > 0 else s
    return (s, e)


_CN_NUM = "一二三四五六七八九十两"
_CIRC = f"[{CIRCLED}]"

# `满足考核指标中的①②⑤⑥⑦或①③⑤⑥⑦` (002 L22), `满足考核指标①或②即可` (002 L579), `须考核指标中的①②` (002 L643).
_CIRCLED_RULE = re.compile(
    rf"(?:须|需|应)?(?:满足|达到|完成)?考核指标(?:中的?|其中的?)?\s*(?P<body>{_CIRC}(?:[{CIRCLED}、，,和及与]|或)*{_CIRC}|{_CIRC})"
)
# `满足考核指标1、2、3、4` and the typo `满足考核指标标1、2、3、4` (002 L959–960): plain digits, not `3项`.
_DIGIT_RULE = re.compile(
    r"(?:须|需|应)?满足考核指标(?P<typo>标)?(?:中的?)?\s*(?P<body>\d+(?:\s*[、，,和及]\s*\d+)*)(?!\d|\s*项|\s*[.．]\d)"
)
# `（满足考核指标中的3项及以上）` (001 L536); also `至少满足考核指标中的3项`, `任意三项`.
_K_OF_N = re.compile(
    rf"(?:至少)?(?:须|需|应)?满足考核指标(?:中的?|其中的?)?(?:任意|至少)?\s*(?P<k>\d+|[{_CN_NUM}]+)\s*项(?:及以上|以上)?"
    rf"|至少满足考核指标(?:中的?)?(?P<k2>\d+|[{_CN_NUM}]+)\s*项"
)
# `满足申报要求1、2、3` (002 L959): an eligibility selection, kept apart from the indicator rule.
_ELIGIBILITY = re.compile(r"满足申报要求\s*(?P<body>\d+(?:\s*[、，,和及]\s*\d+)*)")
# `开发新装备…1项及以上（满足其中1项即可）` (000 L1021): a basket inside one clause, not a block rule (taxonomy §9 #27).
_CLAUSE_ANY = re.compile(r"满足其中\s*(?:\d+|[一二三四五六七八九十两]+)\s*项即可")
# `①非农业领域企业：…②农业领域企业：…` (002 L587): each circled item opens with the type it applies to.
_TYPED_ITEM = re.compile(
    rf"(?P<mark>{_CIRC})\s*(?P<cat>[^：:，。；;{CIRCLED}]{{2,16}}?(?:企业|类|项目|单位|机构))[：:]"
)
# `1.企业类：（1）…` (002 L765–768): a category line; the category is the line's head.
_CATEGORY_LINE = re.compile(
    r"(?:^|(?<=[\n。；;]))\s*(?P<n>\d+)\s*[.．、]\s*(?P<cat>[^：:\n。；（(]{2,30}类)\s*[：:]", re.M
)
_PAREN_ITEM = re.compile(r"[（(]\s*(?P<n>\d+)\s*[）)]")
# `以园区或产业基地为依托的，…（2）以科技企业孵化器为依托的，…` (002 L768): conditional items are alternatives.
_CONDITIONAL_ITEM = re.compile(r"^\s*以[^，,。]{1,30}为依托的")
# `考核指标（对应上述内容）：1.…2.…3.…` (002 L1172): item N of the content goes with indicator N.
_PER_CONTENT = re.compile(r"考核指标\s*[（(]\s*对应上述内容\s*[）)]\s*[：:]?")
_NUMBERED_ITEM = re.compile(r"(?:^|(?<=[：:。；;\s]))(?P<n>\d+)\s*[.．、](?!\d)")

# Words in front of a rule that name no category (`每个项目满足考核指标①或②即可`, 002 L579).
_GENERIC_SUBJECTS = {"每个项目", "项目", "申报项目", "所有项目", "每项", "各项目", "本方向项目", "每个课题"}
_SUBJECT_TAIL = re.compile(r"(?:须|需|应|均|可)+$")
_SEGMENT_CHARS = "（(；;，,。\n"
_SUBJECT_MAX = 60


def _alternatives(body: str) -> Expr:
    """`①②⑤⑥⑦或①③⑤⑥⑦` → AnyOf(AllOf(…), AllOf(…)); `①或②` → AnyOf(Ref, Ref); `①②` → AllOf."""
    alts: list[Expr] = []
    for part in body.split("或"):
        marks = [Ref(marker_ordinal(ch) or 0) for ch in part if ch in CIRCLED]
        if marks:
            alts.append(_simplify(AllOf(tuple(marks))))
    if not alts:
        raise ValueError(body)
    return _simplify(AnyOf(tuple(alts)))


def _digits(body: str) -> Expr:
    return _simplify(AllOf(tuple(Ref(int(n)) for n in re.findall(r"\d+", body) if int(n) > 0)))


def _k_value(raw: str) -> int | None:
    if raw.isdigit():
        return int(raw) if len(raw) <= 3 else None  # `满足考核指标中的3项` never needs more
    return parse_cn_integer(raw)


def _subject(clean: str, start: int) -> tuple[str, int]:
    """The words in front of a rule inside its own segment (after the last bracket, `；`, `，` or `。`)."""
    # Look back at most _SUBJECT_MAX characters: a category name is short (002 L643's longest is 19), and
    # scanning to the start of the text for every rule would be quadratic on long text.
    window = max(0, start - _SUBJECT_MAX)
    seg_start = max(clean.rfind(ch, window, start) for ch in _SEGMENT_CHARS) + 1
    if seg_start == 0 and window > 0:
        return "", start
    subject = _SUBJECT_TAIL.sub("", clean[seg_start:start].strip())
    return subject, seg_start


def _split_categories(subject: str) -> list[str]:
    """`孵化类、综合类科创飞地` (002 L960) → [孵化类科创飞地, 综合类科创飞地]; other lists stay one name
    (`科研院所、高校和新型研发机构类` is one category, 002 L766)."""
    parts = [p for p in re.split(r"[、和及]", subject) if p]
    last = parts[-1] if parts else ""
    if len(parts) > 1 and all(p.endswith("类") for p in parts[:-1]) and "类" in last and not last.endswith("类"):
        suffix = last[last.index("类") + 1 :]
        return [p + suffix for p in parts[:-1]] + [last]
    return [subject]


def _parse_category_lines(clean: str) -> tuple[ByCategory, int, int, list[Flag]] | None:
    heads = list(_CATEGORY_LINE.finditer(clean))
    if len(heads) < 2:
        return None
    cases: list[tuple[str, Expr]] = []
    flags: list[Flag] = []
    for i, head in enumerate(heads):
        body_end = heads[i + 1].start() if i + 1 < len(heads) else len(clean)
        body = clean[head.end() : body_end]
        items = list(_PAREN_ITEM.finditer(body))
        if not items:
            return None
        texts = [body[m.end() : (items[j + 1].start() if j + 1 < len(items) else len(body))]
                 for j, m in enumerate(items)]
        expr_items = tuple(Ref(int(m.group("n"))) for m in items if int(m.group("n")) > 0)
        if all(_CONDITIONAL_ITEM.match(t) for t in texts) and len(texts) > 1:
            expr: Expr = AnyOf(expr_items)
            flags.append(Flag("conditional_alternatives",
                              f"“{head.group('cat')}”的各项以“以…为依托的”开头，按“满足其一”处理"))
        else:
            expr = _simplify(AllOf(expr_items))
        cases.append((head.group("cat").strip(), expr))
    if len({k for k, _ in cases}) != len(cases):
        return None  # the same category twice: not a partition of the block
    return ByCategory(tuple(cases)), heads[0].start("n"), len(clean.rstrip()), flags


def _parse_typed_items(clean: str) -> tuple[ByCategory, int, int] | None:
    marks = [ch for ch in clean if ch in CIRCLED]
    typed = list(_TYPED_ITEM.finditer(clean))
    if len(typed) < 2 or len(typed) != len(marks):
        return None
    cases = tuple((m.group("cat").strip(), Ref(marker_ordinal(m.group("mark")) or 0)) for m in typed)
    if len({k for k, _ in cases}) != len(cases):
        return None
    return ByCategory(cases), typed[0].start(), typed[-1].end()


def _parse_per_content(clean: str) -> tuple[ByCategory, int, int] | None:
    head = _PER_CONTENT.search(clean)
    if not head:
        return None
    numbers = [int(m.group("n")) for m in _NUMBERED_ITEM.finditer(clean, head.end())]
    numbers = [n for n in numbers if n > 0]
    if not numbers:
        return None
    return ByCategory(tuple((f"主要内容{n}", Ref(n)) for n in numbers)), head.start(), len(clean.rstrip())


def parse_selection_rule(text: str, labels: Sequence[int | str | None] | None = None) -> SelectionParse:
    """Find the block-level selection rule stated in `text` (a content item, an indicator block or a note).

    With `labels` (the block's markers), a k-of-n over the whole block is bound to those items and refs that
    the block lacks are flagged. Never raises on arbitrary text.
    """
    try:
        return _parse(text, labels)
    except (ValueError, IndexError) as exc:  # defensive: a parser must not take an import down
        return SelectionParse(None, (Flag("parse_error", f"选择规则无法解析：{exc}"),))


def _parse(text: str, labels: Sequence[int | str | None] | None) -> SelectionParse:
    clean, index = _clean(text)
    flags: list[Flag] = []

    def done(rule: Expr, start: int, end: int, eligibility: tuple[int, ...] = ()) -> SelectionParse:
        if labels is not None:
            try:
                rule = bind_block(rule, labels)
            except ValueError as exc:  # `3项及以上` over a block of two items
                flags.append(Flag("unbindable", f"选择规则与本块考核指标不符：{exc}"))
            lacking = missing_refs(rule, labels)
            if lacking:
                flags.append(Flag("unknown_ref", "选择规则引用了本块不存在的考核指标："
                                  + "".join(marker_text(i) for i in lacking)))
        s, e = _orig_span(index, start, end, text)
        return SelectionParse(rule, tuple(flags), (s, e), text[s:e], eligibility)

    # Whole-block forms first: they also contain markers that the inline forms would misread.
    per_content = _parse_per_content(clean)
    if per_content:
        flags.append(Flag("keyed_by_content_item", "考核指标按主要内容逐项对应：选择哪项内容即考核对应指标"))
        return done(*per_content)
    lines = _parse_category_lines(clean)
    if lines:
        rule, start, end, more = lines
        flags.extend(more)
        return done(rule, start, end)
    typed = _parse_typed_items(clean)
    if typed:
        return done(*typed)

    eligibility = tuple(int(n) for m in _ELIGIBILITY.finditer(clean) for n in re.findall(r"\d+", m.group("body")))
    if eligibility:
        flags.append(Flag("eligibility_refs", "同时引用了申报要求：" + "、".join(map(str, eligibility))))

    found: list[tuple[int, int, Expr]] = []
    for m in _CIRCLED_RULE.finditer(clean):
        found.append((m.start(), m.end(), _alternatives(m.group("body"))))
    for m in _DIGIT_RULE.finditer(clean):
        if m.group("typo"):
            flags.append(Flag("typo", "原文“考核指标标”疑为笔误，按“考核指标”处理"))
        rule = _digits(m.group("body"))
        found.append((m.start(), m.end(), rule))
    for m in _K_OF_N.finditer(clean):
        k = _k_value(m.group("k") or m.group("k2") or "")
        if k:
            found.append((m.start(), m.end(), AtLeast(k)))
    found.sort(key=lambda t: t[0])

    if not found:
        if _CLAUSE_ANY.search(clean):
            flags.append(Flag("clause_level", "“满足其中1项即可”是单条指标内的备选，不是整块的选择规则"))
        return SelectionParse(None, tuple(flags), None, "", eligibility)

    # Category-keyed rules: each rule's own segment names the subtype it applies to (002 L643, L960).
    keyed: list[tuple[str, Expr]] = []
    plain: list[Expr] = []
    first, last = found[0][0], found[-1][1]
    for start, _end, rule in found:
        subject, seg_start = _subject(clean, start)
        if subject and subject not in _GENERIC_SUBJECTS and not subject.startswith("满足"):
            keyed.extend((name, rule) for name in _split_categories(subject))
            first = min(first, seg_start + len(clean[seg_start:start]) - len(clean[seg_start:start].lstrip()))
        else:
            plain.append(rule)
    if keyed and not plain:
        names = [k for k, _ in keyed]
        if len(set(names)) == len(names):
            return done(ByCategory(tuple(keyed)), first, last, eligibility)
        flags.append(Flag("duplicate_category", "同一类别出现多条规则：" + "、".join(names)))
    elif keyed:
        flags.append(Flag("mixed_rules", "部分规则带类别、部分不带：只取第一条，请人工核对"))
    if len(found) > 1:
        # A whole 主要内容 list carries one rule per content item (002 L22–30): each item must be parsed alone.
        flags.append(Flag("multiple_rules", f"文本中有{len(found)}条选择规则，只取第一条；请逐条内容项解析"))
    return done(found[0][2], found[0][0], found[0][1], eligibility)
