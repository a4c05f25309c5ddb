"""Acceptance readiness (验收条件, DESIGN §2 Acceptance): does the project meet what its guideline holds it to, on
its latest accepted values? Pure: plain values in, a verdict with its reasons in words out.

What the project is held to is the selection rule copied at award (`Project.selection_rule`, read by
indicators.rules.selection): the rule of its chosen content item(s), else its indicator block's rule, else every
item of the block. Rules name the guideline's numbered clauses (①, （1）); the task book's targets carry the
marker of the clause they came from, and a clause counts as met when every target drawn from it is. Targets with
no marker (added in the task book) are required as well: the task book is the contract.

Per target, on the accepted values (indicators.assessment.progress):
- met, or not met, by the number: cumulative totals, level targets by the best measurement, per-year targets by
  the best project year;
- deliverables by the accepted report that says done;
- not evidenced: reached by the figures, but no evidence is on file for it (when the caller says so);
- needs judgement: qualitative targets, and fixed values (=) not hit exactly — the experts decide.

The verdict: ready when the rule is satisfied; needs judgement when only the experts can settle it; not ready
otherwise, with the alternative that comes closest and what it still lacks. The score is the share of the
required items met in that alternative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from indicators.assessment.monitoring import OP_WORDS
from indicators.assessment.monitoring import number as _number
from indicators.assessment.progress import TargetProgress, TargetSpec, compare, is_per_year
from indicators.rules.selection import (
    AllOf,
    AnyOf,
    Expr,
    Ref,
    describe,
    evaluate,
    from_dict,
    marker_ordinal,
    marker_text,
)

MET, NOT_MET, NOT_EVIDENCED, NEEDS_JUDGEMENT = "met", "not_met", "not_evidenced", "needs_judgement"
TARGET_LABELS = {MET: "已达到", NOT_MET: "未达到", NOT_EVIDENCED: "缺佐证材料", NEEDS_JUDGEMENT: "需专家判断"}
READY, NOT_READY, JUDGEMENT = "ready", "not_ready", "needs_judgement"
STATUS_LABELS = {READY: "已具备验收条件", NOT_READY: "尚不具备验收条件", JUDGEMENT: "待专家判断"}


@dataclass(frozen=True)
class RequiredTarget:
    """A task-book target as readiness sees it."""

    id: int
    label: str  # the metric, as the task book names it
    marker: str | None  # the guideline clause it came from (①, （3）); None: added in the task book
    kind: str  # cumulative / level / deliverable / qualitative
    op: str | None
    value: Decimal | None
    unit: str | None
    evidenced: bool | None = None  # evidence on file in the accepted reports (None: not checked)


@dataclass(frozen=True)
class TargetCheck:
    target_id: int
    state: str
    reason: str

    @property
    def label(self) -> str:
        return TARGET_LABELS[self.state]


@dataclass(frozen=True)
class Readiness:
    status: str
    score: Decimal  # 0 to 1, two decimals
    requirement: str  # the rule in words
    targets: tuple[TargetCheck, ...]
    lacking: tuple[str, ...] = ()  # what the closest alternative still lacks, in words
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def ready(self) -> bool:
        return self.status == READY


def check_target(target: RequiredTarget, progress: TargetProgress | None) -> TargetCheck:
    """One target against its task-book value, on the accepted values."""
    found = progress or TargetProgress(target.id)
    unit = target.unit or ""
    if target.kind == "qualitative" or (target.kind != "deliverable" and (target.value is None or target.op is None)):
        return TargetCheck(target.id, NEEDS_JUDGEMENT, f"{target.label}：需专家判断")
    if target.kind == "deliverable":
        if not found.done:
            return _evidenced(target, TargetCheck(target.id, NOT_MET, f"{target.label}：尚未完成"))
        return _evidenced(target, TargetCheck(target.id, MET, f"{target.label}：已完成"))
    assert target.value is not None and target.op is not None
    goal = f"{OP_WORDS.get(target.op, target.op)}{_number(target.value)}{unit}"
    spec = TargetSpec(target.id, target.kind, target.op, target.value, target.unit)
    if is_per_year(target.unit, target.kind):
        if not found.by_year:
            return TargetCheck(target.id, NOT_MET, f"{target.label}：尚无审核通过的年度数值（目标{goal}）")
        year, best = max(found.by_year.items(), key=lambda item: (item[1], -item[0]))
        if target.op in ("<=", "<"):
            year, best = min(found.by_year.items(), key=lambda item: (item[1], item[0]))
        reached = compare(best, target.op, target.value)
        words = f"{target.label}：最好为第{year}年{_number(best)}{unit}，目标{goal}"
        return _evidenced(target, TargetCheck(target.id, MET if reached else NOT_MET,
                                              words + ("，已达到" if reached else "，未达到")))
    value = found.current
    if value is None:
        what = "测量值" if target.kind == "level" else "审核通过的数值"
        return TargetCheck(target.id, NOT_MET, f"{target.label}：尚无{what}（目标{goal}）")
    shown = (f"{target.label}：最好测量值{_number(value)}{unit}，目标{goal}" if target.kind == "level"
             else f"{target.label} {_number(value)}/{_number(target.value)}{unit}")
    if found.met(spec):
        return _evidenced(target, TargetCheck(target.id, MET, shown + "，已达到"))
    if target.op == "==":  # a fixed value missed by some margin: whether it is close enough is the experts' call
        return TargetCheck(target.id, NEEDS_JUDGEMENT, shown + "，目标为定值，需专家判断偏差是否可接受")
    return TargetCheck(target.id, NOT_MET, shown + "，未达到")


def _evidenced(target: RequiredTarget, check: TargetCheck) -> TargetCheck:
    if check.state == MET and target.evidenced is False:
        return TargetCheck(target.id, NOT_EVIDENCED, check.reason.replace("，已达到", "") + "，但尚无佐证材料")
    return check


# --- the requirement ---------------------------------------------------------------------------------------------


def requirement(selection: Mapping[str, Any] | None) -> tuple[Expr | None, tuple[str, ...]]:
    """The rule a project is held to, from its stored selection rule (None: every target), with notes on how it
    was chosen. Chosen content items each bring their rule, all to be met; several content items with none
    chosen: the closest one counts."""
    if not selection:
        return None, ()
    items = [item for item in selection.get("items") or [] if item.get("rule")]
    if items:
        rules = [from_dict(item["rule"]) for item in items]
        if len(rules) == 1:
            return rules[0], ()
        if selection.get("chosen"):
            return AllOf(tuple(rules)), ()
        return AnyOf(tuple(rules)), ("立项时未指明研究内容，按最接近的一项研究内容的要求判断",)
    block = selection.get("block") or {}
    if block.get("rule"):
        return from_dict(block["rule"]), ()
    return None, ()


def assess_readiness(targets: Sequence[RequiredTarget], progress: Mapping[int, TargetProgress],
                     selection: Mapping[str, Any] | None = None, *, category: str | None = None) -> Readiness:
    """The project's readiness for acceptance (see the module docstring). `progress`: target id → its progress
    on the accepted reports; `category`: the applicant category a rule keyed by category needs."""
    checks = [check_target(t, progress.get(t.id)) for t in targets]
    if not targets:
        return Readiness(NOT_READY, Decimal(0), "任务书没有考核指标", (), ("任务书没有考核指标，无法判断验收条件",))
    by_ordinal: dict[int, list[TargetCheck]] = defaultdict(list)
    extras: list[TargetCheck] = []
    for target, check in zip(targets, checks, strict=True):
        ordinal = marker_ordinal(target.marker) if target.marker else None
        (by_ordinal[ordinal] if ordinal is not None else extras).append(check)
    rule, notes = requirement(selection)
    if rule is None:  # every clause the task book drew from
        rule = AllOf(tuple(Ref(n) for n in sorted(by_ordinal)))
    met = {n: _clause_met(found) for n, found in by_ordinal.items()}
    result = evaluate(rule, met, category)
    lacking_ordinals = set(result.unmet)
    missing = sorted(n for n in lacking_ordinals if n not in by_ordinal)
    if missing:
        notes += (f"任务书中没有指南第{'、'.join(map(str, missing))}项指标对应的考核指标",)
    extra_met = [c.state == MET for c in extras]
    satisfied = result.satisfied
    if satisfied is not False and extras:
        if any(c.state in (NOT_MET, NOT_EVIDENCED) for c in extras):
            satisfied = False
        elif not all(extra_met):
            satisfied = None
    status = READY if satisfied is True else JUDGEMENT if satisfied is None else NOT_READY
    met_count = result.met + sum(extra_met)
    required = result.required + len(extras)
    score = (Decimal(met_count) / Decimal(required)).quantize(Decimal("0.01"), ROUND_HALF_UP) if required \
        else Decimal(1)
    lacking: list[str] = []
    if status != READY:
        for n in sorted(lacking_ordinals & set(by_ordinal)):
            lacking.extend(f"{marker_text(n)}{c.reason}" for c in by_ordinal[n] if c.state != MET)
        lacking.extend(c.reason for c in extras if c.state != MET)
    words = describe(rule)
    if extras:
        words += f"，以及任务书新增的{len(extras)}项指标"
    return Readiness(status, score, words, tuple(checks), tuple(lacking), notes + tuple(result.notes))


def _clause_met(checks: Sequence[TargetCheck]) -> bool | None:
    """A clause is met when every target drawn from it is; not met when any is not (or lacks evidence); else the
    experts decide."""
    if any(c.state in (NOT_MET, NOT_EVIDENCED) for c in checks):
        return False
    if all(c.state == MET for c in checks):
        return True
    return None
