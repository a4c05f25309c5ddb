"""Project pages: the list within each role's scope, a constant number of queries, the project page with its
calendar, and the task book confirmed in the browser with a raised value and a custom target."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from indicators.identifiers import uscc_check_char
from tests import builders as build
from tests.conftest import csrf_from, login
from tracker.services.audit import Actor
from tracker.services.projects import ProjectInput, import_projects
from tracker.web.fragments import KEPT

SYSTEM = Actor.system("test")
# The first is at most 3 years (2025-03-01 to 2028-02-29) with a target of 2000 万元; the last is milestone-funded.
DIRECTIONS = [build.FLAGGED, build.EVERY_KIND, build.MILESTONES_PATH]


def make_rows(n: int, uscc: str) -> list[ProjectInput]:
    return [ProjectInput(row=i + 2, project_code=f"GK-{i:04d}", title=f"项目{i}", direction=DIRECTIONS[i % 3],
                         content_items=(), organisation_name="柳州示范智能装备有限公司", uscc=uscc, pi_name="李工",
                         pi_phone="13900001111", pi_email=None, officer="officer", start_date=date(2025, 3, 1),
                         end_date=None, period_months=None, fiscal_funding=Decimal("1500000"),
                         self_funding=Decimal("3000000"), funding_mode=None) for i in range(n)]


@pytest.fixture
def world(db, now, demo_users):
    doc = build.guideline(db, officer=demo_users["officer"], now=now)
    grantee_org = demo_users["grantee"].organisation
    projects = import_projects(db, make_rows(3, grantee_org.uscc), doc, actor=SYSTEM, now=now).created
    other = "91450100MA5L00XX0"
    foreign = import_projects(db, [ProjectInput(**{**make_rows(1, other + uscc_check_char(other))[0].__dict__,
                                                   "project_code": "OTHER-1", "row": 9})],
                              doc, actor=SYSTEM, now=now).created
    db.commit()
    return {"doc": doc, "own": projects, "foreign": foreign[0]}


def test_grantee_sees_only_their_organisations_projects(client, world):
    login(client, "grantee")
    page = client.get("/projects")
    assert page.status_code == 200
    assert all(p.code in page.text for p in world["own"]) and "OTHER-1" not in page.text
    assert client.get(f"/projects/{world['foreign'].id}").status_code == 404
    assert client.get("/projects/987654").status_code == 404


def test_officer_list_filters_and_sorting(client, world):
    login(client, "officer")
    everything = client.get("/projects")
    assert "OTHER-1" in everything.text and "GK-0000" in everything.text
    liuzhou = client.get("/projects?city=4502")
    assert "GK-0000" in liuzhou.text and "OTHER-1" not in liuzhou.text  # OTHER-1 is registered in 南宁
    assert client.get("/projects?sort=funding&order=desc&status=active&page=3").status_code == 200


def test_the_list_runs_a_constant_number_of_queries(client, world, db, now, engine):
    login(client, "officer")

    def count_queries(path: str) -> int:
        KEPT.clear()  # the list as built, not as kept (tracker.web.fragments)
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = count_queries("/projects")
    import_projects(db, make_rows(30, world["own"][0].organisation.uscc)[3:], world["doc"], actor=SYSTEM, now=now)
    db.commit()
    assert count_queries("/projects") == few


def test_project_page_shows_targets_and_the_reporting_calendar(client, world):
    login(client, "officer")
    project = world["own"][0]
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200
    assert "继承自指南" in page.text and "2025年第1季度" in page.text and "结题报告" in page.text


def test_officer_confirms_the_task_book_with_a_raised_value_and_a_custom_target(client, world, db):
    login(client, "officer")
    project = world["own"][0]
    target = next(t for t in project.target_sets[-1].targets if t.value is not None and t.op in (">=", ">"))
    token = csrf_from(client.get(f"/projects/{project.id}/task-book").text)
    form = {"_csrf_token": token, f"t{target.position}_value": str(target.value + 1),
            "new0_category": "paper", "new0_metric": "核心期刊论文", "new0_op": ">=", "new0_value": "2",
            "new0_unit": "篇", "new0_kind": "cumulative"}
    done = client.post(f"/projects/{project.id}/task-book", data=form, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(f"/projects/{project.id}").text
    assert "任务书第1版（已确认）" in page and "核心期刊论文" in page


def test_task_book_errors_re_render_with_the_typed_values(client, world):
    login(client, "officer")
    project = world["own"][0]
    target = next(t for t in project.target_sets[-1].targets if t.value is not None and t.op in (">=", ">"))
    token = csrf_from(client.get(f"/projects/{project.id}/task-book").text)
    response = client.post(f"/projects/{project.id}/task-book", data={
        "_csrf_token": token, f"t{target.position}_value": "abc", "new0_category": "paper", "new0_metric": "论文",
        "new0_op": ">=", "new0_value": "2", "new0_unit": "斤斤", "new0_kind": "cumulative"})
    assert response.status_code == 400
    assert "请填写数字目标值" in response.text and "无法识别的单位" in response.text and 'value="abc"' in response.text


def test_grantee_reads_the_task_book_but_cannot_confirm(client, world):
    login(client, "grantee")
    project = world["own"][0]
    page = client.get(f"/projects/{project.id}/task-book")
    assert page.status_code == 200 and "确认任务书" not in page.text
    assert client.post(f"/projects/{project.id}/task-book", data={"_csrf_token": csrf_from(page.text)}).status_code == 403


def test_officer_records_an_extension_and_a_termination(client, world, db):
    login(client, "officer")
    project, other = world["own"][0], world["own"][1]
    token = csrf_from(client.get(f"/projects/{project.id}").text)
    late = client.post(f"/projects/{project.id}/extension", data={
        "_csrf_token": token, "requested_on": "2028-01-15", "months": "6", "reason": "设备延迟"})
    assert late.status_code == 400 and "结束日期前3个月" in late.text and 'value="设备延迟"' in late.text
    ok = client.post(f"/projects/{project.id}/extension", data={
        "_csrf_token": token, "requested_on": "2027-06-01", "months": "6", "reason": "设备延迟"}, follow_redirects=False)
    assert ok.status_code == 303
    page = client.get(f"/projects/{project.id}").text
    assert "延期" in page and "2028-08-31" in page
    stop = client.post(f"/projects/{other.id}/termination", data={"_csrf_token": token, "reason": "单位申请终止"},
                       follow_redirects=False)
    assert stop.status_code == 303
    db.refresh(other)
    assert other.status == "terminated"


def test_non_ascii_digits_in_filters_are_ignored(client, world):
    login(client, "officer")
    assert client.get("/projects?programme=²&organisation=١").status_code == 200


def test_cli_export_projects_writes_the_page_export(tmp_path, monkeypatch, capsys):
    import openpyxl

    from tracker import cli
    from tracker.settings import get_settings

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'e.db'}")
    get_settings.cache_clear()
    try:
        assert cli.main(["demo", "--projects", "12"]) == 0
        out = tmp_path / "projects.xlsx"
        assert cli.main(["export", "projects", str(out)]) == 0
        sheet = openpyxl.load_workbook(out, read_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert len({r[0] for r in rows[1:]}) == 12
    finally:
        get_settings.cache_clear()


def test_filters_by_organisation_officer_and_direction(client, world, demo_users):
    login(client, "officer")
    own, foreign = world["own"][0], world["foreign"]
    by_org = client.get(f"/projects?organisation={foreign.organisation_id}").text
    assert "OTHER-1" in by_org and "GK-0000" not in by_org
    by_officer = client.get(f"/projects?officer={demo_users['officer'].id}").text
    assert "GK-0000" in by_officer
    by_direction = client.get(f"/projects?programme={own.programme_id}&direction={own.node_id}").text
    assert "GK-0000" in by_direction and "GK-0001" not in by_direction
    assert f'<option value="{own.node_id}" selected>' in by_direction


def test_task_book_form_round_trips_as_the_browser_sends_it(client, world):
    """Every field as rendered is posted back unchanged: a value like 2000 must not render as 2E+3."""
    import re

    login(client, "officer")
    project = world["own"][0]
    html = client.get(f"/projects/{project.id}/task-book").text
    assert "E+" not in html
    data = dict(re.findall(r'<input name="(t\d+_(?:value|reason))" value="([^"]*)"', html))
    for name, selected in re.findall(r'<select name="(t\d+_kind)"[^>]*>.*?<option value="(\w+)" selected', html, re.S):
        data[name] = selected
    data["_csrf_token"] = csrf_from(html)
    response = client.post(f"/projects/{project.id}/task-book", data=data, follow_redirects=False)
    assert response.status_code == 303, re.findall(r'field-error">([^<]*)', response.text)


def test_milestones_in_the_task_book_page(client, db, now, demo_users):
    doc = build.guideline(db, officer=demo_users["officer"], now=now)
    row = make_rows(1, demo_users["grantee"].organisation.uscc)[0]
    row = ProjectInput(**{**row.__dict__, "direction": build.MILESTONES_PATH, "project_code": "LZ-9"})
    project = import_projects(db, [row], doc, actor=SYSTEM, now=now).created[0]
    db.commit()
    login(client, "officer")
    page = client.get(f"/projects/{project.id}/task-book").text
    assert "里程碑（里程碑式补助）" in page
    form = {"_csrf_token": csrf_from(page), "new0_category": "product", "new0_metric": "续航里程", "new0_op": ">=",
            "new0_value": "500", "new0_unit": "km", "new0_kind": "level"}
    missing = client.post(f"/projects/{project.id}/task-book", data=form)
    assert missing.status_code == 400 and "须在任务书中设定里程碑" in missing.text
    form.update({"m0_title": "样车下线", "m0_due_date": "2026-06-30", "m0_amount": "60",
                 "m1_title": "量产", "m1_due_date": "2027-12-31", "m1_amount": "90"})
    done = client.post(f"/projects/{project.id}/task-book", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert "样车下线" in client.get(f"/projects/{project.id}").text


def test_the_organisation_chooses_which_of_its_accounts_receive_the_reminders(client, db, demo_users):
    from sqlalchemy import select as _select

    from tests import builders as build
    from tracker.models import AuditEntry, Organisation

    org = db.scalar(_select(Organisation).where(Organisation.uscc == demo_users["grantee"].organisation.uscc))
    project = build.demo_project(db, code="CONTACT-1", programme="联系人计划")
    second = build.grantee(db, org, username="li-second")
    login(client, "grantee")
    page = client.get(f"/projects/{project.id}").text
    assert "提醒接收人" in page and "li-second" in page
    token = csrf_from(page)
    done = client.post(f"/projects/{project.id}/contacts", data={"_csrf_token": token, "contact": [str(second.id)]},
                       follow_redirects=False)
    assert done.status_code == 303
    db.refresh(project)
    assert [u.username for u in project.contacts] == ["li-second"]
    assert db.scalar(_select(AuditEntry).where(AuditEntry.action == "project_contacts_changed")) is not None
    foreign = build.grantee(db, build.organisation(db, credit_code=build.uscc("91450300MA5L22XY0"), name="别家"),
                            username="stranger-account")
    refused = client.post(f"/projects/{project.id}/contacts", data={"_csrf_token": token, "contact": [str(foreign.id)]})
    assert refused.status_code == 400 and "只能选择本单位的有效账号" in refused.text
    db.refresh(project)
    assert [u.username for u in project.contacts] == ["li-second"]


def test_filter_choices_name_only_what_the_user_can_see(db, world, demo_users):
    from tracker.services.projects import filter_choices

    own, foreign = world["own"][0], world["foreign"]
    officer = filter_choices(db, demo_users["officer"], own.programme_id)
    assert {name for _id, name in officer.organisations} == {own.organisation.name, foreign.organisation.name}
    assert [name for _id, name in officer.officers] == [demo_users["officer"].display_name]
    assert {node_id for node_id, _title in officer.directions} == {p.node_id for p in world["own"]} | {
        foreign.node_id}
    grantee = filter_choices(db, demo_users["grantee"], None)
    assert [name for _id, name in grantee.organisations] == [own.organisation.name]
    assert grantee.directions == []
    assert filter_choices(db, demo_users["expert"], own.programme_id).organisations == []  # no cases yet


def test_list_rows_read_the_same_values_as_the_project(db, world):
    from tracker.services.accounts import get_user_by_username
    from tracker.services.projects import ProjectFilters, filtered_projects, project_rows

    officer = get_user_by_username(db, "officer")
    rows = project_rows(db, filtered_projects(officer, ProjectFilters()), offset=0, limit=50)
    projects = {p.id: p for p in [*world["own"], world["foreign"]]}
    assert [r.code for r in rows] == sorted(p.code for p in projects.values())
    for row in rows:
        project = projects[row.id]
        assert (row.title, row.organisation_name, row.division_code, row.direction, row.officer_name,
                row.status_label) == (project.title, project.organisation.name, project.organisation.division_code,
                                      project.node.title, project.officer.display_name, project.status_label)
    assert project_rows(db, filtered_projects(officer, ProjectFilters()), offset=50, limit=50) == []


def test_the_list_is_kept_until_something_it_shows_changes(client, world, db, engine):
    from tracker.services import data_generation

    login(client, "officer")
    seen: list[str] = []
    listener = lambda _conn, _cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        first = client.get("/projects?sort=code").text
        built = len(seen)
        seen.clear()
        assert client.get("/projects?sort=code").text == first
        assert len(seen) < built  # served from the kept part: no count, page or choices queries
    finally:
        event.remove(engine, "before_cursor_execute", listener)

    own = world["own"][0]
    before = data_generation.current(db)
    own.next_reminder_at = None  # not shown by the list: the kept part stays
    db.commit()
    assert data_generation.current(db) == before
    own.status = "terminated"
    own.organisation.name = "柳州示范智能装备集团有限公司"
    db.commit()
    assert data_generation.current(db) != before
    page = client.get("/projects?sort=code").text
    assert "柳州示范智能装备集团有限公司" in page and "终止" in page


def test_every_watched_change_moves_the_data_generation(db, world, demo_users, now):
    from sqlalchemy import text

    from tracker.services import data_generation

    def moves(statement: str) -> bool:
        before = data_generation.current(db)
        db.execute(text(statement))
        db.commit()  # each its own transaction: on PostgreSQL the generation moves once per transaction
        return data_generation.current(db) != before

    project = world["own"][0]
    assert moves(f"UPDATE projects SET status = 'extended' WHERE id = {project.id}")
    assert moves(f"UPDATE projects SET title = '新名称' WHERE id = {project.id}")
    assert not moves(f"UPDATE projects SET next_reminder_at = NULL WHERE id = {project.id}")
    assert moves(f"UPDATE organisations SET name = '改名' WHERE id = {project.organisation_id}")
    assert moves(f"UPDATE users SET display_name = '新专员' WHERE id = {demo_users['officer'].id}")
    assert not moves(f"UPDATE users SET last_login_at = NULL WHERE id = {demo_users['officer'].id}")
    assert moves(f"UPDATE programmes SET name = '新计划' WHERE id = {project.programme_id}")
    assert moves(f"UPDATE guideline_nodes SET title = '新方向' WHERE id = {project.node_id}")
    assert moves(f"UPDATE target_sets SET reason = 'x' WHERE project_id = {project.id}")
    # What the project page shows besides (migration 0012).
    assert moves(f"UPDATE projects SET pi_email = 'pi@example.cn' WHERE id = {project.id}")
    assert moves(f"UPDATE users SET email = 'new@example.cn' WHERE id = {demo_users['grantee'].id}")
    assert moves(f"DELETE FROM project_contacts WHERE project_id = {project.id}")
    assert moves(f"INSERT INTO project_contacts (project_id, user_id) VALUES ({project.id}, {demo_users['grantee'].id})")
    assert moves(f"UPDATE guideline_documents SET title = '新标题' WHERE id = {project.document_id}")


def test_the_kept_review_queue_and_api_list_follow_a_submission(client, db, now, demo_users):
    project = build.demo_project(db, code="KEPT-1")
    report = build.report(db, project, status="draft")
    db.commit()
    login(client, "officer")
    assert "KEPT-1" not in client.get("/reports").text
    assert client.get("/reports").status_code == 200  # kept
    report.status = "submitted"
    report.first_submitted_at = report.last_submitted_at = now
    db.commit()
    assert "KEPT-1" in client.get("/reports").text


def test_an_officer_given_a_programme_sees_its_projects_at_once(client, db, world, demo_users, now):
    from tracker.services.accounts import assign_programmes

    officer = demo_users["officer"]
    before = list(officer.programmes)
    other = build.demo_project(db, code="ELSEWHERE-1", programme="另一个计划")  # assigns the officer to it
    db.commit()
    login(client, "officer")
    assert "ELSEWHERE-1" in client.get("/projects").text
    assign_programmes(db, officer, before, actor=SYSTEM, now=now)  # ends the officer's sessions
    db.commit()
    login(client, "officer")
    assert "GK-0000" in (page := client.get("/projects").text) and "ELSEWHERE-1" not in page
    assign_programmes(db, officer, [*before, other.programme], actor=SYSTEM, now=now)
    db.commit()
    login(client, "officer")
    assert "ELSEWHERE-1" in client.get("/projects").text


def test_the_project_page_is_kept_with_each_sessions_own_form_token(app, client, world, db, engine, demo_users):
    from litestar.testing import TestClient

    project = world["own"][0]
    login(client, "officer")
    seen: list[str] = []
    listener = lambda _conn, _cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        first = client.get(f"/projects/{project.id}").text
        built = len(seen)
        seen.clear()
        again = client.get(f"/projects/{project.id}").text
        assert len(seen) < built - 3  # kept: no project, calendar, report or target queries
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert again == first and csrf_from(first) == csrf_from(client.get("/account").text)

    with TestClient(app=app, raise_server_exceptions=False) as other:  # another officer session, the kept part
        login(other, "officer")
        theirs = other.get(f"/projects/{project.id}").text
        assert csrf_from(theirs) != csrf_from(first)
        assert theirs.replace(csrf_from(theirs), "") == first.replace(csrf_from(first), "")
        done = other.post(f"/projects/{project.id}/extension", data={
            "_csrf_token": csrf_from(theirs), "requested_on": "2027-06-01", "months": "3", "reason": "样机返修"},
            follow_redirects=False)
        assert done.status_code == 303
    assert "样机返修" in client.get(f"/projects/{project.id}").text

    demo_users["grantee"].email = "contact.person@example.cn"
    project.contacts = [demo_users["grantee"]]
    db.commit()
    assert "c***@example.cn" in client.get(f"/projects/{project.id}").text
    login(client, "grantee")
    assert client.get(f"/projects/{world['foreign'].id}").status_code == 404  # kept per scope, not per project
    assert client.get(f"/projects/{project.id}").status_code == 200
