"""The admin's working-day calendar page: the years, entering a year's arrangement, seeding, the November warning."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from sqlalchemy import func, select

from tests.conftest import csrf_from, login
from tracker.models import AuditEntry, WorkCalendarDay, WorkCalendarYear

ARRANGEMENT = "2027-01-01 元旦 休\n2027-02-05~2027-02-11 春节 休\n2027-02-13 春节调休 上班\n"


def admin_page(client) -> str:
    login(client, "admin")
    response = client.get("/admin/calendar")
    assert response.status_code == 200
    return response.text


def test_the_page_lists_no_year_at_first_and_is_in_the_navigation(client, demo_users):
    html = admin_page(client)
    assert "工作日历" in html and 'href="/admin/calendar"' in html
    assert "尚未录入任何年份" in html
    assert 'name="arrangement"' in html and 'action="/admin/calendar/seed"' in html


def test_an_empty_calendar_is_pointed_out_to_the_admin_only(client, demo_users):
    with time_machine.travel(datetime(2026, 3, 2, 1, 30, tzinfo=UTC), tick=False):
        html = admin_page(client)
        assert "尚未录入2026年（本年度）的节假日安排" in html
        assert "尚未录入2026年（本年度）的节假日安排" in client.get("/").text
        client.post("/logout", data={"_csrf_token": csrf_from(html)})
        login(client, "officer")
        assert "节假日安排" not in client.get("/").text


def test_seeding_from_chinesecalendar(client, demo_users, db):
    token = csrf_from(admin_page(client))
    response = client.post("/admin/calendar/seed", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/calendar?seeded=23"
    html = client.get(response.headers["location"]).text
    assert "已从 chinesecalendar 程序库更新23个年份" in html
    assert "<td>2026</td><td>chinesecalendar 程序库</td><td>33</td><td>6</td>" in html
    assert db.get(WorkCalendarYear, 2026).source == "chinesecalendar"
    again = client.post("/admin/calendar/seed", data={"_csrf_token": token}, follow_redirects=True)
    assert "工作日历已是最新" in again.text


def test_entering_a_year(client, demo_users, db):
    token = csrf_from(admin_page(client))
    response = client.post("/admin/calendar", data={"_csrf_token": token, "year": "2027",
                                                    "arrangement": ARRANGEMENT}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/calendar?year=2027&saved=1"
    html = client.get(response.headers["location"]).text
    assert "已保存2027年的节假日安排" in html
    assert "<td>2027</td><td>管理员录入的官方安排</td><td>8</td><td>1</td>" in html
    assert "2027-02-05~2027-02-11 春节 休" in html  # the stored year shown back in the text box
    year = db.get(WorkCalendarYear, 2027)
    assert (year.source, year.entered_by_id) == ("official", demo_users["admin"].id)
    assert db.get(WorkCalendarDay, datetime(2027, 2, 13).date()).is_workday is True
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "calendar_year_entered")).one()
    assert entry.username == "admin"


def test_bad_lines_re_render_with_their_errors_and_nothing_is_written(client, demo_users, db):
    token = csrf_from(admin_page(client))
    typed = "2027-01-01 元旦 休\n2027-02-30 春节 休\n2027-02-13 春节调休\n"
    response = client.post("/admin/calendar", data={"_csrf_token": token, "year": "2027", "arrangement": typed})
    assert response.status_code == 400
    assert "第2行：日期“2027-02-30”不存在" in response.text
    assert "第3行：行末应写明“休”或“上班”" in response.text
    assert "有2处错误，未保存任何内容" in response.text
    assert "2027-02-13 春节调休\n</textarea>" in response.text  # the typed text is kept
    assert db.scalar(select(func.count()).select_from(WorkCalendarYear)) == 0
    assert db.scalar(select(func.count()).select_from(WorkCalendarDay)) == 0
    refused = db.scalars(select(AuditEntry).where(AuditEntry.action == "admin_calendar_enter")).one()
    assert refused.result == "refused:400"


def test_a_missing_year_or_text_is_a_field_error(client, demo_users, db):
    token = csrf_from(admin_page(client))
    response = client.post("/admin/calendar", data={"_csrf_token": token, "year": "二〇二七", "arrangement": ""})
    assert response.status_code == 400
    assert "请填写2000至2100之间的年份" in response.text and "请填写该年的放假和调休上班安排" in response.text
    other_year = client.post("/admin/calendar", data={"_csrf_token": token, "year": "2028",
                                                      "arrangement": ARRANGEMENT})
    assert other_year.status_code == 400 and "第1行：日期不在2028年内" in other_year.text
    assert db.scalar(select(func.count()).select_from(WorkCalendarYear)) == 0


def test_other_roles_are_refused(client, demo_users, db):
    login(client, "officer")
    assert client.get("/admin/calendar").status_code == 403
    token = csrf_from(client.get("/").text)
    response = client.post("/admin/calendar", data={"_csrf_token": token, "year": "2027",
                                                    "arrangement": ARRANGEMENT})
    assert response.status_code == 403
    assert client.post("/admin/calendar/seed", data={"_csrf_token": token}).status_code == 403
    assert db.scalar(select(func.count()).select_from(WorkCalendarYear)) == 0
    assert "/admin/calendar" not in client.get("/").text


def test_the_warning_from_1_november_on_the_page_and_the_home_page(client, demo_users, db):
    # 23:45 on 31 October in Beijing (15:45 UTC)…
    with time_machine.travel(datetime(2026, 10, 31, 15, 45, tzinfo=UTC), tick=False) as traveller:
        token = csrf_from(admin_page(client))
        client.post("/admin/calendar/seed", data={"_csrf_token": token})
        assert "尚未录入2027年的节假日安排" not in client.get("/admin/calendar").text
        # …and 1 November in Beijing twenty minutes later, while it is still 31 October in UTC.
        traveller.move_to(datetime(2026, 10, 31, 16, 5, tzinfo=UTC))
        assert "尚未录入2027年的节假日安排" in client.get("/admin/calendar").text
        home = client.get("/").text
        assert "尚未录入2027年的节假日安排" in home and 'href="/admin/calendar"' in home
        client.post("/admin/calendar", data={"_csrf_token": token, "year": "2027", "arrangement": ARRANGEMENT})
        assert "尚未录入2027年的节假日安排" not in client.get("/admin/calendar").text
        assert "尚未录入2027年的节假日安排" not in client.get("/").text
