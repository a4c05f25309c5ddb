"""The post-subsidy disbursement journey in a real browser, at 1280 px and at 390 px: the officer records a 通过 verdict
with the certificate figure; finance opens 后补助拨付, sees the computed amount and its steps, approves it, records
the payment with a voucher number and downloads the payment list. Screenshots of each step (TRACKER_SCREENSHOTS to keep
them)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import builders as build
from tests.e2e.journey import WIDTHS, Journey
from tracker import clock
from tracker.db import session_scope
from tracker.demo.accounts import DEMO_ORGANISATION_USCC
from tracker.models import Organisation, User

pytestmark = pytest.mark.browser


def _case(factory, width: str) -> int:
    """A post-subsidy project of the demo grantee in a programme of the demo officer (10% of the certified
    self-funding, at most 30万元), ending in ten days: applied for, in a committee of the demo expert, who has checked
    it. The acceptance case's id."""
    now, today = clock.now(), clock.today_local()
    with session_scope(factory) as db:
        officer = db.scalar(select(User).where(User.username == "officer"))
        expert = db.scalar(select(User).where(User.username == "expert"))
        org = db.scalar(select(Organisation).where(Organisation.uscc == DEMO_ORGANISATION_USCC))
        document = build.guideline(db, programme=f"拨付浏览器测试-{width}", officer=officer, now=now)
        end = today + timedelta(days=10)
        start = end.replace(year=end.year - 2) + timedelta(days=1)
        project = build.project(db, guideline=document, code=f"BF-E2E-{width}", title="智能装备后补助测试项目",
                                organisation=org, officer=officer, start=start, confirmed=True, now=now)
        application = build.application(db, project, now=now)
        build.meeting(db, [application], [expert], by=officer, now=now)
        build.check(db, application, expert, now=now)
        return application.id


@pytest.mark.parametrize("width", WIDTHS)
def test_verdict_then_finance_approves_pays_and_exports(browser, live_server, live_session_factory, screenshot_dir,
                                                        width):
    application_id = _case(live_session_factory, width)
    code = f"BF-E2E-{width}"
    journey = Journey(browser, live_server, width, screenshot_dir, prefix="disbursement")

    # The officer records the verdict 通过 with the certificate figure: the disbursement is computed with it.
    page = journey.login("officer")
    case_url = f"{live_server}/acceptance/cases/{application_id}"
    page.goto(case_url)
    assert page.input_value("#verdict") == "passed"  # the leader's recommendation, to confirm
    page.fill("#figure_certified_self_funding", "123.4567")
    page.fill("#certificate_no", "桂科验字〔2026〕88号")
    journey.check(page, "verdict-form")
    page.click("text=记录验收结论")
    page.wait_for_url(f"{case_url}?done=verdict")

    # Finance: the home page counts it; 后补助拨付 shows the computed amount; the page shows the steps.
    page = journey.login("finance")
    assert "待审批" in page.inner_text("#payments")
    journey.check(page, "finance-home")
    page.click("nav.menu >> text=后补助拨付")
    page.wait_for_url(f"{live_server}/disbursements")
    row = page.locator("#queue tbody tr", has_text=code)
    assert "12.3457" in row.inner_text()
    journey.check(page, "queue")
    row.locator(f"text={code}").click()
    page.wait_for_url("**/disbursements/*")
    detail_url = page.url
    assert "12.3457 万元" in page.inner_text("#amount") and "123,457.00 元" in page.inner_text("#amount")
    steps = page.inner_text("#steps")
    assert "123.4567万元×10%=12.34567万元" in steps
    journey.check(page, "detail-pending")

    page.click("#approve button[type=submit]")
    page.wait_for_url(f"{detail_url}?done=approve")
    assert "已审批待支付" in page.inner_text("h1")
    page.fill("#pay-voucher_no", f"PZ-{width}-0001")
    journey.check(page, "pay-form")
    page.click("#pay button[type=submit]")
    page.wait_for_url(f"{detail_url}?done=pay")
    assert "已支付" in page.inner_text("h1") and f"PZ-{width}-0001" in page.inner_text("#history")
    journey.check(page, "paid")

    # The payment list of the paid tab.
    page.goto(f"{live_server}/disbursements?status=paid")
    assert code in page.inner_text("#queue")
    journey.check(page, "queue-paid")
    with page.expect_download() as info:
        page.click("text=导出支付清单")
    assert info.value.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    cells = [str(c.value) for ws in workbook.worksheets for r in ws.iter_rows() for c in r if c.value is not None]
    assert any(code in c for c in cells) and any(f"PZ-{width}-0001" in c for c in cells)
    journey.close()
    assert journey.errors == [], journey.errors
