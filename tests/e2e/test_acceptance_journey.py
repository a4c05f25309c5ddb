"""The acceptance journey in a real browser, at 1280 px and at 390 px: the grantee applies (figures, an audit
report), the officer forms the committee, the expert checks every target, the officer records the verdict with the
certificate figure and downloads the checklist PDF; the officer records a milestone check of a 里程碑式补助 project.
Screenshots of each step (TRACKER_SCREENSHOTS to keep them)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import builders as build
from tests.e2e.journey import WIDTHS, Journey
from tracker import clock
from tracker.db import session_scope
from tracker.demo.accounts import DEMO_ORGANISATION_USCC
from tracker.models import Organisation, User

pytestmark = pytest.mark.browser


def _projects(factory, width: str) -> tuple[int, int]:
    """A project of the demo grantee ending in ten days, its final report submitted (both windows open today), and
    a 里程碑式补助 project, both in a programme of the demo officer."""
    today = clock.today_local()
    with session_scope(factory) as db:
        officer = db.scalar(select(User).where(User.username == "officer"))
        org = db.scalar(select(Organisation).where(Organisation.uscc == DEMO_ORGANISATION_USCC))
        document = build.guideline(db, programme=f"验收浏览器测试-{width}", officer=officer, now=clock.now())
        end = today + timedelta(days=10)
        start = end.replace(year=end.year - 2) + timedelta(days=1)
        project = build.project(db, guideline=document, code=f"YS-E2E-{width}", title="智能装备验收测试项目",
                                organisation=org, officer=officer, start=start, confirmed=True, now=clock.now())
        build.final_report(db, project, now=clock.now())
        milestones = build.project(db, guideline=document, direction=build.MILESTONES_PATH, code=f"LC-E2E-{width}",
                                   organisation=org, officer=officer, start=start, months=24, now=clock.now(),
                                   targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                             "value": "500", "unit": "km", "kind": "level"}])
        return project.id, milestones.id


@pytest.mark.parametrize("width", WIDTHS)
def test_apply_committee_check_verdict_checklist(browser, live_server, live_session_factory, screenshot_dir,
                                                width):
    project_id, milestone_project_id = _projects(live_session_factory, width)
    journey = Journey(browser, live_server, width, screenshot_dir, prefix="acceptance")
    base = f"{live_server}/projects/{project_id}/acceptance"

    # The grantee applies: the first try with a negative figure comes back with the field error and the input.
    page = journey.login("grantee")
    page.goto(base)
    journey.check(page, "acceptance-before")
    page.click("text=申请验收")
    page.fill("#summary", "各项考核指标均已完成，经费使用规范。")
    page.fill("#figure_certified_self_funding", "-5")
    journey.check(page, "apply-form")
    page.click("text=提交验收申请")
    assert "不能为负数" in page.inner_text("main")
    assert page.input_value("#summary") == "各项考核指标均已完成，经费使用规范。"
    page.fill("#figure_certified_self_funding", "80")
    page.set_input_files("#e0_file", files=[{"name": "专项审计报告.pdf", "mimeType": "application/pdf",
                                              "buffer": build.TINY_PDF}])
    page.click("text=提交验收申请")
    page.wait_for_url(f"{base}?done=applied")
    assert "已于" in page.inner_text("main")
    journey.check(page, "applied")

    # The officer forms the committee from the waiting applications.
    page = journey.login("officer")
    page.goto(f"{live_server}/acceptance")
    journey.check(page, "acceptance-overview")
    page.check(f"tr:has-text('YS-E2E-{width}') input[name=application]")
    page.click("text=为所选申请组建验收会")
    page.fill("#f-title", f"验收会（{width}）")
    page.fill("#f-held_on", (clock.today_local() + timedelta(days=3)).isoformat())
    page.fill("#f-place", "南宁市科技大厦301会议室")
    page.check("label:has-text('赵专家') input[name=member]")
    page.select_option("#f-leader_id", label="赵专家（演示）")
    journey.check(page, "meeting-form")
    page.click("text=组建并通知专家")
    page.wait_for_url("**/acceptance/meetings/*?done=formed")
    meeting_url = page.url.split("?")[0]

    # The expert checks every target.
    page = journey.login("expert")
    assert f"验收会（{width}）" in page.inner_text("#cases")
    page.goto(meeting_url)
    page.click(f"text=YS-E2E-{width}")
    radios = page.locator("input[type=radio][value='1']")
    for i in range(radios.count()):
        radios.nth(i).check()
    page.fill("#opinion", "各项指标完成情况属实，同意通过验收。")
    page.select_option("#recommendation", "passed")
    journey.check(page, "check-form")
    page.click("text=提交核查意见")
    page.wait_for_url("**/acceptance/cases/*?done=checked")
    case_url = page.url.split("?")[0]

    # The officer records the verdict with the certificate figure and downloads the checklist.
    page = journey.login("officer")
    page.goto(case_url)
    assert page.input_value("#verdict") == "passed"  # the leader's recommendation, to confirm
    page.fill("#figure_certified_self_funding", "75")
    page.fill("#certificate_no", "桂科验字〔2026〕1号")
    journey.check(page, "verdict-form")
    page.click("text=记录验收结论")
    page.wait_for_url(f"{case_url}?done=verdict")
    assert "通过" in page.inner_text("#decision")
    page.goto(meeting_url)
    with page.expect_download() as info:
        page.click("text=PDF")
    assert info.value.suggested_filename.endswith(".pdf")
    assert Path(info.value.path()).read_bytes()[:5] == b"%PDF-"
    journey.check(page, "meeting-decided")

    # A milestone of the 里程碑式补助 project, checked by the officer.
    page.goto(f"{live_server}/projects/{milestone_project_id}/acceptance")
    page.locator("#milestones details").first.locator("summary").click()
    form = page.locator("#milestones form").first
    form.locator("input[name=passed][value='1']").check()
    form.locator("input[name=evidence]").fill("第三方检测报告 GXJC-2026-118")
    journey.check(page, "milestone-form")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/acceptance?done=milestone*")
    assert "通过" in page.inner_text("#milestones")
    journey.check(page, "milestone-checked")
    journey.close()
    # The first application is refused on purpose (400); anything else is a script or CSP error.
    assert journey.script_errors() == [], journey.errors
