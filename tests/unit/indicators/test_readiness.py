"""Acceptance readiness (indicators.assessment.readiness): targets under the project's selection rule, on the
accepted values, with the reasons in words and what the closest alternative still lacks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from indicators.assessment.progress import AcceptedReport, ReportedValue, TargetSpec, progress
from indicators.assessment.readiness import (
    JUDGEMENT,
    MET,
    NEEDS_JUDGEMENT,
    NOT_EVIDENCED,
    NOT_MET,
    NOT_READY,
    READY,
    RequiredTarget,
    assess_readiness,
)
from indicators.rules.selection import parse_selection_rule, to_dict

START = date(2025, 1, 1)


def target(n: int, marker: str | None, value: str | None = "2", *, kind: str = "cumulative", op: str | None = ">=",
           unit: str = "件", label: str | None = None, evidenced: bool | None = None) -> RequiredTarget:
    return RequiredTarget(n, label or f"指标{n}", marker, kind, op, Decimal(value) if value else None, unit,
                          evidenced)


def accepted(targets: list[RequiredTarget], values: dict[int, ReportedValue]):
    specs = [TargetSpec(t.id, t.kind, t.op, t.value, t.unit) for t in targets]
    return progress(specs, [AcceptedReport(1, date(2027, 12, 31), values)], START)


def rule_of(text: str) -> dict:
    return {"block": {"rule": to_dict(parse_selection_rule(text).rule)}, "items": []}


def test_every_target_met_is_ready_with_a_full_score():
    targets = [target(1, "①"), target(2, "②", "3", unit="篇")]
    result = assess_readiness(targets, accepted(targets, {1: ReportedValue(Decimal(2)), 2: ReportedValue(Decimal(4))}))
    assert result.status == READY and result.score == Decimal(1) and result.lacking == ()
    assert [c.reason for c in result.targets] == ["指标1 2/2件，已达到", "指标2 4/3篇，已达到"]
    assert result.requirement == "满足①②全部"


def test_either_or_takes_the_closest_alternative_and_says_what_it_lacks():
    # 002's content-item rule: ①②⑤ or ①③⑤ (shortened).
    targets = [target(1, "①"), target(2, "②"), target(3, "③"), target(5, "⑤")]
    selection = rule_of("（满足考核指标中的①②⑤或①③⑤）")
    values = {1: ReportedValue(Decimal(2)), 2: ReportedValue(Decimal(0)), 3: ReportedValue(Decimal(2)),
              5: ReportedValue(Decimal(1))}
    result = assess_readiness(targets, accepted(targets, values), selection)
    assert result.status == NOT_READY
    assert result.score == Decimal("0.67")  # ①③ met of ①③⑤: the closer alternative
    assert result.lacking == ("⑤指标5 1/2件，未达到",)
    assert result.requirement == "满足①②⑤全部，或满足①③⑤全部"
    values[5] = ReportedValue(Decimal(2))
    assert assess_readiness(targets, accepted(targets, values), selection).status == READY  # ② is not needed


def test_k_of_n_counts_any_k():
    targets = [target(n, "①②③④"[n - 1]) for n in range(1, 5)]
    selection = {"block": {"rule": {"op": "at_least", "k": 3, "items": []}}, "items": []}
    values = {1: ReportedValue(Decimal(2)), 2: ReportedValue(Decimal(2)), 3: ReportedValue(Decimal(0)),
              4: ReportedValue(Decimal(5))}
    result = assess_readiness(targets, accepted(targets, values), selection)
    assert result.status == READY and result.score == Decimal(1)


def test_levels_deliverables_per_year_and_qualitative():
    targets = [target(1, "①", "95", kind="level", unit="%", label="识别准确率"),
               target(2, "②", None, kind="deliverable", op=None, label="示范生产线", evidenced=True),
               target(3, "③", "500", unit="万元/年", label="年销售收入"),
               target(4, "④", None, kind="qualitative", op=None, label="形成技术规范")]
    values = {1: ReportedValue(Decimal("96.5")), 2: ReportedValue(done=True),
              3: ReportedValue(Decimal(900), year_value=Decimal(520))}
    result = assess_readiness(targets, accepted(targets, values))
    states = [c.state for c in result.targets]
    assert states == [MET, MET, MET, NEEDS_JUDGEMENT]
    assert result.targets[0].reason == "识别准确率：最好测量值96.5%，目标≥95%，已达到"
    assert result.targets[2].reason == "年销售收入：最好为第3年520万元/年，目标≥500万元/年，已达到"
    assert result.status == JUDGEMENT  # only the experts can settle ④
    assert result.score == Decimal("0.75")


def test_reached_without_evidence_is_not_enough():
    targets = [target(1, "①", label="发明专利申请", evidenced=False)]
    result = assess_readiness(targets, accepted(targets, {1: ReportedValue(Decimal(3))}))
    assert result.targets[0].state == NOT_EVIDENCED and result.status == NOT_READY
    assert result.lacking == ("①发明专利申请 3/2件，但尚无佐证材料",)


def test_task_book_additions_are_required_too():
    targets = [target(1, "①"), target(2, None, "1", unit="项", label="任务书约定的新产品")]
    result = assess_readiness(targets, accepted(targets, {1: ReportedValue(Decimal(2)), 2: ReportedValue(Decimal(0))}))
    assert result.status == NOT_READY and result.lacking == ("任务书约定的新产品 0/1项，未达到",)
    assert result.requirement == "满足①，以及任务书新增的1项指标"


def test_content_items_chosen_at_award_each_bring_their_rule():
    item = lambda label, text: {"label": label, "rule": to_dict(parse_selection_rule(text).rule)}  # noqa: E731
    targets = [target(1, "①"), target(2, "②"), target(3, "③")]
    values = {1: ReportedValue(Decimal(2)), 2: ReportedValue(Decimal(2)), 3: ReportedValue(Decimal(0))}
    both = {"block": None, "items": [item("1.", "（满足考核指标中的①②）"), item("2.", "（满足考核指标中的①③）")]}
    unchosen = assess_readiness(targets, accepted(targets, values), both)
    assert unchosen.status == READY and unchosen.notes  # the closest content item, said so
    chosen = assess_readiness(targets, accepted(targets, values), {**both, "chosen": ["1.", "2."]})
    assert chosen.status == NOT_READY  # both items' rules hold


def test_bad_input_is_a_reason_never_an_error():
    assert assess_readiness([], {}).status == NOT_READY
    targets = [target(1, "①", "0"), target(2, "②", "5", op="==", kind="level", unit="mm")]
    result = assess_readiness(targets, accepted(targets, {2: ReportedValue(Decimal("4.9"))}))
    assert [c.state for c in result.targets] == [NOT_MET, NEEDS_JUDGEMENT]
    missing = assess_readiness([target(1, "①")], {}, rule_of("（满足考核指标中的①②）"))
    assert missing.status == NOT_READY and any("第2项" in n for n in missing.notes)
