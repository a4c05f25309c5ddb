"""The reporting calendar (indicators/workdays.py): working days, provisional years, quarterly periods and due dates."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.workdays import (
    MAX_SEARCH_DAYS,
    WorkCalendar,
    due_date,
    quarter_bounds,
    reporting_periods,
    years_needed,
)


@cache
def chinese() -> WorkCalendar:
    """What the database holds after seeding: chinesecalendar's holidays and weekend working days, 2004–2026."""
    known = {day: False for day in chinese_calendar.holidays}
    known.update({day: True for day in chinese_calendar.workdays})
    return WorkCalendar(known, {d.year for d in chinese_calendar.holidays})


# --- working days ----------------------------------------------------------------------------------------------


def test_known_days_ordinary_days_and_unknown_years():
    cal = chinese()
    assert cal.is_workday(date(2025, 10, 1)) is False  # 国庆节, a Wednesday
    assert cal.is_workday(date(2025, 10, 11)) is True  # Saturday worked (调休)
    assert cal.is_workday(date(2025, 10, 13)) is True  # an ordinary Monday
    assert cal.is_workday(date(2025, 10, 12)) is False  # an ordinary Sunday
    assert not cal.is_provisional(date(2026, 12, 31))
    # 2027 is not in chinesecalendar 1.11: Monday–Friday, provisional.
    assert cal.is_provisional(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 1)) is True  # a Friday; the real 元旦 is only known once entered
    assert cal.is_workday(date(2027, 1, 2)) is False


def test_agrees_with_chinesecalendar_for_every_day_it_covers():
    cal = chinese()
    day = date(2024, 1, 1)
    while day <= date(2026, 12, 31):
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_next_workday_across_the_national_day_and_spring_festival_2025():
    cal = chinese()
    assert cal.next_workday_on_or_after(date(2025, 10, 1)) == (date(2025, 10, 9), False)
    assert cal.next_workday_on_or_after(date(2025, 9, 30)) == (date(2025, 9, 30), False)
    assert cal.next_workday_on_or_after(date(2025, 1, 28)) == (date(2025, 2, 5), False)
    # A Sunday worked in exchange for the Spring Festival is a working day.
    assert cal.next_workday_on_or_after(date(2025, 1, 26)) == (date(2025, 1, 26), False)


def test_next_workday_is_provisional_when_it_runs_into_an_unknown_year():
    cal = WorkCalendar({date(2026, 12, 31): False}, {2026})
    assert cal.next_workday_on_or_after(date(2026, 12, 31)) == (date(2027, 1, 1), True)
    assert cal.next_workday_on_or_after(date(2026, 12, 30)) == (date(2026, 12, 30), False)
    # Entering 2027 makes it exact.
    entered = WorkCalendar({date(2026, 12, 31): False, date(2027, 1, 1): False}, {2026, 2027})
    assert entered.next_workday_on_or_after(date(2026, 12, 31)) == (date(2027, 1, 4), False)


def test_a_calendar_without_working_days_is_refused_not_looped_over():
    cal = WorkCalendar({date(2030, 1, 1) + timedelta(days=i): False for i in range(400)}, {2030, 2031})
    with pytest.raises(ValueError, match="没有工作日"):
        cal.next_workday_on_or_after(date(2030, 1, 1))


# --- due dates -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("period_end", "days", "due"), [
    (date(2025, 9, 30), 15, date(2025, 10, 15)),  # an ordinary Wednesday
    (date(2025, 9, 30), 1, date(2025, 10, 9)),  # 10-01 … 10-08 国庆节、中秋节
    (date(2025, 9, 30), 8, date(2025, 10, 9)),
    (date(2025, 9, 30), 11, date(2025, 10, 11)),  # a Saturday worked (调休)
    (date(2025, 9, 30), 12, date(2025, 10, 13)),  # the Sunday after it is off
    (date(2024, 12, 31), 15, date(2025, 1, 15)),
    (date(2024, 12, 31), 28, date(2025, 2, 5)),  # 01-28 … 02-04 春节
    (date(2024, 12, 31), 26, date(2025, 1, 26)),  # a Sunday worked for the Spring Festival
    (date(2025, 9, 20), 15, date(2025, 10, 9)),  # a project ending mid-quarter: N days after its end date
])
def test_due_dates_around_the_2025_holidays(period_end, days, due):
    assert due_date(period_end, chinese(), days) == (due, False)


def test_due_date_in_2027_is_provisional():
    assert due_date(date(2026, 12, 31), chinese(), 15) == (date(2027, 1, 15), True)
    assert due_date(date(2027, 3, 31), chinese(), 15) == (date(2027, 4, 15), True)
    # 2027-05-15 is a Saturday: Monday under the Monday–Friday guess.
    assert due_date(date(2027, 4, 30), chinese(), 15) == (date(2027, 5, 17), True)


def test_negative_due_days_are_refused():
    with pytest.raises(ValueError):
        due_date(date(2025, 3, 31), chinese(), -1)


# --- reporting periods -----------------------------------------------------------------------------------------


def test_a_three_year_project_from_1_march_2025():
    periods = reporting_periods(date(2025, 3, 1), date(2028, 2, 29), chinese(), 15)
    assert len(periods) == 13
    first, last = periods[0], periods[-1]
    assert (first.start, first.end, first.due, first.label) == (date(2025, 3, 1), date(2025, 3, 31),
                                                                date(2025, 4, 15), "2025年第1季度")
    assert periods[1].label == "2025年第2季度" and periods[1].due == date(2025, 7, 15)
    assert [p.index for p in periods] == list(range(1, 14))
    assert [p.is_final for p in periods] == [False] * 12 + [True]
    assert (last.start, last.end, last.label) == (date(2028, 1, 1), date(2028, 2, 29), "2028年第1季度（结题报告）")
    assert last.due == date(2028, 3, 15) and last.provisional
    # Known up to 2026; the report of 2026 Q4 is due in January 2027, which is not known yet.
    assert [p.provisional for p in periods] == [False] * 7 + [True] * 6
    assert periods[7].label == "2026年第4季度" and periods[7].due == date(2027, 1, 15)


def test_a_project_ending_on_a_quarter_end_and_one_ending_mid_quarter():
    whole = reporting_periods(date(2025, 1, 1), date(2025, 12, 31), chinese(), 15)
    assert [p.label for p in whole] == ["2025年第1季度", "2025年第2季度", "2025年第3季度", "2025年第4季度（结题报告）"]
    assert whole[-1].due == date(2026, 1, 15)
    short = reporting_periods(date(2025, 4, 10), date(2025, 9, 20), chinese(), 15)
    assert [(p.start, p.end, p.due) for p in short] == [
        (date(2025, 4, 10), date(2025, 6, 30), date(2025, 7, 15)),
        (date(2025, 7, 1), date(2025, 9, 20), date(2025, 10, 9)),
    ]
    assert short[-1].label == "2025年第3季度（结题报告）"


def test_a_one_day_project_has_only_its_final_report():
    (only,) = reporting_periods(date(2025, 6, 30), date(2025, 6, 30), chinese(), 15)
    assert only.is_final and only.start == only.end == date(2025, 6, 30) and only.index == 1


def test_end_before_start_is_refused():
    with pytest.raises(ValueError, match="结束日期"):
        reporting_periods(date(2025, 6, 30), date(2025, 6, 1), chinese(), 15)


def test_years_needed_covers_the_last_due_date():
    assert years_needed(date(2025, 3, 1), date(2026, 12, 31), 15) == {2025, 2026, 2027}
    assert years_needed(date(2025, 3, 1), date(2025, 6, 30), 15) == {2025}


# --- properties ------------------------------------------------------------------------------------------------

YEARS = range(2020, 2032)


@st.composite
def calendars(draw) -> WorkCalendar:
    """A known subset of years with scattered holidays and weekend working days (never 60 days off in a row)."""
    known_years = draw(st.sets(st.sampled_from(list(YEARS))))
    days = draw(st.dictionaries(st.dates(date(YEARS.start, 1, 1), date(YEARS.stop - 1, 12, 31)), st.booleans(),
                                max_size=60))
    return WorkCalendar(days, known_years)


def _reference_next_workday(cal: WorkCalendar, day: date) -> tuple[date, bool]:
    looked = [day]
    while not cal.is_workday(looked[-1]):
        looked.append(looked[-1] + timedelta(days=1))
    return looked[-1], any(cal.is_provisional(d) for d in looked)


@settings(max_examples=300, deadline=None)
@given(cal=calendars(), start=st.dates(date(2020, 1, 1), date(2028, 12, 31)),
       length=st.integers(0, 3 * 366), due_days=st.integers(0, 45))
def test_periods_are_contiguous_cover_the_project_and_fall_due_on_working_days(cal, start, length, due_days):
    end = start + timedelta(days=length)
    periods = reporting_periods(start, end, cal, due_days)
    assert periods[0].start == start and periods[-1].end == end
    for before, after in zip(periods, periods[1:], strict=False):
        assert after.start == before.end + timedelta(days=1)
    for number, period in enumerate(periods, start=1):
        assert period.index == number
        assert period.start <= period.end
        assert quarter_bounds(period.start) == quarter_bounds(period.end)  # never across a quarter
        assert period.is_final == (number == len(periods))
        assert period.label.startswith(f"{period.start.year}年第{(period.start.month - 1) // 3 + 1}季度")
        assert period.label.endswith("（结题报告）") == period.is_final
        earliest = period.end + timedelta(days=due_days)
        assert period.due >= earliest and cal.is_workday(period.due)
        assert (period.due - earliest).days < MAX_SEARCH_DAYS
        # The first working day, not any later one; provisional exactly when an unknown year was looked at.
        assert (period.due, period.provisional) == _reference_next_workday(cal, earliest)
        assert period.due.year in years_needed(start, end, due_days)
    # One period per calendar quarter touched.
    quarters = {(d.year, (d.month - 1) // 3) for d in (start + timedelta(days=i) for i in range(length + 1))}
    assert len(periods) == len(quarters)
    # Deterministic.
    assert reporting_periods(start, end, cal, due_days) == periods


@given(cal=calendars(), day=st.dates(date(2020, 1, 1), date(2031, 10, 31)))
def test_next_workday_is_the_first_working_day_on_or_after(cal, day):
    found, provisional = cal.next_workday_on_or_after(day)
    assert (found, provisional) == _reference_next_workday(cal, day)
    assert provisional or not cal.is_provisional(day)
