"""next_change (indicators.assessment.monitoring): no day before it changes what the model says, whatever the
targets, their measurements, the money and the reports; and the day a share of the period is reached is the one
`Period.share` itself reaches it on."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.assessment.monitoring import (
    Funds,
    MonitoredTarget,
    Period,
    Point,
    ReportConcern,
    Thresholds,
    assess_project,
    assess_target,
    first_day_at_share,
    next_change,
)
from indicators.assessment.progress import TargetProgress

START = date(2025, 3, 17)


@st.composite
def situations(draw):
    days = draw(st.sampled_from([365, 730, 1095, 913]) | st.integers(0, 1500))
    end = START + timedelta(days=days)
    # (a share of the period rather than a number of days: Hypothesis favours small integers)
    today = START + timedelta(days=round(draw(st.floats(-0.05, 1.3)) * days))
    as_of = draw(st.none() | st.just(min(today, end)))
    targets, progressed, histories = [], {}, {}
    for i in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["level", "deliverable", "cumulative", "qualitative"]))
        op = draw(st.sampled_from([">=", "<=", "=="]))
        due = draw(st.none() | st.floats(-0.01, 1.02).map(lambda f: START + timedelta(days=round(f * days))))
        baseline = draw(st.none() | st.just(Decimal(10)))
        targets.append(MonitoredTarget(i, f"指标{i}", "tech", kind, op, Decimal(100), "件", baseline,
                                       due if kind == "deliverable" else None))
        best = draw(st.none() | st.sampled_from([Decimal(20), Decimal(100), Decimal(150)]))
        progressed[i] = TargetProgress(i, current=best, done=draw(st.booleans()) if kind == "deliverable" else False)
        histories[i] = [Point(as_of, best)] if best is not None and as_of is not None else []
    received = draw(st.none() | st.just(Decimal(1_000_000)))
    funds = Funds(fiscal_received=received, fiscal_spent=draw(st.sampled_from([Decimal(0), Decimal(900_000)])),
                  self_received=None)
    overdue = draw(st.booleans())
    reports = [ReportConcern("2025年第1季度", START + timedelta(days=30))] if overdue else []
    awaiting = draw(st.booleans())
    closes = end + timedelta(days=draw(st.integers(0, 200))) if awaiting else None
    return targets, progressed, histories, end, today, as_of, funds, reports, awaiting, closes


def said(situation, day):
    targets, progressed, histories, end, _today, as_of, funds, reports, awaiting, closes = situation
    period = Period(START, end, day, as_of)
    judged = [assess_target(t, progressed[t.id], histories[t.id], period) for t in targets]
    return assess_project(judged, period, reports=reports, funds=funds, awaiting_acceptance=awaiting,
                          acceptance_closes=closes)


@settings(max_examples=300, deadline=None)
@given(situations())
def test_nothing_the_model_says_changes_before_the_next_change(situation):
    targets, _progressed, _histories, end, today, as_of, _funds, reports, awaiting, closes = situation
    day = next_change(targets, Period(START, end, today, as_of), overdue=[r.due for r in reports],
                      awaiting_acceptance=awaiting, acceptance_closes=closes)
    first = said(situation, today)
    last = min(day, today + timedelta(days=3000)) if day is not None else today + timedelta(days=3000)
    assert day is None or day > today
    for n in range(1, (last - today).days):
        assert said(situation, today + timedelta(days=n)) == first, (today, n, day)


@given(st.integers(1, 2000), st.sampled_from([Decimal("0.5"), Decimal(2) / Decimal(3), Decimal("0.01"),
                                               Decimal(1)]))
def test_the_first_day_at_a_share_is_the_periods_own(days, share):
    period = Period(START, START + timedelta(days=days), START, None)
    day = first_day_at_share(period, share)
    assert day is not None and period.share(day) >= share
    assert day == START or period.share(day - timedelta(days=1)) < share


def test_no_day_for_a_share_never_or_always_reached():
    period = Period(START, START + timedelta(days=100), START, None)
    assert first_day_at_share(period, Decimal(0)) is None
    assert first_day_at_share(period, Decimal("1.1")) is None
    assert first_day_at_share(Period(START, START, START, None), Thresholds().low_spend_after) is None
