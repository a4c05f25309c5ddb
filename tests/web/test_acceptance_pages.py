"""Acceptance in the browser's shoes (TestClient): the grantee applies with an audit report, the officer forms the
committee, the expert checks every target, the officer records the verdict and downloads the checklist; a
milestone check; field errors that keep the input; another expert's case is a 404."""

from __future__ import annotations

import io
import re

import pytest
import time_machine
from litestar.testing import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import builders as build
from tests.conftest import csrf_from, login
from tracker.models import AcceptanceApplication, AcceptanceVerdict, MilestoneCheck, OutboxMail, User

NOW = build.ACCEPTANCE_NOW


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def project(db, demo_users):
    """The demo grantee's project (后补助 at 10% of the certified self-funding), its final report submitted."""
    made = build.demo_project(db)
    build.final_report(db, made)
    return made


def signed_in(client: TestClient, username: str) -> TestClient:
    """The client, signed in as `username` (one client for every role: the app starts and stops once)."""
    client.cookies.clear()
    assert login(client, username).status_code == 303
    return client


def post(client, page: str, action: str, fields: dict, files=None):
    token = csrf_from(client.get(page).text)
    return client.post(action, data={"_csrf_token": token, **fields}, files=files, follow_redirects=False)


def apply(client, project, **over):
    fields = {"summary": "各项考核指标均已完成，经费使用规范。", "figure_certified_self_funding": "80",
              "e0_kind": "audit_report", "e0_figure": "certified_self_funding", **over}
    files = {"e0_file": ("专项审计报告.pdf", build.TINY_PDF, "application/pdf")}
    return post(client, f"/projects/{project.id}/acceptance/apply", f"/projects/{project.id}/acceptance/apply",
                {k: v for k, v in fields.items() if v is not None}, files)


def test_the_whole_acceptance_in_pages(client, db, project):
    grantee = signed_in(client, "grantee")
    page = grantee.get(f"/projects/{project.id}/acceptance").text
    assert "申请验收" in page and "开放中" in page
    form = grantee.get(f"/projects/{project.id}/acceptance/apply").text
    assert "考核指标自评" in form and "验收证书中核定的自筹经费" in form  # the rule's words say why it is asked

    refused = apply(grantee, project, figure_certified_self_funding="-3", summary="  ")
    assert refused.status_code == 400
    assert "不能为负数" in refused.text and "请填写项目完成情况自评总结" in refused.text
    assert 'value="-3"' in refused.text  # what was typed comes back
    assert db.scalar(select(func.count()).select_from(AcceptanceApplication)) == 0

    assert apply(grantee, project).status_code == 303
    application = db.scalar(select(AcceptanceApplication))
    assert application.figure("certified_self_funding") == 800000
    assert "已于" in grantee.get(f"/projects/{project.id}/acceptance").text
    assert apply(grantee, project).status_code == 400  # twice: refused with the reason

    officer = signed_in(client, "officer")
    assert re.search(r"<strong>1</strong> 待组织验收的申请", officer.get("/").text)  # the officer's worklist
    overview = officer.get("/acceptance").text
    assert project.code in overview and "为所选申请组建验收会" in overview
    expert = db.scalar(select(User).where(User.username == "expert"))
    other = build.expert(db, username="expert-z")
    formed = post(officer, f"/acceptance/meetings/new?application={application.id}", "/acceptance/meetings", {
        "title": "2026年第四季度验收会", "held_on": "2026-12-22", "place": "南宁市科技大厦301",
        "member": [str(expert.id), str(other.id)], "leader_id": str(expert.id), "application": str(application.id)})
    assert formed.status_code == 303, formed.text[:500]
    meeting_url = formed.headers["location"].split("?")[0]
    assert "验收清单" in officer.get(meeting_url).text

    checker = signed_in(client, "expert")
    case_url = f"/acceptance/cases/{application.id}"
    assert "我的验收项目" in checker.get("/acceptance").text
    case = checker.get(case_url).text
    ids = sorted(set(re.findall(r'name="t(\d+)_agrees"', case)))
    assert ids and "提交核查意见" in case
    half = {f"t{i}_agrees": "1" for i in ids[1:]}
    missing = post(checker, case_url, f"{case_url}/check", {**half, "opinion": "", "recommendation": "passed"})
    assert missing.status_code == 400 and "请对" in missing.text and "请填写专家意见" in missing.text
    done = post(checker, case_url, f"{case_url}/check", {**half, f"t{ids[0]}_agrees": "0",
                                                         f"t{ids[0]}_comment": "佐证材料不完整",
                                                         "opinion": "基本完成任务书指标。", "recommendation": "passed"})
    assert done.status_code == 303

    assert checker.get(f"{meeting_url}/checklist").status_code == 200  # the committee's own checklist

    officer = signed_in(client, "officer")
    early = post(officer, case_url, f"{case_url}/verdict", {"verdict": "passed", "opinion": "同意通过",
                                                             "figure_certified_self_funding": "80"})
    assert early.status_code == 400 and "专家expert-z" in early.text  # a member's check is missing
    db.expire_all()  # the pages changed it in their own sessions
    build.check(db, db.get(AcceptanceApplication, application.id), other)
    decided = post(officer, case_url, f"{case_url}/verdict", {
        "verdict": "passed", "opinion": "专家组同意通过验收。", "certificate_no": "桂科验字〔2026〕18号",
        "figure_certified_self_funding": "75.5"})
    assert decided.status_code == 303
    verdict = db.scalar(select(AcceptanceVerdict))
    assert verdict.figure("certified_self_funding") == 755000 and project.status == "passed"
    assert db.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.template == "acceptance_verdict"))
    workbook = officer.get(f"{meeting_url}/checklist.xlsx")
    assert workbook.status_code == 200
    cells = [str(c.value) for ws in load_workbook(io.BytesIO(workbook.content)).worksheets for r in ws.iter_rows()
             for c in r if c.value is not None]
    assert any(project.code in c for c in cells) and any("佐证材料不完整" in c for c in cells)

    grantee = signed_in(client, "grantee")
    assert "专家组同意通过验收" in grantee.get(f"/projects/{project.id}/acceptance").text


def test_an_expert_sees_only_their_cases(client, db, project):
    application = build.application(db, project)
    officer = db.scalar(select(User).where(User.username == "officer"))
    build.meeting(db, [application], [build.expert(db, username="expert-y")], by=officer)
    checker = signed_in(client, "expert")
    assert checker.get(f"/acceptance/cases/{application.id}").status_code == 404
    assert checker.get(f"/projects/{project.id}").status_code == 404


def test_the_officer_records_a_milestone_check(client, db, demo_users):
    officer = db.scalar(select(User).where(User.username == "officer"))
    document = build.guideline(db, programme="报告测试计划", officer=officer)
    project = build.project(db, guideline=document, direction=build.MILESTONES_PATH, code="MS-9", officer=officer,
                            months=24, targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                                 "value": "500", "unit": "km", "kind": "level"}])
    signed_in(client, "officer")
    url = f"/projects/{project.id}/acceptance"
    assert "里程碑核查" in client.get(url).text
    refused = post(client, url, f"/projects/{project.id}/milestones/0/check", {"passed": "0", "checked_on": "2026-12-01"})
    assert refused.status_code == 400 and "未通过时请写明原因" in refused.text
    done = post(client, url, f"/projects/{project.id}/milestones/0/check",
                {"passed": "1", "checked_on": "2026-12-01", "evidence": "第三方检测报告"},
                files={"file": ("检测报告.pdf", build.TINY_PDF, "application/pdf")})
    assert done.status_code == 303
    check = db.scalar(select(MilestoneCheck))
    assert check.passed and check.file_id is not None
    assert "第三方检测报告" in client.get(url).text


def test_the_printable_checklist_may_style_itself_but_runs_no_script(client, db, project):
    application = build.application(db, project)
    officer = db.scalar(select(User).where(User.username == "officer"))
    meeting = build.meeting(db, [application], [build.expert(db, username="expert-p")], by=officer)
    signed_in(client, "officer")
    printed = client.get(f"/acceptance/meetings/{meeting.id}/checklist")
    policy = printed.headers["content-security-policy"]
    assert printed.status_code == 200 and "验收清单" in printed.text
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src" not in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in client.get("/acceptance").headers["content-security-policy"]
