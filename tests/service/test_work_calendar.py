"""The working-day calendar service: seeding from chinesecalendar, entering a year's official arrangement, the
admin's text format, loading a WorkCalendar, the November warning."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from indicators.workdays import reporting_periods
from tracker.models import AuditEntry, WorkCalendarDay, WorkCalendarYear
from tracker.services import work_calendar as wc
from tracker.services.accounts import AccountError
from tracker.services.audit import Actor

SYSTEM = Actor.system("test")

ARRANGEMENT_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知（测试用，日期为虚构）
2027-01-01 元旦 休
2027-02-05～2027-02-11 春节 休
2027-02-13 春节调休 上班
2027-02-14 春节调休 上班

2027-10-01~2027-10-07 国庆节 休
2027-09-26 国庆节调休 上班
"""


def audit_count(db, action: str) -> int:
    return db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def admin_actor(demo_users) -> Actor:
    return Actor.of(demo_users["admin"], "127.0.0.1")


# --- seeding ---------------------------------------------------------------------------------------------------


def test_seeding_stores_every_year_chinesecalendar_covers_and_is_idempotent(db, now):
    first = wc.seed_from_chinesecalendar(db, actor=SYSTEM, now=now)
    db.commit()
    assert first.seeded == list(range(2004, 2027)) and first.unchanged == []
    assert audit_count(db, "calendar_seeded") == 1
    days_stored = db.scalar(select(func.count()).select_from(WorkCalendarDay))
    again = wc.seed_from_chinesecalendar(db, actor=SYSTEM, now=now)
    db.commit()
    assert again.seeded == [] and again.unchanged == list(range(2004, 2027)) and again.changes == []
    assert db.scalar(select(func.count()).select_from(WorkCalendarDay)) == days_stored
    assert audit_count(db, "calendar_seeded") == 1  # nothing changed, nothing audited
    year = db.get(WorkCalendarYear, 2025)
    assert year.source == "chinesecalendar"
    national_day = db.get(WorkCalendarDay, date(2025, 10, 1))
    assert (national_day.is_workday, national_day.note) == (False, "国庆节")
    worked = db.get(WorkCalendarDay, date(2025, 10, 11))
    assert (worked.is_workday, worked.note) == (True, "国庆节调休")
    assert db.get(WorkCalendarDay, date(2025, 10, 6)).note == "中秋节"


def test_seeding_skips_years_chinesecalendar_does_not_cover(db, now):
    result = wc.seed_from_chinesecalendar(db, [2025, 2026, 2027], actor=SYSTEM, now=now)
    assert result.seeded == [2025, 2026] and result.unsupported == [2027]
    assert db.get(WorkCalendarYear, 2027) is None
    assert [c.year for c in result.changes] == [2025, 2026]
    assert all(c.source_before is None for c in result.changes)


def test_seed_demo_calendar(db, now):
    result = wc.seed_demo_calendar(db, now)
    assert 2026 in result.seeded
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "calendar_seeded")).one()
    assert entry.username == "demo" and entry.object_id == "2004-2026"


def test_load_calendar_uses_the_stored_days_and_leaves_unknown_years_provisional(db, now):
    wc.seed_from_chinesecalendar(db, [2025, 2026], actor=SYSTEM, now=now)
    db.commit()
    cal = wc.load_calendar(db, {2025, 2026, 2027})
    assert cal.known_years == {2025, 2026}
    assert cal.is_workday(date(2025, 10, 1)) is False and cal.is_workday(date(2025, 10, 11)) is True
    assert cal.is_provisional(date(2027, 1, 1)) and not cal.is_provisional(date(2026, 1, 1))
    assert wc.load_calendar(db, {2024}).known_years == frozenset()
    assert wc.load_calendar(db, []).known_years == frozenset()
    assert wc.load_calendar(db).known_years == {2025, 2026}


def test_load_calendar_is_one_query(db, now, engine):
    from sqlalchemy import event

    wc.seed_from_chinesecalendar(db, [2025, 2026], actor=SYSTEM, now=now)
    db.commit()
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        wc.load_calendar(db, range(2020, 2030))
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert len(statements) == 1


# --- entering a year -------------------------------------------------------------------------------------------


def test_entering_2027_replaces_the_provisional_guess(db, now, demo_users, monkeypatch):
    heard = []
    monkeypatch.setattr(wc, "_listeners", [])
    wc.on_calendar_change(lambda _db, changes, when: heard.append((changes, when)))
    wc.seed_from_chinesecalendar(db, actor=SYSTEM, now=now)
    heard.clear()
    before = reporting_periods(date(2026, 1, 1), date(2027, 12, 31), wc.load_calendar(db, {2026, 2027, 2028}), 15)
    assert [p.provisional for p in before] == [False, False, False, True, True, True, True, True]

    holidays, workdays, errors = wc.parse_arrangement(ARRANGEMENT_2027, 2027)
    assert errors == []
    change = wc.enter_official_year(db, 2027, holidays, workdays, actor=admin_actor(demo_users), now=now)
    db.commit()

    assert change.year == 2027 and change.source_before is None and change.source_after == "official"
    # Weekday holidays and weekend working days changed; a holiday on a weekend did not.
    assert date(2027, 1, 1) in change.changed_days and date(2027, 2, 13) in change.changed_days
    assert date(2027, 2, 6) not in change.changed_days  # a Saturday inside the Spring Festival
    assert heard == [([change], now)]
    year = db.get(WorkCalendarYear, 2027)
    assert (year.source, year.entered_by_id) == ("official", demo_users["admin"].id)
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "calendar_year_entered")).one()
    assert entry.object_id == "2027" and entry.username == "admin" and '"holidays": 15' in entry.after

    cal = wc.load_calendar(db, {2026, 2027, 2028})
    assert not cal.is_provisional(date(2027, 10, 1))
    assert cal.is_workday(date(2027, 10, 4)) is False and cal.is_workday(date(2027, 9, 26)) is True
    after = reporting_periods(date(2026, 1, 1), date(2027, 12, 31), cal, 15)
    assert [p.provisional for p in after] == [False] * 7 + [True]  # only the report due in 2028
    # 2027-10-15 is a Friday in both; Q4 2026's report: 2027-01-15 (a Friday, not a holiday).
    assert after[3].due == date(2027, 1, 15) and not after[3].provisional


def test_entering_a_year_replaces_chinesecalendar_and_seeding_keeps_it(db, now, demo_users):
    wc.seed_from_chinesecalendar(db, [2025], actor=SYSTEM, now=now)
    db.commit()
    loaded = wc.year_days(db, 2025)  # the old rows are in the session when they are replaced
    assert len(loaded) == 33
    holidays = [(date(2025, 10, 1), "国庆节"), (date(2025, 10, 2), "国庆节")]
    change = wc.enter_official_year(db, 2025, holidays, [], actor=admin_actor(demo_users), now=now)
    db.commit()
    assert change.source_before == "chinesecalendar"
    assert date(2025, 10, 3) in change.changed_days and date(2025, 10, 11) in change.changed_days
    assert date(2025, 10, 1) not in change.changed_days
    assert [(d.day, d.source) for d in wc.year_days(db, 2025)] == [(date(2025, 10, 1), "official"),
                                                                   (date(2025, 10, 2), "official")]
    result = wc.seed_from_chinesecalendar(db, [2025, 2026], actor=SYSTEM, now=now)
    assert result.kept_official == [2025] and result.seeded == [2026]
    assert len(wc.year_days(db, 2025)) == 2
    # Entering it again replaces the previous entry.
    wc.enter_official_year(db, 2025, [(date(2025, 1, 1), "元旦")], [], actor=admin_actor(demo_users), now=now)
    db.commit()
    assert [d.note for d in wc.year_days(db, 2025)] == ["元旦"]
    assert audit_count(db, "calendar_year_entered") == 2


@pytest.mark.parametrize(("year", "holidays", "workdays", "field", "message"), [
    (1999, [(date(1999, 1, 1), "")], [], "year", "年份应在"),
    (2027, [(date(2026, 12, 31), "元旦")], [], "arrangement", "不在2027年内"),
    (2027, [], [], "arrangement", "至少填写一个放假日期"),
    (2027, [(date(2027, 2, 13), "春节")], [(date(2027, 2, 13), "")], "arrangement", "既写了放假又写了上班"),
    (2027, [(date(2027, 1, 1), "元旦")], [(date(2027, 1, 4), "")], "arrangement", "本来就是工作日"),
])
def test_a_wrong_arrangement_is_refused_and_nothing_is_written(db, now, demo_users, year, holidays, workdays,
                                                               field, message):
    with pytest.raises(AccountError, match=message) as caught:
        wc.enter_official_year(db, year, holidays, workdays, actor=admin_actor(demo_users), now=now)
    assert caught.value.field == field
    assert db.scalar(select(func.count()).select_from(WorkCalendarYear)) == 0
    assert audit_count(db, "calendar_year_entered") == 0


# --- the text format -------------------------------------------------------------------------------------------


def test_parse_reads_days_ranges_notes_and_comments():
    holidays, workdays, errors = wc.parse_arrangement(ARRANGEMENT_2027)
    assert errors == []
    assert holidays[0] == (date(2027, 1, 1), "元旦")
    assert [d for d, _n in holidays if d.month == 2] == [date(2027, 2, d) for d in range(5, 12)]
    assert len(holidays) == 1 + 7 + 7
    assert workdays == [(date(2027, 2, 13), "春节调休"), (date(2027, 2, 14), "春节调休"),
                        (date(2027, 9, 26), "国庆节调休")]


def test_parse_accepts_other_date_spellings_and_kind_words():
    text = "2027/1/1 休\n2027年5月1日 至 2027年5月5日 劳动节 放假\n2027.04.25 补班\n\u30002027-06-09 端午节\u3000休"
    holidays, workdays, errors = wc.parse_arrangement(text, 2027)
    assert errors == []
    assert holidays[0] == (date(2027, 1, 1), "") and len(holidays) == 7
    assert holidays[-1] == (date(2027, 6, 9), "端午节")
    assert workdays == [(date(2027, 4, 25), "")]


def test_parse_reports_errors_by_line_number():
    text = "\n".join([
        "2027-01-01~2027-01-03 元旦 休",  # 1 fine
        "元旦 2027-01-01 休",  # 2 no date first
        "2027-02-30 春节 休",  # 3 no such day
        "2027-02-10 春节",  # 4 no kind
        "2027-02-16~2027-02-10 春节 休",  # 5 reversed
        "2027-02-10-2027-02-16 春节 休",  # 6 a range joined with a hyphen
        "2026-12-31 元旦 休",  # 7 another year
        "2027-01-02 元旦 上班",  # 8 contradicts line 1
        "2027-01-04 上班",  # 9 a Monday
        "2027-03-01~2027-05-01 休",  # 10 too long
    ])
    holidays, workdays, errors = wc.parse_arrangement(text, 2027)
    assert [e.split("：", 1)[0] for e in errors] == [f"第{n}行" for n in range(2, 11)]
    assert "应以日期开头" in errors[0]
    assert "“2027-02-30”不存在" in errors[1]
    assert "“休”或“上班”" in errors[2]
    assert "结束日期早于开始日期" in errors[3]
    assert "“~”" in errors[4]
    assert "不在2027年内" in errors[5]
    assert "在第1行写了放假" in errors[6]
    assert "星期一" in errors[7] and "本来就是工作日" in errors[7]
    assert "超过31天" in errors[8]
    assert holidays == [(date(2027, 1, d), "元旦") for d in (1, 2, 3)] and workdays == []


def test_parse_without_a_year_checks_only_the_lines():
    _h, _w, errors = wc.parse_arrangement("2026-12-31 元旦 休\n2027-01-04 上班")
    assert errors == []
    assert wc.parse_arrangement("", 2027)[2] == ["请至少填写一个放假日期"]


def test_a_stored_year_written_back_reads_the_same(db, now):
    wc.seed_from_chinesecalendar(db, [2025], actor=SYSTEM, now=now)
    days = wc.year_days(db, 2025)
    text = wc.arrangement_text(days)
    assert "2025-01-28~2025-02-04 春节 休" in text.splitlines()
    assert "2025-01-26 春节调休 上班" in text.splitlines()
    holidays, workdays, errors = wc.parse_arrangement(text, 2025)
    assert errors == []
    assert sorted([*((d, n, False) for d, n in holidays), *((d, n, True) for d, n in workdays)]) == \
        [(d.day, d.note, d.is_workday) for d in days]


# --- the November warning --------------------------------------------------------------------------------------


def test_the_warning_shows_from_1_november_while_next_year_is_missing(db, now, demo_users):
    wc.seed_from_chinesecalendar(db, actor=SYSTEM, now=now)
    assert wc.missing_next_year_warning(db, date(2026, 10, 31)) is None
    warning = wc.missing_next_year_warning(db, date(2026, 11, 1))
    assert warning is not None and "2027年" in warning and "暂定" in warning
    assert "2027年" in wc.missing_next_year_warning(db, date(2026, 12, 31))
    # 2026 is known: no warning at the end of 2025.
    assert wc.missing_next_year_warning(db, date(2025, 11, 15)) is None
    holidays, workdays, _errors = wc.parse_arrangement(ARRANGEMENT_2027, 2027)
    wc.enter_official_year(db, 2027, holidays, workdays, actor=admin_actor(demo_users), now=now)
    assert wc.missing_next_year_warning(db, date(2026, 11, 1)) is None


def test_a_new_installation_warns_that_this_year_is_missing(db, now):
    assert "2026年（本年度）" in wc.missing_current_year_warning(db, date(2026, 3, 2))
    wc.seed_from_chinesecalendar(db, [2026], actor=SYSTEM, now=now)
    assert wc.missing_current_year_warning(db, date(2026, 3, 2)) is None


def test_year_summaries_count_holidays_and_worked_weekends(db, now):
    wc.seed_from_chinesecalendar(db, [2025, 2026], actor=SYSTEM, now=now)
    summaries = wc.year_summaries(db)
    assert [(s.year, s.source, s.holidays, s.workdays, s.entered_by) for s in summaries] == [
        (2026, "chinesecalendar", 33, 6, ""), (2025, "chinesecalendar", 28, 5, "")]
    assert summaries[0].source_label == "chinesecalendar 程序库"
