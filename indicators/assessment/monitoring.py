"""Monitoring (DESIGN §2): where each target stands against where it should be by now, and the project's risk.
Pure: plain values in, a status with its reasons in words out.

For a target, the expected value at a moment t is

    expected(t) = baseline + (target − baseline) × curve(f(t))

f the elapsed share of the project's period (start to end date, 0 to 1) and curve the target category's shape
(linear unless the settings say otherwise; revenue typically comes late). The baseline is the task book's value at
the start; a counted target without one starts from 0. Achieved values are compared at the end of the last
accepted period, where the grantee's figures stand.

Statuses: green (on track), amber (behind, or the forecast falls short), red (far behind and the forecast far
short), unknown (cannot be judged from numbers: no data yet, an expert's judgement, a target that makes no sense).
Each comes with its reasons in Chinese, with the numbers, so that nobody has to trust a colour.

Improving a target's latest accepted value never makes its status worse (tests/unit/indicators/
test_monitoring.py checks this as a property).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache

from indicators.assessment.progress import TargetProgress, compare, project_year
from indicators.reading.units import COUNT_WORDS

GREEN, AMBER, RED, UNKNOWN = "green", "amber", "red", "unknown"
SEVERITY = {UNKNOWN: 0, GREEN: 1, AMBER: 2, RED: 3}
STATUS_LABELS = {GREEN: "正常", AMBER: "关注", RED: "预警", UNKNOWN: "无法判断"}
NOT_ENOUGH_DATA = "数据不足"


def _sqrt(x: Decimal) -> Decimal:
    return x.sqrt() if x > 0 else Decimal(0)


# The shapes a category's progress may follow over the period: the share of the way from baseline to target that
# is expected when a share f of the period has passed.
CURVES: dict[str, Callable[[Decimal], Decimal]] = {
    "linear": lambda f: f,
    "back_loaded": lambda f: f * f,  # little at first, most at the end (sales after the product exists)
    "front_loaded": _sqrt,  # most early (hiring, setting up)
}
CURVE_LABELS = {"linear": "线性", "back_loaded": "后期集中", "front_loaded": "前期集中"}


def shape_of(curve: str) -> Callable[[Decimal], Decimal]:
    """A curve by name; linear for a name the settings no longer know."""
    return CURVES.get(curve, CURVES["linear"])


@dataclass(frozen=True)
class Thresholds:
    """When a target turns amber or red (business settings; shares, not percentages)."""

    amber_of_expected: Decimal = Decimal("0.9")  # amber below this share of the expected value …
    red_of_expected: Decimal = Decimal("0.6")  # … red below this share
    red_forecast_of_target: Decimal = Decimal("0.8")  # … and a forecast below this share of the target
    silent_level_share: Decimal = Decimal(2) / Decimal(3)  # a level target unmeasured this far in: amber
    low_spend_share: Decimal = Decimal("0.3")  # fiscal money spent below this share of received …
    low_spend_after: Decimal = Decimal("0.5")  # … once this share of the period has passed
    overdue_red_days: int = 30  # one report overdue longer than this, or two overdue: red


@dataclass(frozen=True)
class MonitoredTarget:
    """A task-book target as monitoring sees it."""

    id: int
    label: str  # the metric, as the task book names it
    category: str
    kind: str  # cumulative / level / deliverable / qualitative
    op: str | None
    value: Decimal | None
    unit: str | None
    baseline: Decimal | None = None  # the value at the start, from the task book
    due: date | None = None  # a deliverable's deadline; the end date when None
    marker: str | None = None  # the guideline clause it came from (①), for the acceptance readiness

    @property
    def per_year(self) -> bool:
        return self.kind == "cumulative" and bool(self.unit) and str(self.unit).endswith("/年")


@dataclass(frozen=True)
class Point:
    """An accepted value of a target at the end of its period (the history a forecast is drawn from)."""

    day: date
    value: Decimal


@dataclass(frozen=True)
class TargetAssessment:
    target_id: int
    status: str
    reasons: tuple[str, ...]
    achieved: Decimal | None = None
    expected: Decimal | None = None
    forecast: Decimal | None = None
    baseline: Decimal | None = None

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class Period:
    """The project's period and the moments monitoring looks at."""

    start: date
    end: date
    today: date
    as_of: date | None  # the end of the last accepted period: where the achieved values stand (None: none yet)
    # The shares and planned shapes already worked out: every target of a project asks for the same few days.
    _known: dict[tuple[str | None, date], Decimal] = field(default_factory=dict, init=False, repr=False,
                                                          compare=False)

    def share(self, day: date) -> Decimal:
        """The elapsed share of the period at `day`, from 0 to 1."""
        known = self._known.get((None, day))
        if known is None:
            days = (self.end - self.start).days
            known = self._known[None, day] = (
                Decimal(1) if days <= 0
                else min(max(Decimal((day - self.start).days) / Decimal(days), Decimal(0)), Decimal(1)))
        return known

    def planned(self, curve: str, day: date) -> Decimal:
        """The share of the way from baseline to target the plan expects at `day`: the curve at the share."""
        known = self._known.get((curve, day))
        if known is None:
            known = self._known[curve, day] = shape_of(curve)(self.share(day))
        return known


def number(value: Decimal | None) -> str:
    """A value as people write it: no trailing zeros, at most two decimals."""
    if value is None:
        return "—"
    if value.is_nan():  # (not a key for the memory below)
        return _write(value)
    return _written(value, value.is_signed())


def _write(value: Decimal) -> str:
    rounded = value.quantize(Decimal("0.01"), ROUND_HALF_UP) if abs(value) < Decimal("1e15") else value
    return f"{rounded.normalize():f}"


# The same figures are written again and again (in the reasons, in the stored rows, for every project). Equal
# values are written alike, but for the sign of a zero, hence the key.
@lru_cache(maxsize=8192)
def _written(value: Decimal, signed: bool) -> str:
    return _write(value)


def _unit(target: MonitoredTarget) -> str:
    return target.unit or ""


# Things counted whole (patents, papers, people, products): nobody is behind for lacking 0.48 of a patent, so the
# expected count by now is the whole number the curve has passed.
_WHOLE_UNITS = frozenset(COUNT_WORDS) - {"个百分点", "百分点"}


def _whole(target: MonitoredTarget, expected: Decimal) -> Decimal:
    goal = target.value
    if goal is not None and goal == goal.to_integral_value() and _unit(target).split("/")[0] in _WHOLE_UNITS:
        # Floored as shown (two decimals): two thirds of 3 is 2, not the 1.999… of a day count.
        return expected.quantize(Decimal("0.01"), ROUND_HALF_UP).to_integral_value(ROUND_FLOOR)
    return expected


# --- the forecast ------------------------------------------------------------------------------------------------


def forecast(history: Sequence[Point], period: Period, *, curve: str = "linear",
             cumulative: bool) -> Decimal | None:
    """The value expected at the end date, or None with fewer than two accepted points at different moments.

    Method: ordinary least squares of the accepted values against the planned shape of progress, x = curve(f(day))
    (for the linear curve, a straight line in time), read at the end date (x = 1). A back-loaded target that
    follows its plan is thus forecast to reach its plan, not a straight line's extension of a slow start. A
    cumulative total cannot fall, so its forecast is never below the latest accepted value. The latest point has
    the largest x, so raising it raises the forecast: improving a value never makes a status worse.
    """
    points = sorted(history, key=lambda p: p.day)
    xs = [period.planned(curve, p.day) for p in points]
    if len(set(xs)) < 2:
        return None
    ys = [p.value for p in points]
    n = Decimal(len(points))
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    at_end = mean_y + slope * (Decimal(1) - mean_x)
    return max(at_end, ys[-1]) if cumulative else at_end


# --- one target --------------------------------------------------------------------------------------------------


def _forecast_words(predicted: Decimal | None, unit: str) -> str:
    return f"预计期末{number(predicted)}{unit}" if predicted is not None else f"预计期末：{NOT_ENOUGH_DATA}"


def _decide(achieved: Decimal, expected: Decimal, goal: Decimal, predicted: Decimal | None,
            limits: Thresholds) -> str:
    """Amber below `amber_of_expected` of the expected value or with a forecast short of the goal; red below
    `red_of_expected` with a forecast below `red_forecast_of_target` of the goal. Without a forecast, amber at
    worst: one point is not a trend."""
    behind = expected > 0 and achieved < limits.amber_of_expected * expected
    far_behind = expected > 0 and achieved < limits.red_of_expected * expected
    short = predicted is not None and predicted < goal
    far_short = predicted is not None and predicted < limits.red_forecast_of_target * goal
    if far_behind and far_short:
        return RED
    if behind or short:
        return AMBER
    return GREEN


def assess_target(target: MonitoredTarget, progress: TargetProgress | None, history: Sequence[Point],
                  period: Period, *, curve: str = "linear", limits: Thresholds = Thresholds()) -> TargetAssessment:
    """The status of one target, with its reasons (see the module docstring)."""
    progress = progress or TargetProgress(target.id)
    if target.kind == "qualitative" or target.value is None or target.op is None:
        return TargetAssessment(target.id, UNKNOWN, ("需专家判断",))
    if period.end <= period.start:
        return TargetAssessment(target.id, UNKNOWN, ("实施期结束日期不晚于开始日期，无法按进度判断",))
    if target.kind == "deliverable":
        return _deliverable(target, progress, period)
    if target.kind == "level":
        return _level(target, progress, history, period, curve, limits)
    if target.per_year:
        return _per_year(target, progress, period, curve, limits)
    return _cumulative(target, progress, history, period, curve, limits)


def _cumulative(target: MonitoredTarget, progress: TargetProgress, history: Sequence[Point], period: Period,
                curve: str, limits: Thresholds) -> TargetAssessment:
    goal, unit = target.value, _unit(target)
    assert goal is not None and target.op is not None
    baseline = target.baseline if target.baseline is not None else Decimal(0)
    achieved = progress.current
    if achieved is None or period.as_of is None:
        return TargetAssessment(target.id, UNKNOWN, (f"{target.label}：尚无审核通过的数值",), baseline=baseline)
    predicted = forecast(history, period, curve=curve, cumulative=True)
    said = _forecast_words(predicted, unit)
    if target.op in ("<=", "<"):  # a ceiling (a cost, a consumption): kept or not
        kept = compare(achieved, target.op, goal) and (predicted is None or compare(predicted, target.op, goal))
        reason = f"{target.label} {number(achieved)}{unit}，上限{number(goal)}{unit}，{said}"
        return TargetAssessment(target.id, GREEN if kept else AMBER, (reason,), achieved, None, predicted, baseline)
    if goal <= baseline:
        met = compare(achieved, target.op, goal)
        reason = (f"{target.label} {number(achieved)}/{number(goal)}{unit}"
                  f"（目标不高于基线{number(baseline)}，不按进度判断）")
        return TargetAssessment(target.id, GREEN if met else AMBER, (reason,), achieved, None, predicted, baseline)
    expected = _whole(target, baseline + (goal - baseline) * period.planned(curve, period.as_of))
    # While the plan expects nothing yet (no whole patent is due), a flat start is on plan: the forecast is shown,
    # not judged.
    judged = predicted if expected > baseline else None
    status = GREEN if compare(achieved, target.op, goal) else _decide(achieved, expected, goal, judged, limits)
    reason = f"{target.label} {number(achieved)}/{number(goal)}{unit}，按进度应达{number(expected)}{unit}，{said}"
    return TargetAssessment(target.id, status, (reason,), achieved, expected, predicted, baseline)


def _per_year(target: MonitoredTarget, progress: TargetProgress, period: Period, curve: str,
              limits: Thresholds) -> TargetAssessment:
    """Each finished project year against the whole yearly target; the current one against its share so far."""
    goal, unit = target.value, _unit(target)
    assert goal is not None and target.op is not None
    if not progress.by_year or period.as_of is None:
        return TargetAssessment(target.id, UNKNOWN, (f"{target.label}：尚无审核通过的年度数值",))
    if goal <= 0:
        return TargetAssessment(target.id, UNKNOWN, (f"{target.label}：目标值为{number(goal)}，无法按进度判断",))
    current_year = project_year(period.start, period.as_of)
    worst, reasons = GREEN, []
    for year in range(1, current_year + 1):
        value = progress.by_year.get(year)
        year_start = _add_years(period.start, year - 1)
        year_end = min(_add_years(period.start, year), period.end)
        finished = year_end <= period.as_of
        if value is None:
            status, text = (AMBER, f"第{year}年未报年度数值") if finished else (GREEN, "")
        elif compare(value, target.op, goal):
            status, text = GREEN, f"第{year}年{number(value)}{unit}，已达到"
        else:
            days = Decimal((year_end - year_start).days or 1)
            share = Decimal(1) if finished else min(Decimal((period.as_of - year_start).days) / days, Decimal(1))
            expected = _whole(target, goal * shape_of(curve)(share))
            status = _decide(value, expected, goal, None if not finished else value, limits)
            text = (f"第{year}年{number(value)}/{number(goal)}{unit}" if finished
                    else f"第{year}年至今{number(value)}{unit}，按进度应达{number(expected)}{unit}")
        if text:
            reasons.append(text)
        if SEVERITY[status] > SEVERITY[worst]:
            worst = status
    return TargetAssessment(target.id, worst, (f"{target.label}：" + "；".join(reasons or ["本年度尚无数值"]),),
                            progress.by_year.get(current_year), None, None, None)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _level(target: MonitoredTarget, progress: TargetProgress, history: Sequence[Point], period: Period,
           curve: str, limits: Thresholds) -> TargetAssessment:
    """The best measurement against the target; without one, the time that has passed decides."""
    goal, unit, op = target.value, _unit(target), target.op
    assert goal is not None and op is not None
    best = progress.current
    passed = period.share(period.today)
    if best is None:
        if period.today > period.end:
            return TargetAssessment(target.id, RED, (f"{target.label}：实施期已结束，尚无测量值",))
        if passed >= limits.silent_level_share:
            return TargetAssessment(target.id, AMBER, (f"{target.label}：实施期已过三分之二，尚无测量值",))
        return TargetAssessment(target.id, UNKNOWN, (f"{target.label}：尚无测量值",))
    shown = f"{target.label} 最好测量值{number(best)}{unit}，目标{_op_word(op)}{number(goal)}{unit}"
    if op == "==":
        if best == goal:
            return TargetAssessment(target.id, GREEN, (shown + "，已达到",), best)
        return TargetAssessment(target.id, UNKNOWN, (shown + "，目标为定值，需专家判断偏差是否可接受",), best)
    if compare(best, op, goal):
        return TargetAssessment(target.id, GREEN, (shown + "，已达到",), best, baseline=target.baseline)
    if period.today > period.end:
        return TargetAssessment(target.id, RED, (shown + "，实施期已结束仍未达到",), best, baseline=target.baseline)
    baseline = target.baseline
    if baseline is None or baseline == goal or period.as_of is None:
        status = AMBER if passed >= limits.silent_level_share else GREEN
        tail = "，实施期已过三分之二仍未达到" if status == AMBER else "，尚未达到"
        return TargetAssessment(target.id, status, (shown + tail,), best, baseline=baseline)
    # With a starting value: the share of the way from baseline to target, against the share expected by now.
    span = goal - baseline
    way = (best - baseline) / span
    expected_way = period.planned(curve, period.as_of)
    predicted = forecast(history, period, curve=curve, cumulative=False)
    predicted_way = (predicted - baseline) / span if predicted is not None else None
    status = _decide(way, expected_way, Decimal(1), predicted_way, limits)
    expected = baseline + span * expected_way
    said = _forecast_words(predicted, unit)
    return TargetAssessment(target.id, status, (f"{shown}（基线{number(baseline)}{unit}），按进度应达"
                                                f"{number(expected)}{unit}，{said}",),
                            best, expected, predicted, baseline)


OP_WORDS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}  # as a target is written in words


def _op_word(op: str) -> str:
    return OP_WORDS.get(op, op)


def _deliverable(target: MonitoredTarget, progress: TargetProgress, period: Period) -> TargetAssessment:
    due = target.due or period.end
    if progress.done:  # achieved: 1 done, 0 not yet
        return TargetAssessment(target.id, GREEN, (f"{target.label}：已完成",), Decimal(1))
    if period.today > due:
        return TargetAssessment(target.id, RED, (f"{target.label}：期限{due.isoformat()}已过，尚未完成",), Decimal(0))
    lead = (due - period.start).days
    if lead <= 0 or (due - period.today).days * 3 <= lead:
        return TargetAssessment(target.id, AMBER, (f"{target.label}：须在{due.isoformat()}前完成，尚未完成",),
                                Decimal(0))
    return TargetAssessment(target.id, GREEN, (f"{target.label}：期限{due.isoformat()}，尚未到期",), Decimal(0))


# --- the project -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportConcern:
    """A report that needs the grantee: overdue, or returned and not yet resubmitted."""

    label: str  # the period, e.g. "2025年第3季度"
    due: date
    returned: bool = False


@dataclass(frozen=True)
class Funds:
    """The latest accepted figures (yuan) and the commitments of the task book."""

    fiscal_received: Decimal | None = None
    fiscal_spent: Decimal | None = None
    self_received: Decimal | None = None
    matching_ratio: Decimal | None = None  # committed self-raised money per yuan of fiscal money


@dataclass(frozen=True)
class ProjectAssessment:
    status: str
    reasons: tuple[str, ...]
    targets: tuple[TargetAssessment, ...]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


def _wan(yuan: Decimal) -> str:
    return number((yuan / Decimal(10000)).quantize(Decimal("0.01"))) + "万元"


def assess_project(targets: Sequence[TargetAssessment], period: Period, *, reports: Sequence[ReportConcern] = (),
                   funds: Funds = Funds(), awaiting_acceptance: bool = False, acceptance_closes: date | None = None,
                   limits: Thresholds = Thresholds()) -> ProjectAssessment:
    """The project's risk: its worst target, and what the targets do not show (reports, money, the end date).
    `awaiting_acceptance`: the project is still running (在研, 延期), so an end date in the past means no
    acceptance application has been made; `acceptance_closes`: the last day to apply."""
    found: list[tuple[str, str]] = []
    for t in targets:
        if t.status in (AMBER, RED):
            found.extend((t.status, r) for r in t.reasons)
    overdue = [r for r in reports if not r.returned]
    for r in overdue:
        late = (period.today - r.due).days
        status = RED if late > limits.overdue_red_days or len(overdue) > 1 else AMBER
        # Words that change only where the status can: past the red line, not every day (the nightly job
        # then leaves the project alone until that day).
        over = f"，已逾期{limits.overdue_red_days}天以上" if late > limits.overdue_red_days else ""
        found.append((status, f"{r.label}报告逾期未报（截止{r.due.isoformat()}{over}）"))
    for r in reports:
        if r.returned:
            found.append((AMBER, f"{r.label}报告已退回，尚未重新提交"))
    if (funds.fiscal_received and funds.fiscal_spent is not None and funds.fiscal_received > 0
            and period.share(period.today) >= limits.low_spend_after
            and funds.fiscal_spent < limits.low_spend_share * funds.fiscal_received):
        share = (funds.fiscal_spent / funds.fiscal_received * 100).quantize(Decimal("1"))
        found.append((AMBER, f"财政资金到位{_wan(funds.fiscal_received)}，仅支出{_wan(funds.fiscal_spent)}"
                             f"（{share}%），实施期已过半"))
    if funds.matching_ratio and funds.fiscal_received and funds.self_received is not None:
        # Measured against the committed amounts themselves; the ratio is shown as people read it (5.806 is
        # 5.81:1 on paper), and a shortfall that vanishes at the hundredth of a 万元 shown is none.
        required = funds.matching_ratio * funds.fiscal_received
        if funds.self_received < required and _wan(funds.self_received) != _wan(required):
            ratio = funds.matching_ratio.quantize(Decimal("0.01"), ROUND_HALF_UP)
            found.append((AMBER, f"自筹资金到位{_wan(funds.self_received)}，按承诺的配套比例"
                                 f"（{number(ratio)}:1）应不少于{_wan(required)}"))
    if awaiting_acceptance and period.today > period.end:
        closed = acceptance_closes is not None and period.today > acceptance_closes
        found.append((RED if closed else AMBER,
                      f"实施期已于{period.end.isoformat()}结束，尚未申请验收"
                      + (f"（申请期限{acceptance_closes.isoformat()}已过）" if closed and acceptance_closes else "")))
    if found:
        worst = max((s for s, _ in found), key=SEVERITY.__getitem__)
        ordered = [r for s, r in found if s == RED] + [r for s, r in found if s == AMBER]
        return ProjectAssessment(worst, tuple(ordered), tuple(targets))
    if any(t.status == GREEN for t in targets):
        return ProjectAssessment(GREEN, ("各项指标按进度推进",), tuple(targets))
    reasons = ("尚无可判断的指标数据",) if targets else ("任务书没有考核指标",)
    return ProjectAssessment(UNKNOWN, reasons, tuple(targets))


# --- when the passing of time alone can change the result ---------------------------------------------------------

ONE_DAY = timedelta(days=1)


def first_day_at_share(period: Period, share: Decimal) -> date | None:
    """The first day whose elapsed share reaches `share`, by `Period.share` itself (so that the rounding of its
    division decides, as it does in the rules); None when no day of the period ever does, or every day does."""
    days = (period.end - period.start).days
    if days <= 0 or share <= 0 or share > 1:
        return None
    day = period.start + timedelta(days=int(share * days))  # the floor, give or take a day of rounding
    while day > period.start and period.share(day - ONE_DAY) >= share:
        day -= ONE_DAY
    while period.share(day) < share:
        day += ONE_DAY
    return day


def next_change(targets: Sequence[MonitoredTarget], period: Period, *, overdue: Sequence[date] = (),
                awaiting_acceptance: bool = False, acceptance_closes: date | None = None,
                limits: Thresholds = Thresholds()) -> date | None:
    """The earliest day after `period.today` on which the passing of time alone could change what `assess_target`
    and `assess_project` return for these inputs (None: no such day). Conservative: every day on which one of
    their comparisons with today could flip is a candidate, whether or not it would change anything; reports due
    later (the caller's calendar) are not seen here.

    - an overdue report (`overdue`: their due dates): the day it passes the red line (`overdue_red_days`);
    - a level target: the end date passed, and two thirds of the period gone (`silent_level_share`);
    - a deliverable: its due date passed, and the last third of its lead time begun;
    - spending: half the period gone (`low_spend_after`);
    - the end date passed without an application, and the application's last day passed.
    """
    today = period.today
    candidates = [period.end + ONE_DAY, first_day_at_share(period, limits.low_spend_after)]
    candidates += [due + timedelta(days=limits.overdue_red_days + 1) for due in overdue]
    if any(t.kind == "level" for t in targets):
        candidates.append(first_day_at_share(period, limits.silent_level_share))
    for t in targets:
        if t.kind == "deliverable":
            due = t.due or period.end
            # (due − day) × 3 ≤ lead from this day on; a lead of 0 or less is amber from the start.
            candidates += [due + ONE_DAY, due - timedelta(days=max((due - period.start).days, 0) // 3)]
    if awaiting_acceptance and acceptance_closes is not None:
        candidates.append(acceptance_closes + ONE_DAY)
    return min((d for d in candidates if d is not None and d > today), default=None)
