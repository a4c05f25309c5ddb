"""The Excel export of the project list: one row per target, money in 万元, the list's filters and each role's
scope, user text never a formula (G19), no personal data (G34), a constant number of queries (DESIGN §5)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from indicators.identifiers import uscc_check_char
from tests import builders as build
from tests.builders import NOW, PATENTS, PER_YEAR, PLATFORM, QUALITATIVE, REVENUE, STRENGTH, TODAY
from tests.conftest import login
from tracker.exports.projects_xlsx import COLUMNS, load_projects, projects_workbook
from tracker.models import Project
from tracker.services import reports as report_service
from tracker.services.audit import Actor
from tracker.services.projects import ProjectInput, import_projects
from tracker.services.reports import EvidenceInput, ReportInput, ValueInput
from tracker.services.task_books import confirm_task_book

SYSTEM = Actor.system("test")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DIRECTIONS = [build.EVERY_KIND, build.FLAGGED, build.MILESTONES_PATH]
HEADERS = [c.title for c in COLUMNS]
NANNING = "91450100MA5L00XX0" + uscc_check_char("91450100MA5L00XX0")


def rows_for(n: int, uscc: str, *, start: int = 0, prefix: str = "EX") -> list[ProjectInput]:
    return [ProjectInput(row=i + 2, project_code=f"{prefix}-{i:04d}", title=f"项目{i}", direction=DIRECTIONS[i % 3],
                         content_items=(), organisation_name="某单位", uscc=uscc, pi_name="李工",
                         pi_phone="13900001111", pi_email="li@example.cn", officer="officer",
                         start_date=date(2025, 3, 1), end_date=None, period_months=None,
                         fiscal_funding=Decimal("1500000"), self_funding=Decimal("3000050.50"), funding_mode=None)
            for i in range(start, n)]


@pytest.fixture
def world(db, now, demo_users):
    doc = build.guideline(db, officer=demo_users["officer"], now=now)
    own = import_projects(db, rows_for(3, demo_users["grantee"].organisation.uscc), doc, actor=SYSTEM, now=now)
    foreign = import_projects(db, rows_for(1, NANNING, prefix="OTHER"), doc, actor=SYSTEM, now=now)
    assert own.ok and foreign.ok
    db.commit()
    return {"doc": doc, "own": own.created, "foreign": foreign.created[0]}


def export(client, query: str = ""):
    response = client.get("/projects/export.xlsx" + query)
    assert response.status_code == 200, response.text[:500]
    return response


def sheet_rows(response) -> list[dict[str, object]]:
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb["项目指标"]
    header = [c.value for c in ws[1]]
    assert header == HEADERS
    return [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=2)]


def test_one_row_per_target_with_money_in_wan(client, world):
    login(client, "officer")
    response = export(client)
    assert response.headers["content-type"].startswith(XLSX)
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and quote("项目清单-") in disposition
    rows = sheet_rows(response)
    project = world["own"][0]
    targets = project.target_sets[-1].targets
    mine = [r for r in rows if r["项目编号"] == project.code]
    assert len(mine) == len(targets) and len(rows) == sum(len(p.target_sets[-1].targets)
                                                           for p in [*world["own"], world["foreign"]])
    first = mine[0]
    assert first["项目名称"] == "项目0" and first["项目计划"] == world["doc"].programme.name
    assert first["方向"] == " / ".join(project.node.path)
    assert first["承担单位"] == "柳州示范智能装备有限公司" and first["城市"] == "柳州市"
    assert first["项目管理专员"] == project.officer.display_name and first["状态"] == "在研"
    assert first["开始日期"].date() == date(2025, 3, 1) and first["结束日期"].date() == project.end_date
    assert first["财政资助（万元）"] == 150  # 1,500,000 元
    assert first["自筹经费（万元）"] == pytest.approx(300.00505)  # exact, not rounded: 3,000,050.50 元
    assert first["指标来源"] == "指南继承（任务书未确认）"
    assert [r["指标"] for r in mine] == [t.metric for t in targets]
    revenue = next(t for t in targets if t.value is not None)
    row = mine[targets.index(revenue)]
    assert row["任务书目标值"] == pytest.approx(float(revenue.value)) and row["单位"] == revenue.unit
    assert row["指南目标值"] == pytest.approx(float(revenue.guideline_value))
    assert row["最新填报值"] is None and row["最新审核通过值"] is None  # no report yet
    assert row["填报期"] is None and row["审核状态"] is None
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb["项目指标"]
    assert ws.freeze_panes == "C2"
    assert ws.column_dimensions["B"].width > 20
    assert "季度进展报告" in ws.cell(row=1, column=HEADERS.index("最新填报值") + 1).comment.text
    assert "审核通过" in ws.cell(row=1, column=HEADERS.index("最新审核通过值") + 1).comment.text
    assert "为空" not in ws.cell(row=1, column=HEADERS.index("最新填报值") + 1).comment.text


def test_a_confirmed_task_book_is_exported_instead_of_the_draft(client, world, db, now):
    project = world["own"][1]
    target = next(t for t in project.target_sets[-1].targets if t.value is not None and t.op in (">=", ">"))
    from tracker.services.task_books import TargetChange

    confirm_task_book(db, project, [TargetChange(target.position, str(target.value + 7), target.kind)], [],
                      reason="", actor=SYSTEM, now=now)
    db.commit()
    login(client, "officer")
    rows = [r for r in sheet_rows(export(client)) if r["项目编号"] == project.code]
    assert {r["指标来源"] for r in rows} == {"任务书第1版（已确认）"}  # the draft, confirmed
    raised = rows[target.position]
    assert raised["任务书目标值"] == pytest.approx(float(target.value + 7))
    assert raised["指南目标值"] == pytest.approx(float(target.guideline_value))


def test_personal_data_is_not_exported(client, world):
    login(client, "admin")
    response = export(client)
    wb = load_workbook(io.BytesIO(response.content))
    texts = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert not any("13900001111" in t or "li@example.cn" in t or "李工" in t for t in texts)


def test_user_text_that_looks_like_a_formula_stays_text(client, world, db):
    project = world["own"][0]
    project.title = "=SUM(A1:A9)*HYPERLINK(\"http://x\")"
    world["own"][1].title = "@cmd"
    db.commit()
    login(client, "officer")
    wb = load_workbook(io.BytesIO(export(client).content))
    ws = wb["项目指标"]
    titles = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2) for r in range(2, ws.max_row + 1)}
    cell = titles[project.code]
    assert cell.value == project.title and cell.data_type == "s" and cell.quotePrefix
    assert titles[world["own"][1].code].data_type == "s"
    raw = wb_xml(export(client).content)
    assert b"<f>" not in raw


def wb_xml(data: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))


def test_the_filters_of_the_list_apply(client, world):
    login(client, "officer")
    codes = {r["项目编号"] for r in sheet_rows(export(client, "?city=4502"))}
    assert codes == {p.code for p in world["own"]}
    codes = {r["项目编号"] for r in sheet_rows(export(client, "?q=EX-0001"))}
    assert codes == {"EX-0001"}
    assert sheet_rows(export(client, "?status=terminated")) == []
    assert {r["项目编号"] for r in sheet_rows(export(client, "?programme=abc&city=xx&sort=nonsense"))} >= {"OTHER-0000"}
    assert sheet_rows(export(client, "?programme=%C2%B2&organisation=99999999999999999999"))  # ² is a digit to isdigit


def test_each_role_exports_only_its_scope(client, world):
    login(client, "grantee")
    codes = {r["项目编号"] for r in sheet_rows(export(client))}
    assert codes == {p.code for p in world["own"]}
    client.cookies.clear()
    login(client, "expert")
    assert sheet_rows(export(client)) == []  # experts see their acceptance cases only (none yet)


# --- the report columns ------------------------------------------------------------------------------


def report_input(*, patents, revenue, strength, done, year, lock=None, note="正在推进"):
    values = {PATENTS: ValueInput(value=patents), REVENUE: ValueInput(value=revenue),
              STRENGTH: ValueInput(value=strength), PLATFORM: ValueInput(done=done),
              PER_YEAR: ValueInput(year_value=year), QUALITATIVE: ValueInput(note=note)}
    evidence = [EvidenceInput(kind="certificate", identifier="中试平台验收报告2025-07", target=str(PLATFORM))]
    return ReportInput(values=values, evidence=evidence if done == "1" else [],
                       funds={"fiscal_received": "100", "fiscal_spent": "40"},
                       narrative="本季度完成了样机设计和专利申请。", edit_lock=lock)


def file_report(db, project, index, data, *, decision=None):
    """One period's report saved and submitted by the demo grantee, then accepted or returned if asked."""
    return build.report(db, project, period=index, status=decision or "submitted", data=data, today=TODAY, now=NOW)


def decide(db, report, demo_users, decision, comment=""):
    report_service.review(db, report, decision=decision, comment=comment, lock=report.lock,
                          actor=Actor.of(demo_users["officer"], "127.0.0.1"), now=NOW)
    db.commit()


def report_rows(response, project) -> dict[int, dict[str, object]]:
    """Target position → row of the project (the task book's order)."""
    return dict(enumerate(r for r in sheet_rows(response) if r["项目编号"] == project.code))


def cells_of(response, project, title) -> list:
    """The cells of one column for the project's rows (to check the cell types)."""
    ws = load_workbook(io.BytesIO(response.content))["项目指标"]
    column = HEADERS.index(title)
    return [row[column] for row in ws.iter_rows(min_row=2) if row[0].value == project.code]


def test_the_latest_submitted_and_the_accepted_values(client, world, db, demo_users):
    project = build.demo_project(db)
    file_report(db, project, 1, report_input(patents="2", revenue="300", strength="1380", done="0", year="1200"),
                decision="accepted")
    file_report(db, project, 2, report_input(patents="2", revenue="400", strength="1350", done="0", year="1300"),
                decision="accepted")
    report = file_report(db, project, 3, report_input(patents="3", revenue="500", strength="1420", done="1",
                                                      year="1500", note="=HYPERLINK(\"http://x\")"))  # not reviewed
    login(client, "officer")
    response = export(client)
    rows = report_rows(response, project)
    assert {r["填报期"] for r in rows.values()} == {"2025年第3季度"}
    assert {r["审核状态"] for r in rows.values()} == {"已提交（待审核）"}
    got = {p: (r["最新填报值"], r["最新审核通过值"]) for p, r in rows.items()}
    assert got[PATENTS] == (3, 2)  # cumulative: the newest submission, and the latest accepted period's total
    assert got[REVENUE] == (500, 400)
    assert got[STRENGTH] == (1420, 1380)  # level: the best accepted measurement, not the latest (1350)
    assert got[PLATFORM] == ("已完成", "未完成")  # done only once an accepted report says so
    assert got[PER_YEAR] == (1500, 1300)  # per-year: the year value
    assert got[QUALITATIVE] == ("=HYPERLINK(\"http://x\")", "正在推进")
    reported = cells_of(response, project, "最新填报值")
    assert [c.data_type for c in reported[:3]] == ["n", "n", "n"]  # numbers, not text
    assert reported[QUALITATIVE].data_type == "s" and reported[QUALITATIVE].quotePrefix  # G19
    assert b"<f>" not in wb_xml(response.content)
    assert all(r["最新填报值"] is None and r["最新审核通过值"] is None and r["填报期"] is None
               for r in sheet_rows(response) if r["项目编号"] == world["own"][0].code)  # no reports: empty

    decide(db, report, demo_users, "returned", "请补充中试平台的验收材料")
    draft = report_service.start_revision(db, project, report, lock=report.lock,
                                          actor=Actor.of(demo_users["grantee"], "127.0.0.1"), now=NOW,
                                          today=TODAY, open_days=15)
    db.commit()
    rows = report_rows(export(client), project)  # the returned version is still the newest submitted one
    assert rows[PATENTS]["审核状态"] == "已退回" and rows[PATENTS]["最新填报值"] == 3
    assert rows[PLATFORM]["最新审核通过值"] == "未完成"

    file_report(db, project, 3, report_input(patents="4", revenue="520", strength="1410", done="1", year="1500",
                                             lock=draft.edit_lock), decision="accepted")
    rows = report_rows(export(client), project)
    assert rows[PATENTS]["审核状态"] == "审核通过"
    got = {p: (r["最新填报值"], r["最新审核通过值"]) for p, r in rows.items()}
    assert got[PATENTS] == (4, 4) and got[REVENUE] == (520, 520) and got[STRENGTH] == (1410, 1410)
    assert got[PLATFORM] == ("已完成", "已完成") and got[PER_YEAR] == (1500, 1500)


def test_a_draft_is_not_a_submitted_value(client, world, db):
    project = build.demo_project(db)
    build.report(db, project, status="draft", data=report_input(patents="2", revenue="300", strength="1380",
                                                                done="0", year="1200"), today=TODAY, now=NOW)
    login(client, "officer")
    rows = report_rows(export(client), project)
    assert rows and all(r["最新填报值"] is None and r["最新审核通过值"] is None and r["填报期"] is None
                        for r in rows.values())


def test_values_follow_their_target_by_position_into_a_new_task_book(db, world):
    """A report answers task book 1; the officer then raises a target (task book 2): the values still match."""
    from tracker.services.task_books import TargetChange

    project = build.demo_project(db)
    file_report(db, project, 1, report_input(patents="2", revenue="300", strength="1380", done="0", year="1200"),
                decision="accepted")
    patents = project.target_sets[-1].targets[PATENTS]
    confirm_task_book(db, project, [TargetChange(PATENTS, "5", patents.kind)], [], reason="上调",
                      actor=SYSTEM, now=NOW)
    db.commit()
    exported = next(e for e in load_projects(db) if e.project.id == project.id)
    wb = load_workbook(io.BytesIO(projects_workbook([exported])))
    rows = [dict(zip(HEADERS, row, strict=True)) for row in wb["项目指标"].iter_rows(min_row=2, values_only=True)]
    assert {r["指标来源"] for r in rows} == {"任务书第2版（已确认）"}
    assert rows[PATENTS]["任务书目标值"] == 5
    assert (rows[PATENTS]["最新填报值"], rows[PATENTS]["最新审核通过值"]) == (2, 2)
    assert rows[STRENGTH]["最新审核通过值"] == 1380


def test_the_export_runs_a_constant_number_of_queries(client, world, db, now, engine, demo_users):
    def history(project):
        file_report(db, project, 1, report_input(patents="2", revenue="300", strength="1380", done="0",
                                                 year="1200"), decision="accepted")
        file_report(db, project, 2, report_input(patents="3", revenue="400", strength="1400", done="1",
                                                 year="1300"))

    history(build.demo_project(db))
    login(client, "officer")

    def count_queries() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            export(client)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = count_queries()
    more = import_projects(db, rows_for(30, demo_users["grantee"].organisation.uscc, start=3), world["doc"],
                           actor=SYSTEM, now=now)
    assert more.ok and len(more.created) == 27
    for i in (2, 3):
        history(build.demo_project(db, code=f"RPT-{i}", programme=f"报告测试计划{i}"))
    db.commit()
    client.cookies.clear()
    login(client, "officer")  # a change of the officer's programmes ends their sessions
    assert count_queries() == few
    rows = sheet_rows(export(client))
    assert {r["最新审核通过值"] for r in rows if r["项目编号"] == "RPT-3" and r["指标"] == "发明专利申请"} == {2}


def test_the_workbook_builder_for_the_command_line(db, world):
    """`tracker export projects PATH`: load_projects + projects_workbook, no web layer."""
    project = world["own"][2]
    project.target_sets[-1].targets.clear()  # a project without targets still has its row
    db.commit()
    projects = load_projects(db)
    assert [p.project.code for p in projects] == sorted(p.code for p in db.scalars(select(Project)))
    wb = load_workbook(io.BytesIO(projects_workbook(projects)))
    ws = wb["项目指标"]
    empty = [row for row in ws.iter_rows(min_row=2, values_only=True) if row[0] == project.code]
    assert len(empty) == 1 and empty[0][HEADERS.index("指标")] is None
    notes = {a: b for a, b in wb["说明"].iter_rows(values_only=True)}
    assert notes["项目数"] == len(projects) and notes["范围"] == "全部项目"
