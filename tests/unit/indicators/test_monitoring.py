"""Monitoring (indicators.assessment.monitoring): statuses with their reasons, the forecast, bad input, and the
property that improving a value never makes a status worse."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.assessment.monitoring import (
    AMBER,
    GREEN,
    RED,
    SEVERITY,
    UNKNOWN,
    Funds,
    MonitoredTarget,
    Period,
    Point,
    ReportConcern,
    assess_project,
    assess_target,
    forecast,
)
from indicators.assessment.progress import AcceptedReport, ReportedValue, TargetSpec, progress

START, END = date(2025, 1, 1), date(2027, 12, 31)  # three years


def patents(value: str = "3", **kw) -> MonitoredTarget:
    return MonitoredTarget(1, "发明专利申请", "patent_application", "cumulative", ">=", Decimal(value), "件", **kw)


def judged(target: MonitoredTarget, values: list[tuple[date, str | None]], *, today: date | None = None,
           curve: str = "linear", year_values: dict[date, str] | None = None):
    """Assess `target` from accepted values at period ends, the way the service feeds it."""
    reports = [AcceptedReport(i, day, {target.id: ReportedValue(
        value=Decimal(v) if v is not None else None,
        year_value=Decimal(year_values[day]) if year_values and day in year_values else None,
        done=None)}) for i, (day, v) in enumerate(values)]
    spec = TargetSpec(target.id, target.kind, target.op, target.value, target.unit)
    found = progress([spec], reports, START)[target.id]
    history = [Point(day, Decimal(v)) for day, v in values if v is not None]
    as_of = max((d for d, _ in values), default=None)
    return assess_target(target, found, history, Period(START, END, today or as_of or START, as_of), curve=curve)


def test_the_issue_example_reads_as_written():
    # Two thirds of the way (2026-12-31), 1 of 3 applied, 0 a year earlier: expected 2, the trend reaches 2.
    result = judged(patents(), [(date(2025, 12, 31), "0"), (date(2026, 12, 31), "1")])
    assert result.reasons == ("发明专利申请 1/3件，按进度应达2件，预计期末2件",)
    assert result.status == RED  # below 60% of expected, and the forecast below 80% of the target


def test_on_track_far_behind_and_met():
    assert judged(patents(), [(date(2025, 6, 30), "1"), (date(2025, 12, 31), "2")]).status == GREEN
    flat = judged(patents(), [(date(2025, 6, 30), "1"), (date(2025, 12, 31), "1")])
    assert flat.status == AMBER and flat.forecast == Decimal(1)  # on schedule today, but the trend stops at 1
    far = judged(patents("10"), [(date(2026, 6, 30), "1"), (date(2026, 12, 31), "1")])
    assert far.status == RED and "按进度应达6件" in far.reasons[0]  # whole patents: 6.66 due means 6
    assert judged(patents(), [(date(2025, 3, 31), "3")]).status == GREEN  # met early: nothing to watch


def test_whole_counts_are_expected_in_whole_numbers():
    # A sixth of the way through, a third of a paper is due: none yet is on plan, and the flat start's forecast
    # is shown but not judged while the plan expects nothing.
    papers = MonitoredTarget(1, "论文", "paper", "cumulative", ">=", Decimal(2), "篇")
    early = judged(papers, [(date(2025, 3, 31), "0"), (date(2025, 6, 30), "0")])
    assert early.status == GREEN and early.reasons == ("论文 0/2篇，按进度应达0篇，预计期末0篇",)
    # Past the middle one is due, and a forecast of none is far short.
    later = judged(papers, [(date(2025, 12, 31), "0"), (date(2026, 9, 30), "0")])
    assert later.status == RED and "按进度应达1篇" in later.reasons[0]
    # Amounts are not whole things: revenue keeps its decimals.
    revenue = MonitoredTarget(2, "销售收入", "revenue", "cumulative", ">=", Decimal(100), "万元")
    assert "按进度应达16.45万元" in judged(revenue, [(date(2025, 6, 30), "10")]).reasons[0]


def test_one_point_is_not_a_trend():
    alone = judged(patents("10"), [(date(2026, 12, 31), "0")])
    assert alone.status == AMBER and alone.forecast is None and "预计期末：数据不足" in alone.reasons[0]


def test_a_back_loaded_category_expects_little_early():
    values = [(date(2025, 6, 30), "80"), (date(2025, 12, 31), "350")]
    revenue = MonitoredTarget(2, "新增销售收入", "revenue", "cumulative", ">=", Decimal("3000"), "万元")
    assert judged(revenue, values).status in (AMBER, RED)
    assert judged(revenue, values, curve="back_loaded").status == GREEN


def test_a_baseline_moves_the_expected_value():
    revenue = MonitoredTarget(2, "年销售收入", "revenue", "cumulative", ">=", Decimal("3000"), "万元",
                              baseline=Decimal("1500"))
    result = judged(revenue, [(date(2026, 6, 30), "2200")])
    assert result.expected == Decimal(1500) + Decimal(1500) * (Decimal((date(2026, 6, 30) - START).days)
                                                                / Decimal((END - START).days))
    assert result.status == GREEN


def test_level_targets_by_the_best_measurement_and_silence():
    strength = MonitoredTarget(3, "抗拉强度", "performance_metric", "level", ">=", Decimal("1400"), "MPa")
    best = judged(strength, [(date(2025, 6, 30), "1450"), (date(2025, 12, 31), "1380")])
    assert best.status == GREEN and best.achieved == Decimal("1450")
    assert judged(strength, [], today=date(2025, 6, 1)).status == UNKNOWN
    silent = judged(strength, [], today=date(2027, 1, 1))
    assert silent.status == AMBER and "三分之二" in silent.reasons[0]
    assert judged(strength, [], today=date(2028, 1, 5)).status == RED


def test_deliverables_by_their_due_date():
    platform = MonitoredTarget(4, "建成数据平台", "platform", "deliverable", ">=", Decimal(1), "个")
    assert judged(platform, [], today=date(2025, 6, 1)).status == GREEN
    assert judged(platform, [], today=date(2027, 6, 1)).status == AMBER
    late = judged(platform, [], today=date(2028, 2, 1))
    assert late.status == RED and "2027-12-31" in late.reasons[0]


def test_per_year_targets_are_judged_per_project_year():
    yearly = MonitoredTarget(5, "年产值", "revenue", "cumulative", ">=", Decimal("1000"), "万元/年")
    day1, day2 = date(2025, 12, 31), date(2026, 6, 30)
    result = judged(yearly, [(day1, "900"), (day2, "900")], year_values={day1: "900", day2: "520"})
    assert result.status == AMBER
    assert "第1年900/1000万元/年" in result.reasons[0] and "第2年至今520万元/年" in result.reasons[0]


def test_qualitative_targets_need_an_expert():
    benefit = MonitoredTarget(6, "取得显著经济效益", "impact", "qualitative", None, None, None)
    assert judged(benefit, []).reasons == ("需专家判断",)


def test_bad_input_gives_unknown_with_a_reason_never_an_error():
    zero = MonitoredTarget(7, "论文", "paper", "cumulative", ">=", Decimal(0), "篇")
    assert judged(zero, [(date(2025, 6, 30), "0")]).status == GREEN  # ≥0 is met by anything
    negative = MonitoredTarget(7, "论文", "paper", "cumulative", ">=", Decimal(-2), "篇")
    assert judged(negative, [(date(2025, 6, 30), "0")]).status in (GREEN, AMBER)
    exact = MonitoredTarget(8, "工作频率", "performance_metric", "level", "==", Decimal(50), "Hz")
    assert judged(exact, [(date(2025, 6, 30), "49")]).status == UNKNOWN
    backwards = assess_target(patents(), None, [], Period(END, START, END, None))
    assert backwards.status == UNKNOWN and "不晚于" in backwards.reasons[0]
    assert judged(patents(), []).status == UNKNOWN
    yearly_zero = MonitoredTarget(5, "年产值", "revenue", "cumulative", ">=", Decimal("0"), "万元/年")
    assert judged(yearly_zero, [(date(2025, 6, 30), "1")], year_values={date(2025, 6, 30): "1"}).status == UNKNOWN


def test_forecast_needs_two_points_and_a_total_never_falls():
    period = Period(START, END, END, END)
    assert forecast([Point(date(2025, 6, 30), Decimal(1))], period, cumulative=True) is None
    points = [Point(date(2025, 6, 30), Decimal(2)), Point(date(2025, 12, 31), Decimal(1))]
    assert forecast(points, period, cumulative=True) == Decimal(1)
    assert forecast(points, period, cumulative=False) < Decimal(1)
    on_plan = [Point(day, Decimal(3000) * period.share(day) ** 2) for day in (date(2025, 12, 31), date(2026, 12, 31))]
    assert round(forecast(on_plan, period, curve="back_loaded", cumulative=True)) == 3000
    assert round(forecast(on_plan, period, cumulative=True)) < 2500  # a straight line undersells a late start


def test_project_risk_adds_reports_money_and_the_end_date():
    green = judged(patents(), [(date(2025, 6, 30), "1")])
    today = date(2026, 9, 1)
    period = Period(START, END, today, date(2025, 6, 30))
    overdue = ReportConcern("2026年第2季度", date(2026, 7, 22))
    risk = assess_project([green], period, reports=[overdue])
    assert risk.status == RED and risk.reasons[0].startswith("2026年第2季度报告逾期未报")
    recent = ReportConcern("2026年第2季度", date(2026, 8, 20))
    assert assess_project([green], period, reports=[recent]).status == AMBER
    returned = ReportConcern("2026年第1季度", date(2026, 4, 22), returned=True)
    assert assess_project([green], period, reports=[returned]).reasons == ("2026年第1季度报告已退回，尚未重新提交",)
    spend = Funds(fiscal_received=Decimal(1_000_000), fiscal_spent=Decimal(100_000))
    low = assess_project([green], period, funds=spend)
    assert low.status == AMBER and low.reasons == ("财政资金到位100万元，仅支出10万元（10%），实施期已过半",)
    matching = Funds(fiscal_received=Decimal(1_000_000), self_received=Decimal(1_000_000), matching_ratio=Decimal(3))
    assert "应不少于300万元" in assess_project([green], period, funds=matching).reasons[0]
    # The commitment itself is the measure: 1.7632 committed shows as 1.76:1, and its exact share is no shortfall.
    exact = Funds(fiscal_received=Decimal(1_000_000), self_received=Decimal("1763200"),
                  matching_ratio=Decimal("1.7632"))
    assert assess_project([green], period, funds=exact).status == GREEN
    short = Funds(fiscal_received=Decimal(1_000_000), self_received=Decimal("1700000"),
                  matching_ratio=Decimal("1.7632"))
    assert assess_project([green], period, funds=short).reasons == (
        "自筹资金到位170万元，按承诺的配套比例（1.76:1）应不少于176.32万元",)
    ended = Period(START, END, date(2028, 3, 1), date(2027, 12, 31))
    assert assess_project([green], ended, awaiting_acceptance=True,
                          acceptance_closes=date(2028, 6, 30)).status == AMBER
    late = assess_project([green], Period(START, END, date(2028, 8, 1), None), awaiting_acceptance=True,
                          acceptance_closes=date(2028, 6, 30))
    assert late.status == RED and "已过" in late.reasons[0]
    assert assess_project([green], period).status == GREEN
    assert assess_project([], period).reasons == ("任务书没有考核指标",)


# --- the property ---------------------------------------------------------------------------------------------

KINDS = st.sampled_from([
    patents("5"),
    MonitoredTarget(2, "销售收入", "revenue", "cumulative", ">=", Decimal("2000"), "万元", baseline=Decimal("300")),
    MonitoredTarget(3, "抗拉强度", "performance_metric", "level", ">=", Decimal("1400"), "MPa"),
    MonitoredTarget(3, "抗拉强度", "performance_metric", "level", ">=", Decimal("1400"), "MPa",
                    baseline=Decimal("1100")),
    MonitoredTarget(4, "误报率", "performance_metric", "level", "<=", Decimal("5"), "%", baseline=Decimal("12")),
    MonitoredTarget(5, "能耗", "performance_metric", "cumulative", "<=", Decimal("500"), "吨"),
])


@settings(max_examples=300, deadline=None)
@given(target=KINDS, days=st.lists(st.integers(30, 1400), min_size=1, max_size=8, unique=True),
       values=st.lists(st.integers(0, 3000), min_size=8, max_size=8), raise_by=st.integers(1, 2000),
       curve=st.sampled_from(["linear", "back_loaded", "front_loaded"]), late=st.integers(0, 500))
def test_improving_the_latest_accepted_value_never_makes_a_status_worse(target, days, values, raise_by, curve,
                                                                          late):
    ordered = sorted(days)
    history = [(START + timedelta(days=d), str(v)) for d, v in zip(ordered, values, strict=False)]
    today = START + timedelta(days=ordered[-1] + late)
    before = judged(target, history, today=today, curve=curve)
    day, value = history[-1]
    better = Decimal(value) + raise_by if target.op in (">=", ">") else max(Decimal(value) - raise_by, Decimal(0))
    after = judged(target, [*history[:-1], (day, str(better))], today=today, curve=curve)
    assert SEVERITY[after.status] <= SEVERITY[before.status] or before.status == UNKNOWN, (before, after)
