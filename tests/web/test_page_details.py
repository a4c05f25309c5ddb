"""The controls and small things of issue 26, each as a reader of the page meets it.

The main action of a form is a primary button; the evidence row's checkbox sits on its label's line; the award-list
import chooses no guideline in advance and says so at the field; comparators read `≥` on every page; 暂定 is a
neutral badge, not an alarm; the organisation filter sorts 单位2 before 单位10; the task book's 条款 column is never
empty for a guideline clause; the catalogue shows the name a file was known by; the guideline preview counts its
reading hints as `label（n）`; the audit log links a report to its page.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from imports.guideline_loader import load_file
from indicators.identifiers import uscc_check_char
from tests import builders as build
from tests.builders import NOW
from tests.conftest import csrf_from, login
from tracker.models import GuidelineDocument
from tracker.services import audit
from tracker.services.audit import Actor
from tracker.services.projects import ProjectInput, import_projects
from tracker.services.reports import EvidenceInput

SYSTEM = Actor.system("test")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


def test_the_main_actions_of_the_report_page_are_primary(client, db, demo_users, frozen):
    project = build.demo_project(db)
    evidence = [EvidenceInput(kind="patent_application", identifier="202310123456.6")]
    build.report(db, project, status="draft", data=build.report_input(project.target_sets[-1], evidence=evidence))
    login(client, "grantee")
    page = client.get(f"/projects/{project.id}/reports/1").text
    assert re.search(r'<button type="submit" name="action" value="submit" class="primary">\s*提交报告', page)
    assert re.search(r'<button type="submit" name="action" value="save" class="secondary">\s*保存草稿', page)
    assert '<button type="submit">' not in page  # no browser-default grey button
    # The remove checkbox and its words on one line: a one-checkbox label, not the grid of a checkbox list.
    assert re.search(r'<label class="check"><input type="checkbox" name="e0_remove" value="1"> 删除这项材料', page)


def test_the_review_decision_is_a_primary_button(client, db, demo_users, frozen):
    project = build.demo_project(db)
    build.report(db, project, status="submitted")
    login(client, "officer")
    page = client.get(f"/projects/{project.id}/reports/1").text
    assert re.search(r'<button type="submit" class="primary">\s*保存审核结论', page)
    assert "≥" in page and "&gt;=" not in re.sub(r"<[^>]*>", " ", page)


def test_comparators_read_the_same_on_every_page(client, db, demo_users, frozen):
    project = build.demo_project(db, confirmed=False)
    login(client, "officer")
    for url in (f"/projects/{project.id}", f"/projects/{project.id}/task-book"):
        page = client.get(url)
        assert page.status_code == 200
        text = re.sub(r"<[^>]*>", " ", page.text)  # what the reader sees, attribute values aside
        assert "≥" in text and "&gt;=" not in text, url


def test_an_unconfirmed_task_book_names_every_guideline_clause(client, db, demo_users, frozen):
    project = build.demo_project(db, confirmed=False)
    login(client, "officer")
    page = client.get(f"/projects/{project.id}/task-book").text
    cells = re.findall(r'<tr>\s*<td class="nowrap">([^<]*)</td>', page)
    assert cells and all(c.strip() for c in cells), cells


def test_provisional_due_dates_are_a_neutral_badge(client, db, demo_users, frozen):
    project = build.demo_project(db)
    login(client, "grantee")
    page = client.get(f"/projects/{project.id}").text
    # The builders' calendar table is empty: every due date is provisional.
    assert '<span class="badge neutral" title="该年度的法定节假日安排尚未录入，按周一至周五计算">暂定</span>' in page
    assert 'class="badge off" title="该年度' not in page


def test_the_import_page_asks_for_a_guideline_and_refuses_none_at_the_field(client, db, demo_users):
    build.guideline(db, programme="甲计划", officer=demo_users["officer"])
    build.guideline(db, programme="乙计划", officer=demo_users["officer"])
    login(client, "officer")
    form = client.get("/projects/import")
    assert '<option value="" selected>请选择</option>' in form.text
    assert not re.search(r'<option value="\d+" selected>', form.text)  # nothing chosen in advance
    token = csrf_from(form.text)
    refused = client.post("/projects/import", data={"_csrf_token": token, "document": ""},
                          files={"file": ("立项清单.xlsx", b"PK", "application/octet-stream")})
    assert refused.status_code == 400
    assert 'id="e-document">请选择立项清单所属的指南</p>' in refused.text
    assert 'aria-invalid="true" aria-describedby="e-document"' in refused.text


def test_the_organisation_filter_sorts_numbers_as_numbers(client, db, demo_users):
    doc = build.guideline(db, officer=demo_users["officer"])
    rows = []
    for n in (10, 2, 1):
        code = f"9145010{n % 10}MA5L0{n:02d}XX"[:17]
        rows.append(ProjectInput(
            row=n + 1, project_code=f"ORG-{n}", title="项目", direction=build.EVERY_KIND, content_items=(),
            organisation_name=f"演示单位{n}", uscc=code + uscc_check_char(code), pi_name="李工", pi_phone=None,
            pi_email=None, officer="officer", start_date=date(2025, 3, 1), end_date=None, period_months=None,
            fiscal_funding=Decimal("1000000"), self_funding=Decimal("0"), funding_mode=None))
    result = import_projects(db, rows, doc, actor=SYSTEM, now=NOW)
    assert result.ok, result.problems
    db.commit()
    login(client, "officer")
    page = client.get("/projects").text
    names = re.findall(r'<option value="\d+"[^>]*>(演示单位\d+)</option>', page)
    assert names == ["演示单位1", "演示单位2", "演示单位10"]


def test_the_catalogue_shows_the_name_a_file_was_known_by(client, db, demo_users, now):
    sample = build.seed_path("000")  # stored under a hashed name
    document = load_file(db, sample, actor=SYSTEM, now=now, programme_name="联动计划", file_name="联动计划申报指南.txt"
                         ).document
    db.commit()
    assert db.scalar(select(GuidelineDocument.file_name).where(GuidelineDocument.id == document.id)) == \
        "联动计划申报指南.txt"
    login(client, "admin")
    page = client.get("/guidelines").text
    assert "联动计划申报指南.txt" in page and sample.name not in page


def test_the_audit_log_links_a_report_to_its_page(client, db, demo_users, frozen):
    project = build.demo_project(db)
    report = build.report(db, project, status="submitted")
    audit.record(db, Actor.of(demo_users["officer"]), "report_accepted", now=NOW, object_type="report",
                 object_id=report.id)
    db.commit()
    login(client, "admin")
    page = client.get("/admin/audit?action=report_accepted").text
    link = f'<a href="/projects/{project.id}/reports/{report.period_index}">{project.code} '
    assert "进展报告 " + link in page and "报告审核通过" in page and ">report_accepted<" not in page


def test_the_guideline_preview_counts_each_kind_of_reading_hint_in_brackets(client, db, demo_users):
    sample = build.seed_path("002")
    login(client, "officer")
    token = csrf_from(client.get("/guidelines/upload").text)
    preview = client.post("/guidelines/upload", data={"_csrf_token": token, "programme_name": ""},
                          files={"file": ("六大行动计划.txt", sample.read_bytes(), "application/octet-stream")})
    assert preview.status_code == 200
    counted = re.search(r"未写数量，按1计（(\d+)）", preview.text)
    assert counted and int(counted.group(1)) > 0  # never `隐含数量1 7`, which reads as one number
    assert "隐含数量1" not in preview.text
