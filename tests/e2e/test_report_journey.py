"""The progress-report journey in a real browser, at 390 px and at 1280 px: the grantee reports one quarter by the
form (with an evidence file) and the next by the Excel file; the officer accepts one and returns the other with a
comment; the grantee resubmits; the officer accepts. Screenshots of each step (TRACKER_SCREENSHOTS to keep them)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from PIL import Image

from tests import builders as build
from tests.builders import PATENTS, PER_YEAR, PLATFORM, REVENUE, STRENGTH
from tests.e2e.journey import WIDTHS, Journey
from tracker.db import session_scope
from tracker.exports import report_xlsx

pytestmark = pytest.mark.browser


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (20, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_two_quarters_reported_reviewed_and_resubmitted(browser, live_server, live_session_factory, screenshot_dir,
                                                        tmp_path, width):
    with session_scope(live_session_factory) as db:
        project = build.demo_project(db, code=f"E2E-{width}", programme=f"浏览器测试计划-{width}")
        project_id, target_set = project.id, project.target_sets[-1]
        rows = report_xlsx.target_rows(target_set)
    journey = Journey(browser, live_server, width, screenshot_dir)
    url = f"{live_server}/projects/{project_id}/reports"

    # Quarter 1 by the form, with a file.
    page = journey.login("grantee")
    page.goto(f"{url}/1")
    page.fill(f"#f-v{PATENTS}_value", "2")
    page.fill(f"#f-v{REVENUE}_value", "1.2亿元")
    page.fill(f"#f-v{STRENGTH}_value", "1385")
    page.select_option(f"#f-v{PLATFORM}_done", "0")
    page.fill(f"#f-v{PER_YEAR}_year_value", "1200")
    page.fill("#f-fiscal_received", "100")
    page.fill("#f-fiscal_spent", "35")
    page.select_option("#f-e0_kind", "patent_application")
    page.fill("#f-e0_identifier", "202310123456.6")
    page.select_option("#f-e1_kind", "file")
    page.set_input_files("#f-e1_file", files=[{"name": "受理通知书.png", "mimeType": "image/png", "buffer": png()}])
    page.fill("#f-narrative", "完成样机设计，提交两项发明专利申请，新增销售收入1.2亿元。")
    journey.check(page, "form-filled")
    page.click("button[value=submit]")
    page.wait_for_url(f"{url}/1?done=submitted")
    assert "已提交（待审核）" in page.inner_text("main")
    assert "受理通知书.png" in page.inner_text("main")
    journey.check(page, "q1-submitted")

    # Quarter 2 by the Excel file: first a bad file (errors by row and column), then a good one.
    page.goto(f"{url}/2")
    with page.expect_download() as info:
        page.click("text=下载本期报告 Excel 文件（已预填）")
    path = tmp_path / "q2.xlsx"
    info.value.save_as(path)
    workbook = load_workbook(path)
    sheet = workbook[report_xlsx.SHEET_TARGETS]
    sheet.cell(rows[PATENTS], report_xlsx.COL_VALUE).value = -3
    bad = tmp_path / "q2-bad.xlsx"
    workbook.save(bad)
    page.set_input_files("#f-excel", str(bad))
    page.click("text=上传并读入")
    assert f"考核指标 第{rows[PATENTS]}行" in page.inner_text(".error")
    journey.check(page, "excel-errors")
    sheet.cell(rows[PATENTS], report_xlsx.COL_VALUE).value = 3
    sheet.cell(rows[REVENUE], report_xlsx.COL_VALUE).value = 15000
    sheet.cell(rows[PER_YEAR], report_xlsx.COL_YEAR).value = 2600
    funds = workbook[report_xlsx.SHEET_FUNDS]
    for name, row in report_xlsx.fund_rows().items():
        funds.cell(row, 2).value = {"fiscal_received": 150, "fiscal_spent": 80, "self_received": 40,
                                    "self_spent": 30}[name]
    workbook[report_xlsx.SHEET_TEXT].cell(report_xlsx.text_rows()["narrative"], 2).value = "中试线调试完成，新增一项专利申请。"
    good = tmp_path / "q2.xlsx"
    workbook.save(good)
    page.set_input_files("#f-excel", str(good))
    page.click("text=上传并读入")
    page.wait_for_url(f"{url}/2?done=excel")
    assert page.input_value(f"#f-v{PATENTS}_value") == "3"
    page.click("button[value=submit]")
    page.wait_for_url(f"{url}/2?done=submitted")

    # The officer: the queue, accept quarter 1, return quarter 2 with a comment.
    page = journey.login("officer")
    page.goto(live_server + "/reports")
    assert f"E2E-{width}" in page.inner_text("main")
    journey.check(page, "queue")
    page.goto(f"{url}/1")
    journey.check(page, "review")
    page.check("input[value=accepted]")
    page.click("text=保存审核结论")
    page.wait_for_url(f"{url}/1?done=reviewed")
    page.goto(f"{url}/2")
    page.check("input[value=returned]")
    page.click("text=保存审核结论")
    assert "必须填写审核意见" in page.inner_text("main")
    page.check("input[value=returned]")
    page.fill("#f-comment", "第2季度专利申请请附受理通知书编号")
    page.click("text=保存审核结论")
    page.wait_for_url(f"{url}/2?done=reviewed")

    # The grantee resubmits quarter 2 with the evidence asked for.
    page = journey.login("grantee")
    page.goto(f"{url}/2")
    assert "第2季度专利申请请附受理通知书编号" in page.inner_text("main")
    journey.check(page, "returned")
    page.click("text=修改并重新提交")
    page.wait_for_url(f"{url}/2?done=revised")
    page.select_option("#f-e0_kind", "patent_application")
    page.fill("#f-e0_identifier", "202410654321.7")
    page.click("button[value=submit]")
    page.wait_for_url(f"{url}/2?done=submitted")

    page = journey.login("officer")
    page.goto(f"{url}/2")
    assert "第2版" in page.inner_text("main")
    page.check("input[value=accepted]")
    page.click("text=保存审核结论")
    page.wait_for_url(f"{url}/2?done=reviewed")
    page.goto(f"{live_server}/projects/{project_id}")
    assert page.inner_text("#reports").count("审核通过") == 2
    journey.check(page, "project-history")
    journey.close()
    # The two refusals above answer 400 on purpose (the browser logs them); anything else is a script or CSP error.
    assert journey.script_errors() == [], journey.errors
