"""An officer's first week and the new grantee's first sign-in, in a real browser at 1280 px and at 390 px: the officer
imports a guideline (.docx) and the award list of its projects (both through their previews), confirms a project's task
book, opens the dashboard and exports the at-risk list; the award import created the grantee's account, whose
activation link the grantee reads from the mail delivered to a real SMTP server and follows to set a password. The
later steps of a project (reports, acceptance, disbursement) are the other journeys of this folder."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook, load_workbook

from reminders.mail import SmtpConfig, SmtpTransport, send_due_mail
from tests import builders as build
from tests.e2e.journey import WIDTHS, Journey
from tests.mail_sink import SmtpServer
from tracker import clock
from tracker.db import session_scope

pytestmark = pytest.mark.browser

ACTIVATION = re.compile(r"/activate/[A-Za-z0-9_-]+")


def guideline_docx(title: str) -> bytes:
    """The builders' small guideline as a Word file, under a title of its own (a new programme per run)."""
    document = Document()
    document.add_heading(title, level=1)
    for line in build.GUIDELINE.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def award_list(width: str, leader_email: str) -> bytes:
    """Two awarded projects of two new organisations, as an office sends them (a title row above the headers)."""
    wb = Workbook()
    ws = wb.active
    ws.append([f"{width} 浏览器测试立项项目清单"])
    ws.append(["项目编号", "项目名称", "支持方向", "承担单位", "统一社会信用代码", "项目负责人", "负责人邮箱",
               "起始时间", "财政资助（万元）"])
    start = date(clock.today_local().year, 1, 1)
    tag = width[0].upper()  # D or P: each width its own organisations
    ws.append([f"GX-E2E-{width}-1", "高精度传感器研制与产业化", build.EVERY_KIND, f"柳州{width}传感科技有限公司",
               build.uscc(f"91450200MA5L{tag}E210"), "陈工", leader_email, start, 120])
    ws.append([f"GX-E2E-{width}-2", "再生铝保级循环利用", build.FLAGGED, f"梧州{width}铝业有限公司",
               build.uscc(f"91450400MA5L{tag}E220"), "黄工", None, start, 80])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_guideline_award_list_task_book_dashboard_and_activation(browser, live_server, live_session_factory,
                                                                 screenshot_dir, width):
    journey = Journey(browser, live_server, width, screenshot_dir, prefix="officer")
    programme = f"2027年度浏览器测试专项（{width}）"
    leader_email = f"chen.{width}@sensor.example.cn"

    # The officer's home is the dashboard: the worklist, the at-risk projects, the committed targets.
    page = journey.login("officer")
    assert page.locator("#worklist").is_visible() and page.locator("#at-risk").is_visible()
    journey.check(page, "dashboard")

    # A guideline as a Word file: preview, then confirm.
    page.click("nav.menu >> text=指南目录")
    journey.check(page, "catalogue")
    page.goto(f"{live_server}/guidelines/upload")
    page.set_input_files("#f-file", files=[{
        "name": "浏览器测试指南.docx", "buffer": guideline_docx(programme),
        "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}])
    page.fill("#f-programme_name", programme)
    journey.check(page, "guideline-upload")
    page.click("text=上传并预览")
    assert build.EVERY_KIND in page.inner_text("main")
    journey.check(page, "guideline-preview")
    page.click("text=确认导入")
    page.wait_for_url(re.compile(r".*/guidelines/\d+$"))
    assert programme in page.inner_text("main")
    journey.check(page, "guideline")

    # The award list against it: the guideline chosen by name (nothing is preselected), preview, confirm.
    page.click("nav.menu >> text=项目")
    page.click("text=导入立项清单")
    assert page.input_value("#f-document") == ""
    page.select_option("#f-document", label=f"{programme}（第1版）")
    page.set_input_files("#f-file", files=[{
        "name": "立项清单.xlsx", "buffer": award_list(width, leader_email),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    journey.check(page, "award-upload")
    page.click("text=上传并预览")
    assert f"GX-E2E-{width}-1" in page.inner_text("main")
    journey.check(page, "award-preview")
    page.click("text=确认导入2个项目")
    assert "已新建2个项目" in page.inner_text("main")
    journey.check(page, "award-imported")

    # The first project's task book, confirmed as the guideline gave it.
    page.click(f"text=GX-E2E-{width}-1")
    page.click("text=确认或修改")
    journey.check(page, "task-book")
    page.click("text=确认任务书")
    page.wait_for_url(re.compile(r".*/projects/\d+(\?.*)?$"))
    assert "已确认" in page.inner_text("main")
    journey.check(page, "task-book-confirmed")

    # The at-risk list from the dashboard, exported with its reasons.
    page.click("nav.menu >> text=首页")
    page.goto(f"{live_server}/projects?risk=at_risk&sort=risk")
    journey.check(page, "at-risk")
    with page.expect_download() as info:
        page.click("text=导出风险清单（含原因）")
    workbook = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert workbook.active.max_row > 1
    journey.close()
    assert journey.script_errors() == [], journey.errors

    # The activation mail, delivered by the send-mail job to a real SMTP server, read there by the grantee.
    with SmtpServer() as smtp:
        config = SmtpConfig.from_url(smtp.url)
        transport = SmtpTransport(config)
        try:
            with session_scope(live_session_factory) as db:
                send_due_mail(db, clock.now(), transport=transport, sender=config.sender)
        finally:
            transport.close()
        mails = [m for m in smtp.sink.received if m["To"] == leader_email and "激活" in m["Subject"]]
    assert len(mails) == 1, [(m["To"], m["Subject"]) for m in smtp.sink.received]
    body = mails[0].get_body(("plain",)).get_content()
    link = ACTIVATION.search(body).group(0)
    username = re.search(r"账号“([^”]+)”", body).group(1)

    page = journey.new_context()
    page.goto(live_server + link)
    assert username in page.inner_text("main")
    journey.check(page, "activate")
    password = "传感器项目负责人的密码2027"
    page.fill("#f-password", password)
    page.fill("#f-confirm", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/login?activated=1")
    journey.check(page, "activated")
    page = journey.login(username, password)
    assert f"GX-E2E-{width}-1" in page.inner_text("main")
    journey.check(page, "grantee-home")
    journey.close()
    assert journey.script_errors() == [], journey.errors
