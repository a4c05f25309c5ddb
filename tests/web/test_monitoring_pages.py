"""Monitoring in front of each role: the officer's worklist and at-risk projects on the home page, the list's
risk and attention filters, the project page's targets against where they should be, the grantee's to-do list."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import event

from tests import builders as build
from tests.builders import PATENTS
from tests.conftest import login
from tracker.services.reports import ValueInput
from tracker.web.fragments import KEPT

# The builders' clock: four quarters overdue for a project started on 2025-01-01.
TODAY = build.NOW + timedelta(hours=2)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def project(db, demo_users):
    made = build.demo_project(db, code="MON-1")
    build.report(db, made, period=1, status="accepted", values={PATENTS: ValueInput(value="1")})
    build.report(db, made, period=2, status="returned", comment="请补充专利受理通知书",
                 values={PATENTS: ValueInput(value="1")})
    return made


def test_the_officer_home_counts_what_needs_attention_and_lists_the_worst(client, project):
    login(client, "officer")
    home = client.get("/").text
    assert 'href="/projects?attention=overdue"' in home and 'href="/projects?attention=returned"' in home
    assert 'href="/projects?risk=red&amp;sort=risk"' in home or 'href="/projects?risk=red&sort=risk"' in home
    assert "MON-1" in home and "逾期未报" in home  # the worst project, with its reasons
    overdue = client.get("/projects?attention=overdue").text
    assert "MON-1" in overdue and "只显示：有逾期未报的报告" in overdue
    assert "MON-1" in client.get("/projects?attention=returned").text
    assert "MON-1" not in client.get("/projects?attention=task_book").text
    red = client.get("/projects?risk=red&sort=risk").text
    assert "MON-1" in red and "逾期未报" in red  # reasons shown when filtering by risk
    assert "MON-1" not in client.get("/projects?risk=green").text


def test_the_officer_home_runs_a_constant_number_of_queries(client, db, project, engine):
    login(client, "officer")

    def count() -> int:
        KEPT.clear()
        seen: list[str] = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = count()
    for n in range(2, 6):
        build.demo_project(db, code=f"MON-{n}")
    assert count() == few


def test_the_project_page_shows_each_target_against_where_it_should_be(client, project):
    login(client, "officer")
    page = client.get(f"/projects/{project.id}").text
    assert "绩效监测" in page and "按进度应达" in page and "状态变化记录" in page
    assert "发明专利申请 1/3件" in page  # achieved 1 of 3, with the expected value beside it
    assert '<svg class="bar"' in page  # the progress bar
    # The acceptance readiness beside it: not ready, with what the closest alternative still lacks.
    assert 'id="readiness"' in page and "尚不具备验收条件" in page and "尚需" in page and "①发明专利申请" in page


def test_the_grantee_sees_what_to_file_next_and_what_came_back(client, db, project, demo_users):
    waiting = build.demo_project(db, code="MON-9", programme="另一个计划", confirmed=False)
    login(client, "grantee")
    home = client.get("/").text
    assert "需要您处理" in home
    assert f'href="/projects/{project.id}/reports/2"' in home and "报告已退回，请修改后重新提交" in home
    assert f'href="/projects/{project.id}/reports/3"' in home and "填写报告" in home  # the earliest not filed
    assert "MON-9" in home and "任务书待项目管理专员确认" in home
    assert f'href="/projects/{waiting.id}/reports/' not in home  # nothing to file before the task book


def test_the_api_gives_the_stored_assessment_in_the_pages_scope(client, db, project):
    login(client, "grantee")
    body = client.get(f"/api/v1/projects/{project.id}/assessment").json()
    assert body["status"] == "red" and body["overdue_reports"] >= 1 and body["returned_reports"] == 1
    patents = next(t for t in body["targets"] if t["position"] == PATENTS)
    assert patents["achieved"] == "1" and patents["expected"] is not None
    assert body["history"][-1]["previous"] is None  # the first assessment, at the task book's confirmation
    readiness = body["readiness"]
    assert readiness["status"] == "not_ready" and readiness["status_label"] == "尚不具备验收条件"
    assert {t["state"] for t in readiness["targets"]} >= {"not_met", "needs_judgement"} and readiness["lacking"]
    other = build.project(db, code="ELSEWHERE-9")  # another organisation's
    assert client.get(f"/api/v1/projects/{other.id}/assessment").status_code == 404


def test_the_at_risk_list_exports_to_excel_with_its_reasons(client, db, project):
    import io

    from openpyxl import load_workbook

    login(client, "officer")
    answer = client.get("/projects/at-risk.xlsx")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content))["风险项目"]
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert row["项目编号"] == "MON-1" and row["监测状态"] == "预警" and "逾期未报" in row["原因"]
    assert row["退回待改（份）"] == 1
    assert sheet.max_row == 2  # only the projects at risk


def test_cli_assess_and_export_at_risk(tmp_path, monkeypatch, capsys):
    from openpyxl import load_workbook

    from tracker import cli
    from tracker.settings import get_settings

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'e.db'}")
    get_settings.cache_clear()
    try:
        assert cli.main(["demo", "--projects", "12"]) == 0
        assert cli.main(["jobs", "run", "assess"]) == 0
        assert "任务 assess 完成" in capsys.readouterr().out
        out = tmp_path / "at-risk.xlsx"
        assert cli.main(["export", "at-risk", str(out)]) == 0
        rows = list(load_workbook(out, read_only=True)["风险项目"].iter_rows(values_only=True))
        assert rows[0][0] == "项目编号" and len(rows) > 1
        assert {r[8] for r in rows[1:]} <= {"预警", "关注"} and all(r[9] for r in rows[1:])  # with reasons
    finally:
        get_settings.cache_clear()


def test_reporting_and_on_time_rates_by_programme_city_and_officer(client, db, project, demo_users):
    from tracker.services import dashboard

    # Four quarters past their due date; periods 1 and 2 submitted, both late (on the builders' day).
    rates = dashboard.reporting_rates(db, demo_users["officer"])
    [programme] = rates["programme"]
    assert (programme.due, programme.submitted, programme.on_time) == (4, 2, 0)
    assert programme.rate == 0.5 and programme.on_time_rate == 0
    assert [r.name for r in rates["city"]] == ["柳州市"] and rates["officer"][0].name == "王专员（演示）"
    login(client, "officer")
    home = client.get("/").text
    assert "报告提交率与及时率" in home and "50%" in home


def test_committed_against_achieved_by_category(client, db, project, demo_users):
    from tracker.services import dashboard

    totals = {(t.category, t.unit): t for t in dashboard.committed_vs_achieved(db, demo_users["officer"])}
    patents = totals[("patent_application", "件")]
    assert (patents.committed, patents.achieved, patents.projects) == (3, 1, 1)  # 1 of 3 accepted so far
    assert ("performance_metric", "MPa") not in totals  # measured levels do not add up
    login(client, "officer")
    home = client.get("/").text
    assert 'class="chart committed-chart"' in home and '<svg class="chart-bar"' in home and "1 / 3 件" in home


def test_the_programme_summary_api(client, db, project):
    login(client, "officer")
    body = client.get(f"/api/v1/programmes/{project.programme_id}/summary").json()
    assert body["projects_by_status"]["red"] == 1 and body["projects_by_status"]["none"] == 0
    assert body["reporting"]["reports_due"] == 4 and body["reporting"]["reporting_rate"] == 0.5
    assert body["by_city"][0]["name"] == "柳州市"
    patents = next(t for t in body["committed_vs_achieved"] if t["category"] == "patent_application")
    assert (patents["committed"], patents["achieved"], patents["projects"]) == ("3", "1", 1)
    client.cookies.clear()
    login(client, "grantee")
    assert client.get(f"/api/v1/programmes/{project.programme_id}/summary").status_code == 403


def test_the_task_book_form_sets_a_baseline(client, db, project):
    from tests.conftest import csrf_from

    login(client, "officer")
    form_page = client.get(f"/projects/{project.id}/task-book").text
    assert f'name="t{PATENTS}_baseline"' in form_page and "基线（开始时的数值）" in form_page
    bad = client.post(f"/projects/{project.id}/task-book", data={
        "_csrf_token": csrf_from(form_page), f"t{PATENTS}_baseline": "不详", "reason": "补充基线"})
    assert bad.status_code == 400 and "基线请填写数字" in bad.text and 'value="不详"' in bad.text
    done = client.post(f"/projects/{project.id}/task-book", data={
        "_csrf_token": csrf_from(form_page), f"t{PATENTS}_baseline": "1", "reason": "补充基线"},
        follow_redirects=False)
    assert done.status_code == 303
    assert "基线" in client.get(f"/projects/{project.id}").text
    db.expire_all()
    assert project.target_sets[-1].targets[PATENTS].baseline == 1


def test_the_admin_home_counts_what_the_system_holds(client, project):
    login(client, "admin")
    home = client.get("/").text
    assert "系统数据" in home and 'href="/admin/users"' in home and 'href="/admin/outbox?status=dead"' in home
    assert "预警项目" in home and "待办事项" not in home  # the officer's worklist is the officer's


def test_reasons_in_words_are_escaped_wherever_they_are_shown(client, db, project):
    """A reason quotes the task book's metric, which an officer may type: every page shows it as text."""
    from tracker.services import monitoring

    for target in project.target_sets[-1].targets:
        target.metric = '<script>alert("x")</script>' + target.metric
    monitoring.refresh_project(db, project, now=TODAY)
    assert any("<script>" in r for r in monitoring.assessment_of(db, project).reasons)
    db.flush()
    KEPT.clear()
    pages = {"officer": ["/", "/projects?risk=at_risk&sort=risk", f"/projects/{project.id}"], "grantee": ["/"]}
    for user, paths in pages.items():
        login(client, user)
        for path in paths:
            html = client.get(path).text
            assert "&lt;script&gt;alert(" in html, (user, path)
            assert '<script>alert("x")' not in html, (user, path)
        client.cookies.clear()  # signed out: the next login starts a fresh session


def test_the_officer_worklist_is_not_rebuilt_for_a_draft(client, db, project, monkeypatch):
    """The worklist (its rates and totals most of the home's cost at scale) is kept until what it rests on
    changes: a grantee saving a draft moves the data generation but does not rebuild it."""
    from tracker.services import dashboard, data_generation

    built = []
    real = dashboard.officer_worklist
    monkeypatch.setattr(dashboard, "officer_worklist",
                        lambda db, user, today: built.append(1) or real(db, user, today))
    terminated = build.demo_project(db, code="MON-T")
    db.commit()
    KEPT.clear()
    login(client, "officer")
    assert client.get("/").status_code == 200 and len(built) == 1
    before = data_generation.current(db)
    build.report(db, project, period=3, status="draft", values={PATENTS: ValueInput(value="2")})
    db.commit()
    assert data_generation.current(db) != before  # the draft moved the generation …
    assert client.get("/").status_code == 200 and len(built) == 1  # … the worklist stayed
    build.report(db, project, period=4, status="accepted", values={PATENTS: ValueInput(value="2")},
                 now=build.NOW + timedelta(minutes=5))
    db.commit()
    assert client.get("/").status_code == 200 and len(built) == 2  # an accepted report rebuilds it
    from tracker.services import project_changes

    project_changes.terminate(db, terminated, requested_on=TODAY.date(), reason="终止", actor=build.SYSTEM,
                              now=build.NOW + timedelta(minutes=6))
    db.commit()
    assert client.get("/").status_code == 200 and len(built) == 3  # so does a termination (no recompute)
