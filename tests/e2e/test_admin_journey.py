"""The administrator's day in a real browser at 1280 px and at 390 px: the working-day calendar (a mistyped line shown
by its number, then next year's arrangement saved), the scheduled jobs as the server's scheduler ran them, the outbox
and one mail, and the audit log searched by user and action."""

from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.journey import WIDTHS, Journey
from tracker import clock

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", WIDTHS)
def test_calendar_jobs_outbox_and_audit_search(browser, live_server, screenshot_dir, width):
    journey = Journey(browser, live_server, width, screenshot_dir, prefix="admin")
    page = journey.login("admin")
    journey.check(page, "home")

    # Next year's holidays: a mistyped date comes back with its line number and the text as typed.
    year = clock.today_local().year + 2 if width == "phone" else clock.today_local().year + 3
    page.click("nav.menu >> text=系统管理")
    page.click("nav.tabs >> text=工作日历")
    journey.check(page, "calendar")
    page.fill("#f-year", str(year))
    page.fill("#f-arrangement", f"{year}-01-01 元旦 休\n{year}-02-30 春节 休\n")
    page.click("form[action='/admin/calendar'] button[type=submit]")
    assert "第2行" in page.inner_text(".field-error")
    assert page.input_value("#f-arrangement").startswith(f"{year}-01-01")
    journey.check(page, "calendar-error")
    saturday = next(d for d in (date(year, 2, day) for day in range(1, 8)) if d.weekday() == 5)
    page.fill("#f-arrangement", f"{year}-01-01 元旦 休\n{year}-02-10~{year}-02-16 春节 休\n{saturday} 春节调休 上班\n")
    page.click("form[action='/admin/calendar'] button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/calendar?year={year}&saved=1")
    assert str(year) in page.inner_text("main table")
    journey.check(page, "calendar-saved")

    # The jobs the server's scheduler has run, in words.
    page.click("nav.tabs >> text=定时任务")
    assert "成功" in page.inner_text("main")
    journey.check(page, "jobs")

    # The outbox (the activation mails of the demo accounts and the journeys) and one mail as it will be sent.
    page.click("nav.tabs >> text=邮件")
    journey.check(page, "outbox")
    rows = page.locator("main table tbody tr a")
    if rows.count():
        rows.first.click()
        page.wait_for_url("**/admin/outbox/*")
        journey.check(page, "mail")

    # The audit log: the admin's own sign-ins.
    page.click("nav.tabs >> text=审计日志")
    page.fill("#user", "admin")
    page.select_option("#action", label="登录")
    page.click("form.toolbar button[type=submit]")
    assert "user=admin" in page.url
    table = page.inner_text("main table")
    assert "登录" in table and "login" not in table
    journey.check(page, "audit")
    journey.close()
    assert journey.script_errors() == [], journey.errors
