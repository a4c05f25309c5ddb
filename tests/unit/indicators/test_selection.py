"""Requirement expressions (indicators/rules/selection.py): the seeds' selection forms, evaluation, round trips."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.rules.selection import (
    AllOf,
    AnyOf,
    AtLeast,
    ByCategory,
    Evaluation,
    Expr,
    Ref,
    bind_block,
    default_rule,
    describe,
    evaluate,
    from_dict,
    marker_ordinal,
    marker_text,
    missing_refs,
    parse_selection_rule,
    refs,
    to_dict,
)

SAMPLES = Path(__file__).resolve().parents[3] / "tracker" / "demo" / "samples"
BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")


@cache
def seed_lines(prefix: str) -> list[str]:
    path = next(SAMPLES.glob(f"{prefix}_*.txt"), None)
    if path is None:
        pytest.skip(f"seed {prefix} not found under {SAMPLES}")
    return path.read_text(encoding="utf-8").splitlines()


def line(prefix: str, number: int) -> str:
    """Line `number` (1-based, as `sed -n` shows it) of a seed, bookmarks kept: the parser must cope."""
    return seed_lines(prefix)[number - 1]


def refs_all(*ns: int) -> AllOf:
    return AllOf(tuple(Ref(n) for n in ns))


# --- markers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "ordinal"),
    [("①", 1), ("⑩", 10), ("⑳", 20), ("（3）", 3), ("(3)", 3), ("（１２）", 12), ("⑵", 2), ("4.", 4), ("4、", 4),
     ("4", 4), ("（三）", 3), (7, 7)],
)
def test_marker_ordinal(marker: str | int, ordinal: int) -> None:
    assert marker_ordinal(marker) == ordinal


@pytest.mark.parametrize("marker", ["", "abc", "（）", "0", 0, -1, "①②", True])
def test_marker_ordinal_rejects(marker: str | int) -> None:
    assert marker_ordinal(marker) is None


def test_marker_text() -> None:
    assert [marker_text(i) for i in (1, 5, 10, 20, 21)] == ["①", "⑤", "⑩", "⑳", "（21）"]


# --- the seeds' forms ------------------------------------------------------------------------------------------


def test_or_of_and_sets_002_l22() -> None:
    # 002 L22: `（满足考核指标中的①②⑤⑥⑦或①③⑤⑥⑦）` on a content item.
    text = line("002", 22)
    parsed = parse_selection_rule(text)
    assert parsed.rule == AnyOf((refs_all(1, 2, 5, 6, 7), refs_all(1, 3, 5, 6, 7)))
    assert describe(parsed.rule) == "满足①②⑤⑥⑦全部，或满足①③⑤⑥⑦全部"
    assert parsed.span is not None and text[parsed.span[0] : parsed.span[1]] == parsed.source
    assert parsed.source == "满足考核指标中的①②⑤⑥⑦或①③⑤⑥⑦"
    assert parsed.flags == ()


@pytest.mark.parametrize(
    ("number", "alternatives"),
    [
        (23, ((1, 2, 4, 5, 6, 7, 8), (1, 3, 4, 5, 6, 7, 8))),  # 002 L23
        (38, ((1, 2, 4, 5, 6), (1, 3, 4, 5, 6))),  # 002 L38
        (71, ((2, 3, 7, 9), (2, 3, 8, 9))),  # 002 L71
        (84, ((1, 5, 6), (4, 5, 6))),  # 002 L84
        (86, ((1, 2, 5, 6), (1, 3, 5, 6))),  # 002 L86
        (99, ((1, 2, 5, 6), (1, 2, 4, 5, 6))),  # 002 L99
        (326, ((1, 3, 4, 6), (2, 3, 4, 6))),  # 002 L326 (line starts with bookmarks)
        (329, ((1, 3, 4, 6), (1, 3, 5, 6))),  # 002 L329
    ],
)
def test_every_or_form_of_002(number: int, alternatives: tuple[tuple[int, ...], ...]) -> None:
    parsed = parse_selection_rule(line("002", number))
    assert parsed.rule == AnyOf(tuple(refs_all(*alt) for alt in alternatives))


def test_plain_subset_002_l24() -> None:
    # 002 L24: `（满足考核指标中的①②③⑤⑥⑦）` → all of them.
    assert parse_selection_rule(line("002", 24)).rule == refs_all(1, 2, 3, 5, 6, 7)


def test_tenth_marker_is_one_code_point_002_l74() -> None:
    # 002 L74 area: `②④⑨⑩` — ⑩ is U+2469, not `①` + `0`.
    text = next(t for t in seed_lines("002") if "②④⑨⑩" in t)
    assert parse_selection_rule(text).rule == refs_all(2, 4, 9, 10)


def test_either_or_002_l579() -> None:
    # 002 L579: `…每个项目满足考核指标①或②即可。` at the end of the indicator block.
    parsed = parse_selection_rule(line("002", 579))
    assert parsed.rule == AnyOf((Ref(1), Ref(2)))
    assert describe(parsed.rule) == "满足①，或满足②"


def test_k_of_n_over_the_block_001_l536() -> None:
    # 001 L536: `（满足考核指标中的3项及以上）` inside 研究内容; the block (L538) is 5 unnumbered clauses.
    parsed = parse_selection_rule(line("001", 536))
    assert parsed.rule == AtLeast(3)
    assert describe(parsed.rule) == "满足考核指标中至少3项"
    bound = parse_selection_rule(line("001", 536), labels=[None] * 5).rule
    assert bound == AtLeast(3, tuple(Ref(i) for i in range(1, 6)))
    assert describe(bound) == "满足①②③④⑤中至少3项"


def test_subtype_map_002_l643() -> None:
    # 002 L643: `（企业联合区外高水平大学培养工程博士项目须考核指标中的①②；
    # 高校引进理工类博士并到企业服务项目须考核指标中的③④）`
    parsed = parse_selection_rule(line("002", 643))
    assert parsed.rule == ByCategory(
        {"企业联合区外高水平大学培养工程博士项目": refs_all(1, 2), "高校引进理工类博士并到企业服务项目": refs_all(3, 4)}
    )
    assert describe(parsed.rule) == (
        "企业联合区外高水平大学培养工程博士项目：满足①②全部；高校引进理工类博士并到企业服务项目：满足③④全部"
    )
    assert parsed.source.startswith("企业联合区外") and parsed.source.endswith("③④")


def test_enterprise_type_items_002_l587() -> None:
    # 002 L587: `①非农业领域企业：…；②农业领域企业：…` — the item is chosen by enterprise type.
    parsed = parse_selection_rule(line("002", 587))
    assert parsed.rule == ByCategory({"非农业领域企业": Ref(1), "农业领域企业": Ref(2)})


@pytest.mark.parametrize("first", [765, 801])
def test_applicant_category_lists_002(first: int) -> None:
    # 002 L764–768 (方向49) and L800–804 (方向51/子方向3): `考核指标：` then `1.企业类：（1）…（4）…` …
    # `4.科技园区…类：`
    # whose two items are alternatives (`（1）以园区或产业基地为依托的…（2）以科技企业孵化器为依托的…`).
    block = "\n".join(line("002", n) for n in range(first - 1, first + 4))
    parsed = parse_selection_rule(block)
    assert isinstance(parsed.rule, ByCategory)
    assert parsed.rule.categories == (
        "企业类", "科研院所、高校和新型研发机构类", "科技服务机构类", "科技园区、产业基地或科技企业孵化器类",
    )
    assert parsed.rule.get("企业类") == refs_all(1, 2, 3, 4)
    assert parsed.rule.get("科技园区、产业基地或科技企业孵化器类") == AnyOf((Ref(1), Ref(2)))
    assert [f.kind for f in parsed.flags] == ["conditional_alternatives"]


def test_category_lists_give_each_category_its_own_numbering_002_l766() -> None:
    block = "\n".join(line("002", n) for n in range(764, 769))
    rule = parse_selection_rule(block).rule
    assert isinstance(rule, ByCategory)
    assert rule.get("科研院所、高校和新型研发机构类") == refs_all(1, 2, 3, 4, 5)  # L766 has （1）…（5）
    assert evaluate(rule, {1: True, 2: True, 3: True, 4: True}, category="企业类").satisfied is True
    assert evaluate(rule, {1: True, 2: True, 3: True, 4: True}, category="科研院所、高校和新型研发机构类").unmet == (5,)


def test_plain_digits_with_eligibility_002_l959() -> None:
    # 002 L959: `（满足申报要求1、2、3，满足考核指标1、2、3、4）` — plain digits refer to the `N.` items of L961.
    parsed = parse_selection_rule(line("002", 959))
    assert parsed.rule == refs_all(1, 2, 3, 4)
    assert parsed.eligibility_refs == (1, 2, 3)


def test_digits_by_enclave_type_with_typo_002_l960() -> None:
    # 002 L960: `（满足申报要求4；孵化类、综合类科创飞地满足考核指标标1、2、3、4，研发类科创飞地满足考核指标5）`
    parsed = parse_selection_rule(line("002", 960))
    assert parsed.rule == ByCategory(
        {"孵化类科创飞地": refs_all(1, 2, 3, 4), "综合类科创飞地": refs_all(1, 2, 3, 4), "研发类科创飞地": Ref(5)}
    )
    assert parsed.eligibility_refs == (4,)
    assert {f.kind for f in parsed.flags} == {"eligibility_refs", "typo"}


def test_indicators_matched_to_content_items_002_l1172() -> None:
    # 002 L1171–1172: `重点支持开展研发以下其中一项内容：1.…2.…3.…` + `考核指标（对应上述内容）：1.…2.…3.…`
    parsed = parse_selection_rule(line("002", 1172))
    assert parsed.rule == ByCategory({"主要内容1": Ref(1), "主要内容2": Ref(2), "主要内容3": Ref(3)})
    assert [f.kind for f in parsed.flags] == ["keyed_by_content_item"]


def test_basket_inside_a_clause_is_not_a_block_rule_000_l1021() -> None:
    # 000 L1021: `开发新装备、新产品、新材料、新系统、新软件1项及以上（满足其中1项即可）` — taxonomy §9 #27.
    parsed = parse_selection_rule(line("000", 1021))
    assert parsed.rule is None
    assert [f.kind for f in parsed.flags] == ["clause_level"]


def test_sibling_without_rule_means_all_001_l548() -> None:
    # 001 L548's siblings of L536 state no rule: every clause of the block is required.
    assert parse_selection_rule(line("001", 550)).rule is None
    assert default_rule([None] * 5) == refs_all(1, 2, 3, 4, 5)


def test_a_whole_content_list_is_flagged_not_merged_002_l22_30() -> None:
    # 002 L22–30: nine content items, one rule each; they are alternatives for the applicant, not a conjunction.
    text = "\n".join(line("002", n) for n in range(22, 31))
    parsed = parse_selection_rule(text)
    assert parsed.rule == AnyOf((refs_all(1, 2, 5, 6, 7), refs_all(1, 3, 5, 6, 7)))  # L22's rule
    assert [f.kind for f in parsed.flags] == ["multiple_rules"]
    assert "9条" in parsed.flags[0].message


def test_chinese_numeral_k_and_refs_outside_the_block() -> None:
    assert parse_selection_rule("（满足考核指标中的三项以上）").rule == AtLeast(3)
    parsed = parse_selection_rule("（满足考核指标中的①②⑨）", labels=["①", "②", "③"])
    assert parsed.rule == refs_all(1, 2, 9)
    assert [f.kind for f in parsed.flags] == ["unknown_ref"]
    too_many = parse_selection_rule("（满足考核指标中的3项及以上）", labels=["①", "②"])
    assert too_many.rule == AtLeast(3)
    assert [f.kind for f in too_many.flags] == ["unbindable"]


@pytest.mark.parametrize("text", ["", "考核指标：①开发新产品1项。②申请专利2件。", "满足航空平台应用环境的要求"])
def test_no_rule(text: str) -> None:
    assert parse_selection_rule(text).rule is None


# --- the model -------------------------------------------------------------------------------------------------


def test_default_rule_labels() -> None:
    assert default_rule(["①", "（2）", "3.", None]) == refs_all(1, 2, 3, 4)
    with pytest.raises(ValueError, match="无法识别"):
        default_rule(["x"])


def test_constructors_validate() -> None:
    with pytest.raises(ValueError):
        Ref(0)
    with pytest.raises(ValueError):
        AnyOf(())
    with pytest.raises(ValueError):
        AtLeast(0)
    with pytest.raises(ValueError):
        AtLeast(3, (Ref(1), Ref(2)))
    with pytest.raises(ValueError):
        ByCategory({})
    with pytest.raises(ValueError):
        ByCategory([("a", Ref(1)), ("a", Ref(2))])
    assert Ref.of("④") == Ref(4)


def test_refs_missing_and_bind() -> None:
    rule = AnyOf((refs_all(1, 2), AtLeast(1)))
    assert refs(rule) == {1, 2}
    assert missing_refs(refs_all(1, 4), ["①", "②"]) == (4,)
    assert bind_block(rule, ["①", "②", "③"]) == AnyOf((refs_all(1, 2), AtLeast(1, (Ref(1), Ref(2), Ref(3)))))


def test_describe_nested() -> None:
    assert describe(AllOf(())) == "无强制指标"
    assert describe(AtLeast(2, (refs_all(1, 2), Ref(3), Ref(4)))) == "以下3组中至少满足2组：满足①②全部；满足③；满足④"
    assert describe(AllOf((Ref(1), AnyOf((Ref(2), Ref(3)))))) == "满足①；且满足②，或满足③"


# --- evaluation ------------------------------------------------------------------------------------------------

RULE_002_L22 = AnyOf((refs_all(1, 2, 5, 6, 7), refs_all(1, 3, 5, 6, 7)))


def test_evaluate_all_met() -> None:
    result = evaluate(RULE_002_L22, {1: True, 2: True, 5: True, 6: True, 7: True})
    assert result == Evaluation(True, Fraction(1), (), ())


def test_evaluate_failed_reports_the_closest_alternative() -> None:
    result = evaluate(RULE_002_L22, {1: True, 2: False, 3: True, 5: True, 6: False, 7: True})
    assert result.satisfied is False
    assert result.score == Fraction(4, 5)
    assert result.unmet == (6,)  # the second alternative misses only ⑥


def test_evaluate_unknown() -> None:
    # ⑥ not yet reported: the answer depends on it.
    result = evaluate(RULE_002_L22, {1: True, 2: True, 5: True, 7: True})
    assert result.satisfied is None
    assert result.score == Fraction(4, 5)
    assert result.unmet == (6,) and result.unknown == (6,)


def test_evaluate_unknown_does_not_hide_a_failure() -> None:
    assert evaluate(refs_all(1, 2), {1: False}).satisfied is False


def test_evaluate_k_of_n() -> None:
    rule = AtLeast(3, tuple(Ref(i) for i in range(1, 6)))  # 001 L536 bound to its 5 clauses
    assert evaluate(rule, {1: True, 2: True, 3: True, 4: False, 5: False}).satisfied is True
    partial = evaluate(rule, {1: True, 2: False, 3: None, 4: False, 5: True})
    assert partial.satisfied is None and partial.score == Fraction(2, 3) and partial.unmet == (3,)
    failed = evaluate(rule, {1: True, 2: False, 3: False, 4: False, 5: None})
    assert failed.satisfied is False and failed.score == Fraction(1, 3) and failed.unmet == (5, 2)


def test_evaluate_whole_block_placeholder_uses_the_reported_items() -> None:
    assert evaluate(AtLeast(2), {1: True, 2: True, 3: False}).satisfied is True
    short = evaluate(AtLeast(3), {1: True})
    assert short.satisfied is False and short.notes


def test_evaluate_by_category() -> None:
    rule = ByCategory({"工程博士项目": refs_all(1, 2), "引进博士项目": refs_all(3, 4)})
    met = {1: True, 2: True, 3: False}
    assert evaluate(rule, met, category="工程博士项目").satisfied is True
    assert evaluate(rule, met, category="引进博士项目").satisfied is False
    unknown = evaluate(rule, met)
    assert unknown.satisfied is None and "未指定申报类别" in unknown.notes[0]
    other = evaluate(rule, met, category="其他")
    assert other.satisfied is None and "不在规则的类别中" in other.notes[0]


def test_evaluate_empty_all_is_trivially_met() -> None:
    assert evaluate(AllOf(()), {}) == Evaluation(True, Fraction(1), (), ())


# --- serialisation ---------------------------------------------------------------------------------------------


def test_round_trip_of_every_seed_form() -> None:
    rules: list[Expr] = [RULE_002_L22, AtLeast(3), AtLeast(3, (Ref(1), Ref(2), Ref(3))),
                         ByCategory({"非农业领域企业": Ref(1), "农业领域企业": Ref(2)}), default_rule(["①", "②"])]
    for rule in rules:
        data = json.loads(json.dumps(to_dict(rule), ensure_ascii=False))
        assert from_dict(data) == rule


def test_by_category_keeps_its_order_in_json() -> None:
    rule = ByCategory([("乙", Ref(2)), ("甲", Ref(1))])
    assert to_dict(rule) == {"op": "by_category", "cases": [["乙", {"op": "ref", "index": 2}],
                                                             ["甲", {"op": "ref", "index": 1}]]}
    assert from_dict({"op": "by_category", "cases": {"乙": {"op": "ref", "index": 2}}}) == ByCategory({"乙": Ref(2)})


@pytest.mark.parametrize(
    "data",
    [{}, {"op": "nope"}, {"op": "ref"}, {"op": "ref", "index": 0}, {"op": "any", "items": []},
     {"op": "at_least", "items": []}, {"op": "by_category"}, {"op": "all", "items": [{"op": "ref"}]}, []],
)
def test_from_dict_rejects_malformed(data: object) -> None:
    with pytest.raises(ValueError):
        from_dict(data)  # type: ignore[arg-type]


def exprs(max_leaves: int = 12) -> st.SearchStrategy[Expr]:
    leaf = st.integers(min_value=1, max_value=12).map(Ref)

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        lists = st.lists(children, min_size=1, max_size=4).map(tuple)
        return st.one_of(
            lists.map(AllOf),
            lists.map(AnyOf),
            lists.flatmap(lambda items: st.integers(1, len(items)).map(lambda k: AtLeast(k, items))),
            st.dictionaries(st.sampled_from(["企业类", "科研院所类", "甲", "乙"]), children, min_size=1, max_size=3)
            .map(ByCategory),
        )

    return st.recursive(leaf, extend, max_leaves=max_leaves)


@given(exprs())
def test_round_trip_property(rule: Expr) -> None:
    assert from_dict(json.loads(json.dumps(to_dict(rule)))) == rule
    assert describe(rule)


def _resolve(met: dict[int, bool | None], value: bool) -> dict[int, bool | None]:
    return {i: (value if v is None else v) for i, v in met.items()} | {i: value for i in range(1, 13) if i not in met}


@given(exprs(), st.dictionaries(st.integers(1, 12), st.sampled_from([True, False, None])),
       st.sampled_from([None, "企业类", "甲"]))
def test_three_valued_logic_property(rule: Expr, met: dict[int, bool | None], category: str | None) -> None:
    # The rules are monotone in the indicators, so "unknown" must mean exactly: met if every unknown turns out
    # met, failed if every unknown turns out failed. And the score stays a fraction in [0, 1].
    result = evaluate(rule, met, category)
    assert 0 <= result.score <= 1
    assert set(result.unknown) <= set(result.unmet)
    if result.satisfied is True:
        assert result.score == 1 and result.unmet == ()
    if _has_unresolvable(rule, category):
        return  # a ByCategory without the project's category stays unknown whatever the values
    optimistic = evaluate(rule, _resolve(met, True), category).satisfied
    pessimistic = evaluate(rule, _resolve(met, False), category).satisfied
    assert optimistic is not None and pessimistic is not None
    if result.satisfied is True:
        assert pessimistic is True
    elif result.satisfied is False:
        assert optimistic is False
    else:
        assert optimistic is True and pessimistic is False


def _has_unresolvable(rule: Expr, category: str | None) -> bool:
    if isinstance(rule, ByCategory):
        case = rule.get(category) if category is not None else None
        return case is None or _has_unresolvable(case, category)
    if isinstance(rule, Ref):
        return False
    return any(_has_unresolvable(e, category) for e in rule.items)


# --- robustness ------------------------------------------------------------------------------------------------

RULE_ALPHABET = st.sampled_from(
    list("①②③④⑤⑥⑦⑧⑨⑩⑳或、，；。（）()123456789０１２三项及以上即可类：:\n ")
    + ["满足考核指标", "中的", "须考核指标", "满足申报要求", "企业类", "1.", "（对应上述内容）", "[bookmark: _Toc1]",
       "以园区为依托的", "考核指标标", "满足其中1项即可"]
)


@pytest.mark.slow  # fuzzing
@given(st.text())
def test_parser_never_raises_on_arbitrary_text(text: str) -> None:
    parsed = parse_selection_rule(text)
    if parsed.span is not None:
        assert text[parsed.span[0] : parsed.span[1]] == parsed.source


@pytest.mark.slow  # fuzzing
@settings(max_examples=300)
@given(st.lists(RULE_ALPHABET, max_size=40).map("".join))
def test_parser_never_raises_on_rule_like_text(text: str) -> None:
    parsed = parse_selection_rule(text, labels=["①", "②", "③"])
    if parsed.rule is not None:
        assert describe(parsed.rule)
        assert from_dict(to_dict(parsed.rule)) == parsed.rule
    if parsed.span is not None:
        assert text[parsed.span[0] : parsed.span[1]] == parsed.source


@pytest.mark.parametrize(
    "piece", ["满足考核指标①", "满足考核指标中的3项", "企业类须考核指标中的①②；", "1.企业类：（1）a", "9"]
)
def test_long_pathological_input(piece: str) -> None:
    # Not timed: a quadratic regex or look-back makes this test take minutes instead of a fraction of a second.
    parse_selection_rule(piece * 5000)
    assert parse_selection_rule("（满足考核指标" + "9" * 5000 + "）").rule is None  # beyond int()'s digit limit


# --- smoke over the five seeds ---------------------------------------------------------------------------------

_BLOCK_LABEL = re.compile(r"^\s*(?:\d+[.．]\s*)?考核(?:指标|要求)(?:（对应上述内容）)?[：:]")
_FIELD_LABEL = re.compile(
    r"^\s*(?:\d+[.．]\s*)?(?:实施期限|实施年限|资助方式|补助方式|资助经费|申报要求|申报条件|主要内容)[：:]"
)


def _indicator_blocks(lines: list[str]) -> list[str]:
    """Test-only crude extraction: a 考核指标 label plus the lines after it up to the next field or heading."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for raw in lines:
        text = BOOKMARK.sub("", raw).strip()
        if _BLOCK_LABEL.match(text):
            current = [text]
            blocks.append(current)
        elif current is not None and text and not _FIELD_LABEL.match(text) and "方向" not in text[:4]:
            current.append(text)
        elif text:
            current = None
    return ["\n".join(b) for b in blocks]


def test_smoke_every_line_and_block_of_the_seeds() -> None:
    kinds: dict[str, int] = {}
    for prefix in ("000", "001", "002", "003", "004"):
        lines = seed_lines(prefix)
        for text in lines:
            parsed = parse_selection_rule(text)
            if parsed.rule is not None:
                kinds[type(parsed.rule).__name__] = kinds.get(type(parsed.rule).__name__, 0) + 1
                assert describe(parsed.rule)
                assert from_dict(to_dict(parsed.rule)) == parsed.rule
        for block in _indicator_blocks(lines):
            parse_selection_rule(block)
    # 002: 240 content-item references (13 with 或) + L959 + L579; 001 L536; keyed: L587, L643, L960, L1172.
    assert kinds == {"AllOf": 228, "AnyOf": 14, "AtLeast": 1, "ByCategory": 4}


def test_smoke_category_blocks_are_found() -> None:
    blocks = [parse_selection_rule(b) for b in _indicator_blocks(seed_lines("002"))]
    keyed = [p.rule for p in blocks if isinstance(p.rule, ByCategory)]
    categories = [r.categories for r in keyed]
    expected = ("企业类", "科研院所、高校和新型研发机构类", "科技服务机构类", "科技园区、产业基地或科技企业孵化器类")
    assert expected in categories
    assert ("非农业领域企业", "农业领域企业") in categories
