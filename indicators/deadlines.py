"""Reminder stages around a due date, and the window in which reminders may leave (pure; DESIGN §2, §3).

A stage is a number of days from the due date: 7 days before it (-7), the day before (-1), the due day (0), three
and seven days overdue (3, 7), then again every `repeat_days` while the report is still missing. A stage "has
come" on its day; the sweep sends only the latest stage that has come, so after downtime a grantee gets one
reminder worded for the real date instead of a pile of stale ones.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta


def add_months(day: date, months: int) -> date:
    """The same day `months` later (earlier when negative), or that month's last day when it has no such day."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def extension_deadline(end: date, notice_months: int) -> date:
    """The last day an extension may be requested (DESIGN §2: no later than `notice_months` before the end)."""
    return add_months(end, -notice_months)


def stages_come(due: date, today: date, stages: tuple[int, ...], repeat_days: int) -> list[int]:
    """Every stage whose day has come by `today`, in order (the repeats after the last fixed stage included)."""
    come = [s for s in sorted(stages) if due + timedelta(days=s) <= today]
    if repeat_days > 0 and stages:
        last = max(stages)
        overdue_since_last = (today - (due + timedelta(days=last))).days
        if last >= 0 and overdue_since_last >= repeat_days:
            come += [last + k * repeat_days for k in range(1, overdue_since_last // repeat_days + 1)]
    return come


def latest_stage(due: date, today: date, stages: tuple[int, ...], repeat_days: int) -> int | None:
    come = stages_come(due, today, stages, repeat_days)
    return come[-1] if come else None


def next_stage_day(due: date, today: date, stages: tuple[int, ...], repeat_days: int) -> date | None:
    """The day of the first stage still to come after `today` (the sweep looks again then); None when none will.
    `stages` in ascending order, as the settings keep them."""
    waited = (today - due).days
    for stage in stages:
        if stage > waited:
            return due + timedelta(days=stage)
    if repeat_days > 0 and stages and stages[-1] >= 0:
        last = due + timedelta(days=stages[-1])
        return last + timedelta(days=((today - last).days // repeat_days + 1) * repeat_days)
    return None


def window_opening(moment: datetime, start: time, end: time) -> datetime:
    """`moment` if it falls inside the daily window [start, end) of its own time zone, else the window's next
    opening (later the same day, or the next morning)."""
    clock = moment.timetz().replace(tzinfo=None)
    if start <= clock < end:
        return moment
    day = moment.date() if clock < start else moment.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=moment.tzinfo)
