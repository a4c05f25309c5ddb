"""Progress reports in the browser's shoes (TestClient): the grantee's form with evidence files, the officer's queue
and review, the correction cycle, hostile files, field errors that keep the input, conflicts, downloads."""

from __future__ import annotations

import io
import re

import pytest
import time_machine
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select

from tests import builders as build
from tests.builders import NOW, PATENTS, PER_YEAR, PLATFORM, REVENUE, STRENGTH
from tests.conftest import csrf_from, login
from tracker.exports import report_xlsx
from tracker.models import EvidenceFile, Report, ReportStatus, ReportValue, ReportVersion
from tracker.services import reports as service

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def project(db, demo_users):
    """The demo grantee's project under the demo officer's programme, its task book confirmed."""
    return build.demo_project(db)


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


# --- the Excel round trip ------------------------------------------------------------------------------


def download(client, project, period=1):
    response = client.get(f"{page_url(project, period)}/excel")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    return load_workbook(io.BytesIO(response.content))


def upload(client, project, workbook, period=1):
    buffer = io.BytesIO()
    workbook.save(buffer)
    html = client.get(page_url(project, period)).text
    return client.post(f"{page_url(project, period)}/excel", data={"_csrf_token": csrf_from(html)},
                       files={"file": ("报告.xlsx", buffer.getvalue(), XLSX)}, follow_redirects=False)


def fill(workbook, target_set, values: dict[tuple[int, int], object], funds=None, narrative="通过Excel离线填写的季度进展情况。"):
    sheet = workbook[report_xlsx.SHEET_TARGETS]
    rows = report_xlsx.target_rows(target_set)
    for (position, column), value in values.items():
        sheet.cell(rows[position], column).value = value
    fund_sheet = workbook[report_xlsx.SHEET_FUNDS]
    for name, row in report_xlsx.fund_rows().items():
        fund_sheet.cell(row, 2).value = (funds or {}).get(name, {"fiscal_received": 80, "fiscal_spent": 30,
                                                                  "self_received": 20, "self_spent": 10}[name])
    workbook[report_xlsx.SHEET_TEXT].cell(report_xlsx.text_rows()["narrative"], 2).value = narrative


def test_grantee_reports_by_excel_then_submits_on_the_page(client, db, project):
    login(client, "grantee")
    target_set = project.target_sets[-1]
    workbook = download(client, project, 2)
    V, Y, D = report_xlsx.COL_VALUE, report_xlsx.COL_YEAR, report_xlsx.COL_DONE
    fill(workbook, target_set, {(PATENTS, V): 1, (REVENUE, V): "0.5亿元", (STRENGTH, V): 1395, (PLATFORM, D): "否",
                                (PER_YEAR, Y): 900})
    evidence = workbook[report_xlsx.SHEET_EVIDENCE]
    evidence.cell(2, 1).value = "软件著作权登记号"
    evidence.cell(2, 2).value = "2024SR0123456"
    response = upload(client, project, workbook, 2)
    assert response.status_code == 303, response.text[:3000]
    report = service.reports_of(db, project)[2]
    version = report.latest
    assert version.channel == "excel"
    assert version.value_for(target_set.targets[REVENUE].id).value == 5000
    assert [e.identifier for e in version.evidence] == ["2024SR0123456"]
    response = post_report(client, project, form_fields(action="submit", evidence_rows="0", **{
        f"v{PATENTS}_value": "1", f"v{REVENUE}_value": "5000", f"v{STRENGTH}_value": "1395"}), period=2)
    assert response.status_code == 303
    db.expire_all()
    assert service.reports_of(db, project)[2].status == ReportStatus.SUBMITTED


def test_excel_errors_are_listed_by_sheet_row_and_column_and_nothing_is_written(client, db, project):
    login(client, "grantee")
    target_set = project.target_sets[-1]
    workbook = download(client, project)
    fill(workbook, target_set, {(PATENTS, report_xlsx.COL_VALUE): -2, (REVENUE, report_xlsx.COL_VALUE): "不知道"},
         funds={"fiscal_spent": 500})
    before = counts(db)
    response = upload(client, project, workbook)
    assert response.status_code == 400
    row = report_xlsx.target_rows(target_set)
    assert f"考核指标 第{row[PATENTS]}行" in response.text and "不能为负数" in response.text
    assert f"考核指标 第{row[REVENUE]}行" in response.text and "不是数字" in response.text
    assert "经费 第" in response.text
    assert counts(db) == before


def test_an_excel_file_of_another_period_is_refused(client, db, project):
    login(client, "grantee")
    workbook = download(client, project, 1)
    response = upload(client, project, workbook, 2)
    assert response.status_code == 400 and "第1" in response.text
    assert upload_bytes(client, project, b"<html>not a workbook</html>").status_code == 400


def upload_bytes(client, project, data: bytes):
    html = client.get(page_url(project)).text
    return client.post(f"{page_url(project)}/excel", data={"_csrf_token": csrf_from(html)},
                       files={"file": ("x.xlsx", data, XLSX)})


# --- the JSON API -----------------------------------------------------------------------------------------


def bearer(db, user):
    from tracker.services.accounts import create_api_token
    from tracker.services.audit import Actor

    _row, token = create_api_token(db, user, "t", 30, actor=Actor.system(), now=NOW)
    db.commit()
    return {"authorization": f"Bearer {token}"}


def test_api_creates_fills_and_submits_a_draft_with_the_forms_rules(client, db, project, demo_users):
    headers = bearer(db, demo_users["grantee"])
    url = f"/api/v1/projects/{project.id}/reports/1"
    body = {"edit_lock": None, "values": {str(PATENTS): {"value": -1}}, "narrative": "x"}
    refused = client.post(url, json=body, headers=headers)
    assert refused.status_code == 400 and "负数" in refused.json()["errors"][f"v{PATENTS}_value"]
    assert client.get(f"/api/v1/projects/{project.id}/reports", headers=headers).json()["reports"][0]["status"] is None
    body = {"edit_lock": None, "values": {str(PATENTS): {"value": 2}, str(REVENUE): {"value": "1.2亿元"},
                                          str(PER_YEAR): {"year_value": "800"}},
            "evidence": [{"kind": "patent_application", "identifier": "202310123456.6", "target": PATENTS}],
            "funds": {"fiscal_received": "100", "fiscal_spent": "40"},
            "narrative": "通过接口提交的季度进展情况。"}
    saved = client.post(url, json=body, headers=headers)
    assert saved.status_code == 200, saved.text
    draft = saved.json()["version_list"][-1]
    assert draft["draft"] and draft["channel"] == "api"
    assert {v["position"]: v["value"] for v in draft["values"]}[REVENUE] == "12000"
    stale = client.post(f"{url}/submit", json={"edit_lock": draft["edit_lock"] - 1}, headers=headers)
    assert stale.status_code == 409
    submitted = client.post(f"{url}/submit", json={"edit_lock": draft["edit_lock"]}, headers=headers)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert len(submitted.json()["version_list"][-1]["content_sha256"]) == 64
    again = client.post(f"{url}/submit", json={"edit_lock": draft["edit_lock"]}, headers=headers)
    assert again.status_code == 400 and "不能重复提交" in again.json()["error"]
    assert client.post(url, content=b"{not json", headers={**headers, "content-type": "application/json"}
                       ).status_code == 400
    progress = client.get(f"/api/v1/projects/{project.id}/progress", headers=headers).json()
    assert {t["position"]: t["current"] for t in progress["targets"]}[PATENTS] is None  # not accepted yet


def test_api_refuses_other_roles_and_foreign_projects(client, db, project, demo_users):
    url = f"/api/v1/projects/{project.id}/reports/1"
    officer = bearer(db, demo_users["officer"])
    assert client.post(url, json={}, headers=officer).status_code == 403
    assert client.get(url, headers=officer).status_code == 200
    expert = bearer(db, demo_users["expert"])
    assert client.get(url, headers=expert).status_code == 404
    assert client.get(f"/api/v1/projects/{project.id}/reports/99", headers=bearer(db, demo_users["grantee"])
                      ).status_code == 404


def test_a_draft_is_the_grantees_until_it_is_submitted(client, db, project, demo_users):
    login(client, "grantee")
    assert post_report(client, project, form_fields(narrative="草稿里的私人备注：尚未核实的数据。")).status_code == 303
    client.get("/logout")
    client.cookies.clear()
    login(client, "officer")
    html = client.get(page_url(project)).text
    assert "尚未提交" in html and "尚未核实的数据" not in html
    api = client.get(f"/api/v1/projects/{project.id}/reports/1").json()
    assert api["status"] == "draft" and api["version_list"] == []
