"""Progress of a project's targets from its accepted reports (DESIGN §2). Pure: plain values in, plain values out.

Only accepted report versions count, and everything here is computed from them when asked, never stored: so
when an officer accepts a correction of an earlier period, the increments and per-year figures of every later
period change with it.

- cumulative targets: the value of the latest accepted period (grantees report totals to date), and the
  increment of each period over the one before;
- level targets: the best measured value (the highest for ≥/>, the lowest for ≤/<, the latest for = and
  ranges);
- deliverables: done once an accepted report says done;
- per-year targets (unit ending in /年): the value reported for each project year, the latest report of that
  year counting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class TargetSpec:
    id: int
    kind: str  # cumulative / level / deliverable / qualitative
    op: str | None
    value: Decimal | None
    unit: str | None

    @property
    def per_year(self) -> bool:
        return is_per_year(self.unit, self.kind)


@dataclass(frozen=True)
class ReportedValue:
    """What one report version says for one target: the value (cumulative, or the best measurement), the current
    project year's value for a per-year target, done or not for a deliverable, and the grantee's note."""

    value: Decimal | None = None
    year_value: Decimal | None = None
    done: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class AcceptedReport:
    period_index: int
    period_end: date
    values: dict[int, ReportedValue]  # target id → value


@dataclass(frozen=True)
class PeriodStep:
    period_index: int
    value: Decimal | None
    increment: Decimal | None  # cumulative targets: this period's growth over the previous accepted period


@dataclass
class TargetProgress:
    target_id: int
    current: Decimal | None = None  # cumulative total, or the best measurement
    done: bool = False
    by_year: dict[int, Decimal] = field(default_factory=dict)  # project year (1-based) → value of that year
    steps: list[PeriodStep] = field(default_factory=list)
    last_period: int | None = None  # the last accepted period that reported this target

    def met(self, spec: TargetSpec) -> bool | None:
        """Whether the target is reached (None: cannot be judged from numbers: qualitative, or no value)."""
        if spec.kind == "deliverable":
            return self.done
        if spec.kind == "qualitative" or spec.value is None or spec.op is None:
            return None
        value = max(self.by_year.values()) if spec.per_year and self.by_year else self.current
        if value is None:
            return None
        return compare(value, spec.op, spec.value)


def is_per_year(unit: str | None, kind: str) -> bool:
    """A cumulative target counted per project year (年产值 5000万元/年). A level target with a /年 unit (腐蚀速度
    mm/年) is a rate that is measured, not a yearly total."""
    return kind == "cumulative" and bool(unit) and unit.endswith("/年")


def compare(value: Decimal, op: str, target: Decimal) -> bool:
    return {">=": value >= target, ">": value > target, "<=": value <= target, "<": value < target,
            "==": value == target}.get(op, False)


def project_year(start: date, day: date) -> int:
    """Project years count from the start date: the first year ends the day before the first anniversary."""
    months = (day.year - start.year) * 12 + (day.month - start.month) - (1 if day.day < start.day else 0)
    return max(months, 0) // 12 + 1


def better(spec: TargetSpec, a: Decimal, b: Decimal) -> Decimal:
    """The better of two measurements of a level target."""
    if spec.op in (">=", ">"):
        return max(a, b)
    if spec.op in ("<=", "<"):
        return min(a, b)
    return b  # nominal values and ranges: the latest measurement


def progress(targets: Iterable[TargetSpec], reports: Sequence[AcceptedReport], start: date, *,
             steps: bool = True) -> dict[int, TargetProgress]:
    """Target id → progress, from the accepted reports (any order; they are taken by period). `steps=False`
    leaves the period steps out (monitoring reads only the totals, for thousands of projects a night)."""
    ordered = sorted(reports, key=lambda r: r.period_index)
    out: dict[int, TargetProgress] = {}
    for spec in targets:
        result = TargetProgress(spec.id)
        previous: Decimal | None = None
        for report in ordered:
            reported = report.values.get(spec.id)
            if reported is None:
                continue
            result.last_period = report.period_index
            if reported.done:
                result.done = True
            if reported.year_value is not None:
                result.by_year[project_year(start, report.period_end)] = reported.year_value
            value = reported.value
            if value is None:
                continue
            if spec.kind == "level":
                result.current = value if result.current is None else better(spec, result.current, value)
                if steps:
                    result.steps.append(PeriodStep(report.period_index, value, None))
            else:
                if steps:
                    increment = value - previous if previous is not None else value
                    result.steps.append(PeriodStep(report.period_index, value, increment))
                result.current = value
                previous = value
        out[spec.id] = result
    return out
