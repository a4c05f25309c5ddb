"""Progress reports in the browser's shoes (TestClient): the grantee's form with evidence files, the officer's queue
and review, the correction cycle, hostile files, field errors that keep the input, conflicts, downloads."""

from __future__ import annotations

import io
import re

import pytest
import time_machine
from PIL import Image
from sqlalchemy import func, select

from tests.conftest import csrf_from, login
from tests.reporting import NOW, PATENTS, PER_YEAR, PLATFORM, REVENUE, STRENGTH, reporting_project
from tracker.models import EvidenceFile, Report, ReportStatus, ReportValue, ReportVersion
from tracker.services import reports as service


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def project(db, demo_users):
    return reporting_project(db)


def page_url(project, period=1):
    return f"/projects/{project.id}/reports/{period}"


def form_fields(**over):
    fields = {f"v{PATENTS}_value": "2", f"v{REVENUE}_value": "1.2亿元", f"v{STRENGTH}_value": "1380",
              f"v{PLATFORM}_done": "0", f"v{PER_YEAR}_year_value": "1200", "fiscal_received": "100",
              "fiscal_spent": "40", "self_received": "50", "self_spent": "20",
              "narrative": "本季度完成样机设计，提交两项发明专利申请。", "problems": "", "next_steps": "开展中试。",
              "evidence_rows": "3", "e0_kind": "patent_application", "e0_identifier": "202310123456.6",
              "e0_target": str(PATENTS), "action": "save"}
    fields.update(over)
    return {k: v for k, v in fields.items() if v is not None}


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def post_report(client, project, fields, files=None, period=1):
    html = client.get(page_url(project, period)).text
    lock = re.search(r'name="edit_lock" value="(\d*)"', html)
    data = {"_csrf_token": csrf_from(html), "edit_lock": lock.group(1) if lock else "", **fields}
    return client.post(page_url(project, period), data=data, files=files or {}, follow_redirects=False)


def counts(db):
    return tuple(db.scalar(select(func.count()).select_from(m)) for m in (Report, ReportVersion, ReportValue,
                                                                         EvidenceFile))


def test_grantee_fills_and_submits_with_a_file_and_the_officer_returns_then_accepts(client, db, project, settings):
    login(client, "grantee")
    page = client.get(page_url(project))
    assert page.status_code == 200 and "考核指标完成情况" in page.text and 'name="v0_value"' in page.text
    files = {"e1_file": ("受理通知书.png", png_bytes(), "image/png")}
    response = post_report(client, project, form_fields(e1_kind="file", e1_description="受理通知书"), files)
    assert response.status_code == 303, response.text[:2000]
    report = service.reports_of(db, project)[1]
    assert report.status == ReportStatus.DRAFT
    version = report.latest
    assert version.value_for(project.target_sets[-1].targets[REVENUE].id).value == 12000
    stored = next(e for e in version.evidence if e.file is not None).file
    assert stored.media_type == "image/png" and stored.display_name == "受理通知书.png"
    on_disk = list((settings.data_dir / "evidence").rglob("*.png"))
    assert len(on_disk) == 1 and "受理" not in str(on_disk[0])

    response = post_report(client, project, form_fields(action="submit", e1_kind="file", e1_file_id=str(stored.id)))
    assert response.status_code == 303, response.text[:2000]
    db.expire_all()
    assert service.reports_of(db, project)[1].status == ReportStatus.SUBMITTED
    detail = client.get(f"/projects/{project.id}")
    assert "已提交（待审核）" in detail.text

    client.get("/logout")
    client.cookies.clear()
    login(client, "officer")
    queue = client.get("/reports")
    assert queue.status_code == 200 and project.code in queue.text
    review_page = client.get(page_url(project))
    assert "保存审核结论" in review_page.text and "此前各期审核通过的数据" in review_page.text
    lock = re.search(r'name="report_lock" value="(\d+)"', review_page.text).group(1)
    token = csrf_from(review_page.text)
    refused = client.post(f"{page_url(project)}/review", data={"_csrf_token": token, "decision": "returned",
                                                              "comment": "", "report_lock": lock})
    assert refused.status_code == 400 and "必须填写审核意见" in refused.text
    returned = client.post(f"{page_url(project)}/review", data={
        "_csrf_token": token, "decision": "returned", "comment": "请补充专利受理通知书原件扫描件", "report_lock": lock},
        follow_redirects=False)
    assert returned.status_code == 303
    assert project.code not in client.get("/reports").text

    client.get("/logout")
    client.cookies.clear()
    login(client, "grantee")
    page = client.get(page_url(project))
    assert "请补充专利受理通知书原件扫描件" in page.text and "修改并重新提交" in page.text
    lock = re.search(r'name="report_lock" value="(\d+)"', page.text).group(1)
    revised = client.post(f"{page_url(project)}/revise", data={"_csrf_token": csrf_from(page.text), "report_lock": lock},
                          follow_redirects=False)
    assert revised.status_code == 303
    response = post_report(client, project, form_fields(action="submit", e1_kind="file", e1_file_id=str(stored.id)))
    assert response.status_code == 303, response.text[:2000]

    client.get("/logout")
    client.cookies.clear()
    login(client, "officer")
    review_page = client.get(page_url(project))
    lock = re.search(r'name="report_lock" value="(\d+)"', review_page.text).group(1)
    accepted = client.post(f"{page_url(project)}/review", data={
        "_csrf_token": csrf_from(review_page.text), "decision": "accepted", "comment": "", "report_lock": lock},
        follow_redirects=False)
    assert accepted.status_code == 303
    db.expire_all()
    report = service.reports_of(db, project)[1]
    assert report.status == ReportStatus.ACCEPTED and report.accepted_number == 2
    history = client.get(page_url(project)).text
    assert "计入进度" in history and "退回" in history


def test_bad_input_rerenders_with_field_errors_keeps_the_input_and_writes_nothing(client, db, project):
    login(client, "grantee")
    before = counts(db)
    response = post_report(client, project, form_fields(**{f"v{PATENTS}_value": "-1", f"v{REVENUE}_value": "很多",
                                                           "e0_identifier": "202310123456.7"}))
    assert response.status_code == 400
    assert "不能为负数" in response.text and "不是数字" in response.text and "校验位" in response.text
    assert 'value="很多"' in response.text and 'value="202310123456.7"' in response.text
    assert counts(db) == before


@pytest.mark.parametrize(("name", "content"), [
    ("报告.pdf", b"<html><script>alert(1)</script></html>"),
    ("图.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ("a.pdf", b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n%%EOF"),
    ("空.pdf", b""),
])
def test_hostile_files_are_refused_in_chinese_and_nothing_is_written(client, db, project, settings, name, content):
    login(client, "grantee")
    before = counts(db)
    response = post_report(client, project, form_fields(e1_kind="file"), {"e1_file": (name, content, "application/pdf")})
    assert response.status_code == 400
    assert re.search(r'class="field-error" id="e-e1_file">[^<]*[\u4e00-\u9fff]', response.text)
    assert counts(db) == before
    assert not list((settings.data_dir / "evidence").rglob("*.*"))


def test_the_second_editor_gets_a_conflict_and_keeps_their_input(client, db, project):
    login(client, "grantee")
    assert post_report(client, project, form_fields()).status_code == 303
    stale = client.get(page_url(project)).text
    lock = re.search(r'name="edit_lock" value="(\d+)"', stale).group(1)
    assert post_report(client, project, form_fields(**{f"v{PATENTS}_value": "3"})).status_code == 303
    response = client.post(page_url(project), data={"_csrf_token": csrf_from(stale), "edit_lock": lock,
                                                    **form_fields(**{f"v{PATENTS}_value": "9"})})
    assert response.status_code == 409
    assert "已被他人修改" in response.text and 'value="9"' in response.text


def test_the_same_version_cannot_be_submitted_twice(client, db, project):
    login(client, "grantee")
    html = client.get(page_url(project)).text
    data = {"_csrf_token": csrf_from(html), "edit_lock": "", **form_fields(action="submit")}
    assert client.post(page_url(project), data=data, follow_redirects=False).status_code == 303
    again = client.post(page_url(project), data=data, follow_redirects=False)
    assert again.status_code in (400, 409)
    assert len(service.reports_of(db, project)[1].versions) == 1


def test_a_period_that_is_not_open_is_refused(client, db, project):
    login(client, "grantee")
    response = post_report(client, project, form_fields(), period=8)
    assert response.status_code == 400 and "起才能填报" in response.text
    assert client.get(page_url(project, 99)).status_code == 404


def test_evidence_downloads_are_attachments_for_those_who_may_see_the_project(client, db, project, demo_users):
    login(client, "grantee")
    files = {"e1_file": ("x.png", png_bytes(), "image/png")}
    assert post_report(client, project, form_fields(e1_kind="file"), files).status_code == 303
    row = db.scalar(select(EvidenceFile))
    response = client.get(f"/evidence/{row.id}")
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''x.png" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    client.get("/logout")
    client.cookies.clear()
    login(client, "expert")
    missing = client.get("/evidence/987654")
    foreign = client.get(f"/evidence/{row.id}")
    assert foreign.status_code == missing.status_code == 404


def test_project_page_lists_periods_with_their_report_status(client, db, project):
    login(client, "grantee")
    post_report(client, project, form_fields(action="submit"))
    html = client.get(f"/projects/{project.id}").text
    assert "季度进展报告" in html and "已提交（待审核）" in html and "逾期未报" in html


def test_the_form_works_at_every_kind_of_target(client, project):
    login(client, "grantee")
    html = client.get(page_url(project)).text
    for name in (f"v{PATENTS}_value", f"v{STRENGTH}_value", f"v{PLATFORM}_done", f"v{PER_YEAR}_year_value",
                 f"v{PATENTS}_explanation"):
        assert f'name="{name}"' in html
    assert f'name="v{PLATFORM}_value"' not in html
