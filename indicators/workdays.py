"""Chinese working days and the quarterly reporting calendar (DESIGN §2 "Reporting calendar"). Pure: no database.

A `WorkCalendar` is built from what the database knows (`tracker.services.work_calendar.load_calendar`): the
days that differ from a plain Monday–Friday week (public holidays with their names, the weekend days worked in
exchange, 调休) for every year whose arrangement is known. A day of a known year that is not listed is an
ordinary day (Monday–Friday work). A day of an unknown year is guessed the same way, and everything computed
from it is **provisional** (暂定) until the admin enters that year's official arrangement.

Reporting periods are the calendar quarters from the start date to the end date, clipped to the project:

- the first period runs from the start date to the end of its quarter;
- the last period runs from the start of its quarter to the end date. A project that ends in the middle of a
  quarter therefore has a short last period, and its report (the final report, 结题报告) is due N days after
  the **end date**, not after the end of that quarter: the final report covers the whole project and there is
  nothing left to wait for;
- a report is due N calendar days after its period ends (N = the business setting `report_due_days`, default 15), moved
  forward to the next working day when that day is a holiday or a weekend not worked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

# Even the Spring Festival week and its neighbouring weekends leave a working day within a month; a calendar
# without any working day in this span is nonsense (or all holidays by mistake) and is refused loudly.
MAX_SEARCH_DAYS = 60
FINAL_REPORT = "结题报告"


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


class WorkCalendar:
    """Which days are working days. `known` lists the days that are not ordinary (or that carry a name);
    `known_years` are the years whose arrangement is known (for any other year the answer is provisional)."""

    def __init__(self, known: Mapping[date, bool], known_years: Iterable[int]) -> None:
        self._known = dict(known)
        self.known_years = frozenset(known_years)

    def is_workday(self, day: date) -> bool:
        value = self._known.get(day)
        return is_weekday(day) if value is None else value

    def is_provisional(self, day: date) -> bool:
        """True when the day's year has no known arrangement: its status is only the Monday–Friday guess."""
        return day.year not in self.known_years

    def next_workday_on_or_after(self, day: date) -> tuple[date, bool]:
        """The first working day on or after `day`, and whether that answer is provisional (some day looked at
        on the way belongs to a year whose arrangement is not known)."""
        provisional = False
        current = day
        for _ in range(MAX_SEARCH_DAYS):
            provisional = provisional or self.is_provisional(current)
            if self.is_workday(current):
                return current, provisional
            current += timedelta(days=1)
        raise ValueError(f"{day.isoformat()} 之后 {MAX_SEARCH_DAYS} 天内没有工作日：工作日历有误")

    def __repr__(self) -> str:
        return f"WorkCalendar({len(self._known)} days, years={sorted(self.known_years)})"


@dataclass(frozen=True)
class ReportingPeriod:
    index: int  # 1-based
    start: date
    end: date
    due: date
    provisional: bool  # the due date rests on a year whose official arrangement is not entered yet (暂定)
    is_final: bool  # the last period: its report is the final report (结题报告)
    label: str  # "2025年第2季度" / "2025年第2季度（结题报告）"
    year: int = 0
    quarter: int = 0


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def quarter_bounds(day: date) -> tuple[date, date]:
    """First and last day of the calendar quarter that contains `day`."""
    first_month = (quarter_of(day) - 1) * 3 + 1
    first = date(day.year, first_month, 1)
    last = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return first, last - timedelta(days=1)


def quarter_label(day: date, *, final: bool = False) -> str:
    label = f"{day.year}年第{quarter_of(day)}季度"
    return f"{label}（{FINAL_REPORT}）" if final else label


def due_date(period_end: date, calendar: WorkCalendar, due_days: int) -> tuple[date, bool]:
    """Period end + N calendar days, moved to the next working day; and whether that is provisional."""
    if due_days < 0:
        raise ValueError("报告提交期限天数不能为负数")
    return calendar.next_workday_on_or_after(period_end + timedelta(days=due_days))


def reporting_periods(start: date, end: date, calendar: WorkCalendar, due_days: int) -> list[ReportingPeriod]:
    """The quarterly reports of a project running from `start` to `end` (both included); see the module
    docstring for the clipping and the due dates."""
    if end < start:
        raise ValueError("结束日期不能早于开始日期")
    periods: list[ReportingPeriod] = []
    cursor = start
    while cursor <= end:
        _first, quarter_end = quarter_bounds(cursor)
        period_end = min(quarter_end, end)
        final = period_end == end
        due, provisional = due_date(period_end, calendar, due_days)
        periods.append(ReportingPeriod(
            index=len(periods) + 1, start=cursor, end=period_end, due=due, provisional=provisional,
            is_final=final, label=quarter_label(cursor, final=final), year=cursor.year,
            quarter=quarter_of(cursor),
        ))
        cursor = period_end + timedelta(days=1)
    return periods


def years_needed(start: date, end: date, due_days: int) -> set[int]:
    """The years whose calendar the reporting periods of a project may look at (for `load_calendar`)."""
    last = end + timedelta(days=max(due_days, 0) + MAX_SEARCH_DAYS)
    return set(range(start.year, last.year + 1))
