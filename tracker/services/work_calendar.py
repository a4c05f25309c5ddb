"""The working-day calendar: seeding from chinesecalendar, the admin's entry of the official arrangement, loading a
`WorkCalendar` for the reporting calendar (DESIGN §2 "Reporting calendar").

What is stored (tracker/models/calendar.py): per known year, the days that differ from a Monday–Friday week or
carry a holiday name. `chinesecalendar` covers the years up to the one after its release (2026 for 1.11); the
State Council publishes each next year's arrangement in November or December, and the admin types it in here.
An entered (official) year is never overwritten by seeding.

Changing a year's days changes the due dates computed from it. The projects' reports are recomputed by whoever
owns them: every function here that changes a year returns `CalendarChange`s (the year, its source before and
after, the days whose working status changed) and calls the listeners registered with `on_calendar_change`
in the same transaction, so a projects service can recompute the due dates not yet passed:

    @work_calendar.on_calendar_change
    def _recompute(db, changes, now): ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from indicators.workdays import ReportingPeriod, WorkCalendar, is_weekday, reporting_periods, years_needed
from tracker.models import CalendarSource, Project, User, WorkCalendarDay, WorkCalendarYear
from tracker.services import audit
from tracker.services.accounts import AccountError
from tracker.services.audit import Actor

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_RANGE_DAYS = 31
NOTE_LENGTH = 50
WEEKDAYS = "一二三四五六日"

# chinesecalendar names the holidays in English.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

DayEntry = tuple[date, str]


@dataclass(frozen=True)
class CalendarChange:
    """One year's arrangement replaced: what the projects need to recompute due dates."""

    year: int
    source_before: str | None  # None: the year was unknown (its due dates were provisional)
    source_after: str
    changed_days: frozenset[date]  # days whose working status differs from before (Monday–Friday if unknown)


ChangeListener = Callable[[Session, list[CalendarChange], datetime], None]
_listeners: list[ChangeListener] = []


def on_calendar_change(listener: ChangeListener) -> ChangeListener:
    """Register a function called with (db, changes, now) after a year's days are replaced, in the same
    transaction. Usable as a decorator; registering the same function twice has no effect."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def _notify(db: Session, changes: list[CalendarChange], now: datetime) -> None:
    if changes:
        # Due dates may have moved: the reminders sweep looks at every project again.
        db.execute(update(Project).values(next_reminder_at=None))
        for listener in list(_listeners):
            listener(db, changes, now)


# --- reading ---------------------------------------------------------------------------------------------------


def load_calendar(db: Session, years_needed: Iterable[int] | None = None) -> WorkCalendar:
    """The calendar of these years (every stored year when None), in one query. A year that is not stored stays
    unknown: its days are guessed Monday–Friday and marked provisional."""
    query = (select(WorkCalendarYear.year, WorkCalendarDay.day, WorkCalendarDay.is_workday)
             .outerjoin(WorkCalendarDay, WorkCalendarDay.year == WorkCalendarYear.year))
    if years_needed is not None:
        wanted = sorted(set(years_needed))
        if not wanted:
            return WorkCalendar({}, set())
        query = query.where(WorkCalendarYear.year.in_(wanted))
    known: dict[date, bool] = {}
    years: set[int] = set()
    for year, day, is_workday in db.execute(query):
        years.add(year)
        if day is not None:
            known[day] = is_workday
    return WorkCalendar(known, years)


@dataclass(frozen=True)
class YearSummary:
    year: int
    source: str
    holidays: int  # days off listed (holidays, including their weekend days)
    workdays: int  # weekend days worked (调休)
    entered_at: datetime
    entered_by: str  # display name, "" for the system

    @property
    def source_label(self) -> str:
        return CalendarSource(self.source).label


def reporting_calendars(db: Session, projects: Iterable[Project], due_days: int) -> dict[int, list[ReportingPeriod]]:
    """Project id → its reporting periods (DESIGN §2), for many projects with one calendar read; projects signed
    on the same day with the same end share one computation."""
    projects = list(projects)
    calendar = load_calendar(db, set().union(*(years_needed(p.start_date, p.end_date, due_days) for p in projects)))
    spans: dict[tuple[date, date], list[ReportingPeriod]] = {}
    for project in projects:
        span = (project.start_date, project.end_date)
        if span not in spans:
            spans[span] = reporting_periods(*span, calendar, due_days)
    return {p.id: spans[(p.start_date, p.end_date)] for p in projects}


def year_summaries(db: Session) -> list[YearSummary]:
    """Every known year, newest first, with its counts (one query)."""
    off = func.sum(case((WorkCalendarDay.is_workday.is_(False), 1), else_=0))
    on = func.sum(case((WorkCalendarDay.is_workday.is_(True), 1), else_=0))
    query = (select(WorkCalendarYear.year, WorkCalendarYear.source, WorkCalendarYear.entered_at, User.display_name,
                    func.coalesce(off, 0), func.coalesce(on, 0))
             .outerjoin(WorkCalendarDay, WorkCalendarDay.year == WorkCalendarYear.year)
             .outerjoin(User, User.id == WorkCalendarYear.entered_by_id)
             .group_by(WorkCalendarYear.year, WorkCalendarYear.source, WorkCalendarYear.entered_at, User.display_name)
             .order_by(WorkCalendarYear.year.desc()))
    return [YearSummary(year, source, int(holidays), int(workdays), entered_at, name or "")
            for year, source, entered_at, name, holidays, workdays in db.execute(query)]


def known_year(db: Session, year: int) -> WorkCalendarYear | None:
    return db.get(WorkCalendarYear, year)


def year_days(db: Session, year: int) -> list[WorkCalendarDay]:
    return list(db.scalars(select(WorkCalendarDay).where(WorkCalendarDay.year == year)
                           .order_by(WorkCalendarDay.day)))


def missing_current_year_warning(db: Session, today: date) -> str | None:
    """The calendar has never been filled for this year (a new installation): the admin's warning (else None)."""
    if known_year(db, today.year) is not None:
        return None
    return (f"尚未录入{today.year}年（本年度）的节假日安排，本年度的报告截止日均为暂定。"
            f"请在“工作日历”中从 chinesecalendar 程序库更新，或录入官方安排。")


def missing_next_year_warning(db: Session, today: date) -> str | None:
    """From 1 November, while next year's arrangement is not entered: the admin's warning (else None)."""
    if today.month < 11:
        return None
    next_year = today.year + 1
    if known_year(db, next_year) is not None:
        return None
    return (f"尚未录入{next_year}年的节假日安排：{next_year}年的报告截止日暂按周一至周五计算（暂定）。"
            f"国务院办公厅发布{next_year}年部分节假日安排后，请在“工作日历”中录入。")


# --- writing ---------------------------------------------------------------------------------------------------


def _effective(rows: dict[date, bool], day: date) -> bool:
    value = rows.get(day)
    return is_weekday(day) if value is None else value


def _replace_year(db: Session, year: int, rows: dict[date, tuple[bool, str]], source: CalendarSource, *,
                  actor: Actor, now: datetime) -> CalendarChange:
    existing = db.get(WorkCalendarYear, year)
    before_rows = {d.day: d.is_workday for d in year_days(db, year)} if existing else {}
    source_before = existing.source if existing else None
    if existing is None:
        existing = WorkCalendarYear(year=year, source=source.value, entered_at=now, entered_by_id=actor.user_id)
        db.add(existing)
    else:
        db.execute(delete(WorkCalendarDay).where(WorkCalendarDay.year == year))
        existing.source = source.value
        existing.entered_at = now
        existing.entered_by_id = actor.user_id
    db.flush()
    db.add_all(WorkCalendarDay(day=day, year=year, is_workday=is_workday, note=note[:NOTE_LENGTH],
                               source=source.value)
               for day, (is_workday, note) in sorted(rows.items()))
    db.flush()
    db.expire(existing, ["days"])
    after_rows = {day: is_workday for day, (is_workday, _note) in rows.items()}
    changed = frozenset(d for d in set(before_rows) | set(after_rows)
                        if _effective(before_rows, d) != _effective(after_rows, d))
    return CalendarChange(year, source_before, source.value, changed)


def _counts(rows: dict[date, tuple[bool, str]]) -> dict[str, int]:
    return {"holidays": sum(1 for w, _n in rows.values() if not w), "workdays": sum(1 for w, _n in rows.values() if w)}


def chinesecalendar_years() -> range:
    """The years the installed chinesecalendar covers (2004–2026 for 1.11)."""
    import chinese_calendar

    years = {d.year for d in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


def chinesecalendar_rows(year: int) -> dict[date, tuple[bool, str]]:
    """The days of one year as chinesecalendar lists them: holidays and the weekend days worked."""
    import chinese_calendar

    rows: dict[date, tuple[bool, str]] = {}
    for day, name in chinese_calendar.holidays.items():
        if day.year == year:
            rows[day] = (False, _holiday_name(name))
    for day, name in chinese_calendar.workdays.items():
        if day.year == year:
            rows[day] = (True, f"{_holiday_name(name)}调休")
    return rows


def _holiday_name(name: object) -> str:
    text = str(getattr(name, "value", name))
    return HOLIDAY_NAMES.get(text, text)


@dataclass
class SeedResult:
    seeded: list[int] = field(default_factory=list)  # written or rewritten from chinesecalendar
    unchanged: list[int] = field(default_factory=list)  # already seeded with the same days
    kept_official: list[int] = field(default_factory=list)  # entered by the admin: never overwritten
    unsupported: list[int] = field(default_factory=list)  # chinesecalendar has no data for them
    changes: list[CalendarChange] = field(default_factory=list)


def seed_from_chinesecalendar(db: Session, years: Iterable[int] | None = None, *, actor: Actor,
                              now: datetime) -> SeedResult:
    """Store chinesecalendar's arrangement of these years (every year it covers when None). Idempotent: a year
    already seeded with the same days is left alone, a year the admin entered is never overwritten, a year
    chinesecalendar does not cover is skipped. One audit row when anything was written."""
    supported = chinesecalendar_years()
    wanted = sorted(set(supported if years is None else years))
    result = SeedResult()
    stored = {y.year: y for y in db.scalars(select(WorkCalendarYear).where(WorkCalendarYear.year.in_(wanted)))}
    stored_days: dict[int, dict[date, tuple[bool, str]]] = {}
    for row in db.scalars(select(WorkCalendarDay).where(WorkCalendarDay.year.in_(wanted))):
        stored_days.setdefault(row.year, {})[row.day] = (row.is_workday, row.note)
    for year in wanted:
        if year not in supported:
            result.unsupported.append(year)
            continue
        existing = stored.get(year)
        if existing is not None and existing.source == CalendarSource.OFFICIAL:
            result.kept_official.append(year)
            continue
        rows = chinesecalendar_rows(year)
        if existing is not None and stored_days.get(year, {}) == rows:
            result.unchanged.append(year)
            continue
        result.changes.append(_replace_year(db, year, rows, CalendarSource.CHINESECALENDAR, actor=actor, now=now))
        result.seeded.append(year)
    if result.seeded:
        audit.record(db, actor, "calendar_seeded", now=now, object_type="work_calendar",
                     object_id=_years_text(result.seeded),
                     after={"years": result.seeded, "kept_official": result.kept_official})
        _notify(db, result.changes, now)
    return result


def _years_text(years: list[int]) -> str:
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ",".join(str(y) for y in years)


def seed_demo_calendar(db: Session, now: datetime) -> SeedResult:
    """`tracker demo`: every year chinesecalendar covers (the demo's projects' due dates are then exact up to
    that year and provisional after it)."""
    return seed_from_chinesecalendar(db, actor=Actor.system("demo"), now=now)


def describe_day(day: date) -> str:
    return f"{day.isoformat()}（星期{WEEKDAYS[day.weekday()]}）"


def arrangement_problems(year: int, holidays: list[DayEntry], workdays: list[DayEntry]) -> list[str]:
    """What is wrong with an arrangement of `year` (empty: fine)."""
    problems = []
    if not holidays:
        problems.append("请至少填写一个放假日期")
    for day, _note in [*holidays, *workdays]:
        if day.year != year:
            problems.append(f"{day.isoformat()} 不在{year}年内")
    both = sorted({d for d, _n in holidays} & {d for d, _n in workdays})
    problems.extend(f"{day.isoformat()} 既写了放假又写了上班" for day in both)
    problems.extend(f"{describe_day(day)} 本来就是工作日，无需登记为调休上班"
                    for day, _note in workdays if is_weekday(day))
    return problems


def enter_official_year(db: Session, year: int, holidays: list[DayEntry], workdays: list[DayEntry], *,
                        actor: Actor, now: datetime) -> CalendarChange:
    """Store the State Council arrangement of `year`: the days off (holidays, including those on a weekday) and
    the weekend days worked in exchange (调休). Replaces chinesecalendar's or a previous entry of that year.
    Within a list, a date given twice keeps the later note."""
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise AccountError(f"年份应在{MIN_YEAR}至{MAX_YEAR}之间", field="year")
    problems = arrangement_problems(year, holidays, workdays)
    if problems:
        more = f"等{len(problems)}处问题" if len(problems) > 1 else ""
        raise AccountError(f"{problems[0]}{more}", field="arrangement")
    rows: dict[date, tuple[bool, str]] = {}
    for day, note in holidays:
        rows[day] = (False, note.strip() or "放假")
    for day, note in workdays:
        rows[day] = (True, note.strip() or "调休上班")
    before = known_year(db, year)
    before_snapshot = {"source": before.source, **_counts({d.day: (d.is_workday, d.note)
                                                           for d in year_days(db, year)})} if before else None
    change = _replace_year(db, year, rows, CalendarSource.OFFICIAL, actor=actor, now=now)
    audit.record(db, actor, "calendar_year_entered", now=now, object_type="work_calendar_year", object_id=year,
                 before=before_snapshot,
                 after={"source": CalendarSource.OFFICIAL.value, **_counts(rows),
                        "changed_days": len(change.changed_days)})
    _notify(db, [change], now)
    return change


# --- the admin's text format -----------------------------------------------------------------------------------

_DATE = r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
_LINE = re.compile(rf"^(?P<start>{_DATE})(?:\s*(?:~|～|至|—|–|--)\s*(?P<end>{_DATE}))?(?P<rest>.*)$")
_DATE_START = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}")
_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
HOLIDAY_WORDS = {"休", "放假", "休息"}
WORKDAY_WORDS = {"上班", "班", "补班"}


def _parse_date(text: str) -> date | None:
    match = _DATE_PARTS.match(text.strip())
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_arrangement(text: str, year: int | None = None) -> tuple[list[DayEntry], list[DayEntry], list[str]]:
    """Read an arrangement typed one line per day or range:

        2027-01-01 元旦 休
        2027-02-10~2027-02-16 春节 休
        2027-02-07 春节调休 上班

    The last word says 休 (放假, 休息) or 上班 (班, 补班); the words between are the note. Blank lines and lines
    starting with # are skipped. Returns (holidays, workdays, errors); errors name the line (第3行：…). With
    `year`, dates outside that year, a date both off and worked and a weekday "worked" are errors too."""
    holidays: list[DayEntry] = []
    workdays: list[DayEntry] = []
    errors: list[str] = []
    first_line: dict[date, tuple[int, bool]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"第{number}行："
        match = _LINE.match(line)
        if match is None:
            errors.append(f"{where}应以日期开头（如 2027-01-01 或 2027-02-10~2027-02-16）")
            continue
        start = _parse_date(match.group("start"))
        end = _parse_date(match.group("end")) if match.group("end") else start
        if start is None or end is None:
            bad = match.group("start") if start is None else match.group("end")
            errors.append(f"{where}日期“{bad.strip()}”不存在")
            continue
        if _DATE_START.search(match.group("rest")):
            errors.append(f"{where}无法识别的日期区间，起止日期之间请用“~”连接（如 2027-02-10~2027-02-16）")
            continue
        words = match.group("rest").split()
        if not words or words[-1] not in HOLIDAY_WORDS | WORKDAY_WORDS:
            errors.append(f"{where}行末应写明“休”或“上班”")
            continue
        is_workday = words[-1] in WORKDAY_WORDS
        note = " ".join(words[:-1])[:NOTE_LENGTH]
        if end < start:
            errors.append(f"{where}结束日期早于开始日期")
            continue
        if (end - start).days >= MAX_RANGE_DAYS:
            errors.append(f"{where}日期区间超过{MAX_RANGE_DAYS}天，请检查")
            continue
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        if year is not None and any(d.year != year for d in days):
            errors.append(f"{where}日期不在{year}年内")
            continue
        line_errors = []
        for day in days:
            seen = first_line.get(day)
            if seen is not None and seen[1] != is_workday:
                line_errors.append(f"{where}{day.isoformat()} 在第{seen[0]}行写了"
                                   f"{'上班' if seen[1] else '放假'}，这里又写了{'上班' if is_workday else '放假'}")
            if year is not None and is_workday and is_weekday(day):
                line_errors.append(f"{where}{describe_day(day)} 本来就是工作日，无需登记为调休上班")
        if line_errors:
            errors.extend(line_errors)
            continue
        for day in days:
            first_line.setdefault(day, (number, is_workday))
            (workdays if is_workday else holidays).append((day, note))
    if year is not None and not errors and not holidays:
        errors.append("请至少填写一个放假日期")
    return holidays, workdays, errors


def arrangement_text(days: Iterable[WorkCalendarDay]) -> str:
    """A stored year written back in the format `parse_arrangement` reads (consecutive days with the same note
    and kind become a range), so that the admin can correct a year from what is stored."""
    lines: list[str] = []
    run: list[WorkCalendarDay] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0].day, run[-1].day
        span = first.isoformat() if first == last else f"{first.isoformat()}~{last.isoformat()}"
        kind = "上班" if run[0].is_workday else "休"
        lines.append(" ".join(part for part in (span, run[0].note, kind) if part))
        run.clear()

    for day in sorted(days, key=lambda d: d.day):
        if run and (day.day - run[-1].day).days == 1 and day.note == run[-1].note \
                and day.is_workday == run[-1].is_workday:
            run.append(day)
            continue
        flush()
        run.append(day)
    flush()
    return "\n".join(lines)
