"""Projects from award rows: direction matching, inherited targets, all or nothing, idempotent by code."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from imports.guideline_loader import load_file
from indicators.identifiers import uscc_check_char
from tests import builders as build
from tracker.models import Organisation, Project, ProjectTarget, User
from tracker.services import indicator_review
from tracker.services.audit import Actor
from tracker.services.projects import ProjectInput, import_projects

SAMPLES = Path(__file__).resolve().parents[2] / "tracker" / "demo" / "samples"
SYSTEM = Actor.system("test")


def uscc(body: str) -> str:
    return body + uscc_check_char(body)


def row(n: int = 2, **changes) -> ProjectInput:
    base = ProjectInput(
        row=n, project_code=f"GK2025-{n:03d}", title="智能视频位移监测装备研发", direction="智能视频位移监测装备研发与应用",
        content_items=(), organisation_name="桂林某光电有限公司", uscc=uscc("91450300MA5L00XY0"), pi_name="李工",
        pi_phone="13900000000", pi_email="li@example.cn", officer=None, start_date=date(2025, 3, 1), end_date=None,
        period_months=None, fiscal_funding=Decimal("2000000.00"), self_funding=Decimal("6000000.00"),
        funding_mode=None)
    return replace(base, **changes)


@pytest.fixture
def guideline(db, now):
    """Seed 000, the real document the award rows name directions of."""
    return build.guideline(db, seed="000", now=now)


def test_a_row_becomes_a_project_with_inherited_targets(db, now, guideline, demo_users):
    result = import_projects(db, [row()], guideline, actor=Actor.of(demo_users["officer"]), now=now)
    assert result.ok and len(result.created) == 1
    project = result.created[0]
    assert project.end_date == date(2028, 2, 29)  # fixed 3 years from the signing date
    assert project.officer == demo_users["officer"] and project.status == "active"
    targets = project.target_sets[0].targets
    assert targets and all(t.source == "guideline" and t.clause_id for t in targets)
    revenue = [t for t in targets if t.category == "revenue"]
    assert revenue and revenue[0].value == Decimal("2000") and revenue[0].unit == "万元"
    assert project.funding_rule is not None and project.period_rule is not None


def test_new_organisations_get_a_grantee_account_with_an_activation_link(db, now, guideline, demo_users):
    result = import_projects(db, [row()], guideline, actor=SYSTEM, now=now)
    assert [o.uscc for o in result.new_organisations] == [row().uscc]
    username, token = result.activations[0]
    grantee = db.scalar(select(User).where(User.username == username))
    assert grantee.role == "grantee" and grantee.password_hash is None and len(token) > 20


def test_reimporting_the_same_rows_changes_nothing(db, now, guideline, demo_users):
    import_projects(db, [row()], guideline, actor=SYSTEM, now=now)
    counts = (db.scalar(select(func.count()).select_from(Project)),
              db.scalar(select(func.count()).select_from(ProjectTarget)))
    again = import_projects(db, [row()], guideline, actor=SYSTEM, now=now)
    assert again.ok and again.unchanged == [row().project_code] and not again.created
    assert counts == (db.scalar(select(func.count()).select_from(Project)),
                      db.scalar(select(func.count()).select_from(ProjectTarget)))


@pytest.mark.parametrize(("changes", "column", "words"), [
    ({"direction": "没有这个方向"}, "方向", "没有名为"),
    ({"direction": "子方向一：不存在"}, "方向", "没有名为"),
    ({"officer": "nobody"}, "项目管理专员", "找不到"),
    ({"end_date": date(2024, 1, 1)}, "实施期限", "晚于开始日期"),
    ({"period_months": 48}, "实施期限", ""),
])
def test_bad_rows_are_reported_and_nothing_is_written(db, now, guideline, demo_users, changes, column, words):
    result = import_projects(db, [row(2), row(3, **changes)], guideline, actor=SYSTEM, now=now)
    assert not result.ok and not result.created
    assert result.problems[0].row == 3 and result.problems[0].column == column and words in result.problems[0].message
    assert db.scalar(select(func.count()).select_from(Project)) == 0
    assert db.scalar(select(func.count()).select_from(Organisation)) == 1  # the demo organisation only


def test_an_ambiguous_title_asks_for_the_path_and_the_path_works(db, now, demo_users):
    from tracker.services.guidelines import ClauseInput, DocumentInput, NodeInput, store_guideline

    def leaf(city: str) -> NodeInput:
        return NodeInput(path=("联动", city, "碳酸钙"), title="碳酸钙", kind="direction", marker=None, line=3,
                         leaf=True, direction="碳酸钙", clauses=[ClauseInput(label="（1）", text="申请发明专利2件", line=4)],
                         period_rule={"rule": {"kind": "fixed", "months": 36}, "description": "3年"})
    nodes = [NodeInput(path=("联动",), title="联动", kind="section", marker="一、", line=1, leaf=False, direction="联动"),
             NodeInput(path=("联动", "贺州市"), title="贺州市", kind="paren_cn", marker="（一）", line=2, leaf=False,
                       direction="贺州市"), leaf("贺州市"),
             NodeInput(path=("联动", "梧州市"), title="梧州市", kind="paren_cn", marker="（二）", line=5, leaf=False,
                       direction="梧州市"), leaf("梧州市")]
    doc = store_guideline(db, DocumentInput(file_name="x.txt", title="同名方向", content_hash="f" * 64, format="txt",
                                            encoding="utf-8", lines=("",) * 6, flags=[], nodes=nodes),
                          actor=SYSTEM, now=now).document
    ambiguous = import_projects(db, [row(direction="碳酸钙")], doc, actor=SYSTEM, now=now)
    assert "不唯一" in str(ambiguous.problems[0]) and "请填写完整路径" in str(ambiguous.problems[0])
    by_path = import_projects(db, [row(direction="梧州市 / 碳酸钙")], doc, actor=SYSTEM, now=now)
    assert by_path.ok and by_path.created[0].node.path == ["联动", "梧州市", "碳酸钙"]


def test_a_changed_guideline_never_moves_an_awarded_project(db, now, guideline, demo_users, tmp_path):
    project = import_projects(db, [row()], guideline, actor=SYSTEM, now=now).created[0]
    before = [(t.metric, t.value) for t in project.target_sets[0].targets]
    changed = tmp_path / "000.txt"
    changed.write_text((SAMPLES / "000_01a6d56b3cde02ef.txt").read_text("utf-8").replace("超过2000万元", "超过9000万元"),
                       "utf-8")
    new = load_file(db, changed, actor=SYSTEM, now=now, programme_name=guideline.programme.name).document
    assert new.version == 2
    db.refresh(project)
    assert project.document_id == guideline.id
    assert [(t.metric, t.value) for t in project.target_sets[0].targets] == before


def test_officers_corrections_are_inherited(db, now, guideline, demo_users):
    from tests.conftest import demo_password_hash  # noqa: F401 - keeps the fixture module imported

    node_row = row()
    result = import_projects(db, [node_row], guideline, actor=SYSTEM, now=now, dry_run=True)
    assert result.ok and not result.created
    project_node = None
    from tracker.services.projects import leaf_index, match_direction

    project_node, _ = match_direction(leaf_index(db, guideline), node_row.direction)
    clause = project_node.clauses[0]
    fixed = {"category": "patent_application", "metric": "发明专利申请", "op": ">=", "value": 9, "unit": "件",
             "kind": "cumulative", "better": None}
    indicator_review.correct_clause(db, clause, [fixed], "all", "按任务书", actor=SYSTEM, now=now)
    project = import_projects(db, [node_row], guideline, actor=SYSTEM, now=now).created[0]
    first = [t for t in project.target_sets[0].targets if t.clause_id == clause.id]
    assert [(t.metric, t.value) for t in first] == [("发明专利申请", Decimal("9"))]


def test_cli_projects_import_reports_rows_and_is_idempotent(tmp_path, monkeypatch, capsys):
    import openpyxl

    from tracker import cli
    from tracker.settings import get_settings

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    get_settings.cache_clear()
    try:
        assert cli.main(["guidelines", "import", str(SAMPLES / "000_01a6d56b3cde02ef.txt"), "--programme", "联动"]) == 0
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(["立项清单（第一批）"])
        sheet.append(["编号", "项目名称", "所属方向", "项目承担单位", "统一社会信用代码", "负责人", "开始日期", "资助经费（万元）"])
        sheet.append(["GX-001", "位移监测", "智能视频位移监测装备研发与应用", "桂林某公司", row().uscc, "李工", "2025/3/1", "200"])
        good = tmp_path / "ok.xlsx"
        workbook.save(good)
        sheet.append(["GX-002", "坏行", "智能视频位移监测装备研发与应用", "桂林某公司", row().uscc[:-1] + "0", "王工",
                      "2025.2.30", "-5"])
        bad = tmp_path / "bad.xlsx"
        workbook.save(bad)
        assert cli.main(["projects", "import", str(bad), "--guideline", "联动"]) == 1
        err = capsys.readouterr().err
        assert "第4行 统一社会信用代码" in err and "第4行 开始日期" in err and "未写入任何数据" in err
        assert cli.main(["projects", "import", str(good), "--guideline", "联动", "--dry-run"]) == 0
        assert cli.main(["projects", "import", str(good), "--guideline", "联动"]) == 0
        assert "新建 1 个项目" in capsys.readouterr().out
        assert cli.main(["projects", "import", str(good), "--guideline", "联动"]) == 0
        assert "1 个已存在且一致" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_one_upload_reports_file_errors_and_database_errors_together(db, now, guideline):
    import io

    import openpyxl

    from imports.award_loader import preview_award_list

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人", "开始日期", "财政资助（万元）"])
    sheet.append(["A-1", "坏金额", "智能视频位移监测装备研发与应用", "某公司", row().uscc, "李", "2025/3/1", "-5"])
    sheet.append(["A-2", "坏方向", "没有这个方向", "某公司", row().uscc, "王", "2025/3/1", "10"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    preview = preview_award_list(db, "x.xlsx", buffer.getvalue(), guideline, actor=SYSTEM, now=now)
    assert [(p.row, p.column, p.cell) for p in preview.problems] == [(2, "财政资助（万元）", "H2"), (3, "方向", "C3")]
    assert db.scalar(select(func.count()).select_from(Project)) == 0


# --- a list is imported in bulk: the same rows, a number of statements that does not grow with the list ----------


def _rows(count: int, directions: list[str]) -> list[ProjectInput]:
    """`count` rows over the directions and three organisations, half with an officer."""
    organisations = [uscc(f"9145030{n}MA5L00XY0") for n in range(3)]
    return [row(n, direction=directions[n % len(directions)], uscc=organisations[n % 3],
                organisation_name=f"桂林第{n % 3}光电有限公司", officer="officer" if n % 2 else None,
                fiscal_funding=Decimal(1000 * n))
            for n in range(2, count + 2)]


def _count_statements(connection, action) -> int:
    from sqlalchemy import event

    statements = []

    def count(*_args) -> None:
        statements.append(1)

    event.listen(connection, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(connection, "before_cursor_execute", count)
    return len(statements)


def test_the_statements_of_an_import_do_not_grow_with_the_list(db, now, guideline, demo_users, connection):
    from tracker.services.projects import leaf_index

    directions = [" / ".join(leaf.path) for leaf in leaf_index(db, guideline)][:6]
    officer = Actor.of(demo_users["officer"])
    counts = {}
    for size in (12, 24):
        rows = _rows(size, directions)
        with db.begin_nested() as savepoint:
            dry = _count_statements(connection, lambda r=rows: import_projects(
                db, r, guideline, actor=officer, now=now, dry_run=True))
            results = []
            full = _count_statements(connection, lambda r=rows, out=results: out.append(import_projects(
                db, r, guideline, actor=officer, now=now)))
            assert results[0].ok and len(results[0].created) == size
            savepoint.rollback()
        counts[size] = (dry, full)
    assert counts[12] == counts[24], counts
    dry, full = counts[24]
    assert dry <= 10 and full <= 80, counts  # three new organisations and their accounts included


def test_a_list_writes_the_rows_one_row_at_a_time_wrote(db, now, guideline, demo_users, session_factory):
    import json

    from tracker.models import AuditEntry, GuidelineNode, TargetSet
    from tracker.services.audit import verify_chain
    from tracker.services.projects import inherited_targets, leaf_index

    leaves = leaf_index(db, guideline)
    indicator_review.correct_clause(db, leaves[1].clauses[0], [
        {"category": "patent_application", "metric": "发明专利申请", "op": ">=", "value": 9, "unit": "件",
         "kind": "cumulative", "better": None}], "all", "按任务书", actor=SYSTEM, now=now)
    corrected_period = {"rule": {"kind": "fixed", "months": 24}, "description": "2年"}
    indicator_review.correct_rule(db, leaves[2], "period", corrected_period, "改", actor=SYSTEM, now=now)
    db.commit()
    start = db.scalar(select(func.max(AuditEntry.id)))
    rows = _rows(9, [" / ".join(leaf.path) for leaf in leaves[:4]])
    result = import_projects(db, rows, guideline, actor=Actor.of(demo_users["officer"]), now=now, batch="b" * 64)
    assert result.ok and [p.code for p in result.created] == [r.project_code for r in rows]
    db.commit()
    ids = [p.id for p in result.created]
    assert ids == sorted(ids)  # in row order, as one INSERT per row gave them
    on_corrected = [p for p in result.created if p.node_id == leaves[2].id]
    assert on_corrected and all(p.period_rule == corrected_period and p.period_months == 24 for p in on_corrected)

    # The objects handed back are what another session reads.
    columns = [c.key for c in Project.__table__.columns]
    other = session_factory()
    try:
        for project in result.created:
            stored = other.get(Project, project.id)
            assert {c: getattr(project, c) for c in columns} == {c: getattr(stored, c) for c in columns}
    finally:
        other.close()

    # Targets: the direction's, corrections included, as inherited_targets makes them for one project.
    compared = [c.key for c in ProjectTarget.__table__.columns if c.key not in ("id", "target_set_id", "change_reason")]
    for project in result.created:
        (target_set,) = db.scalars(select(TargetSet).where(TargetSet.project_id == project.id)).all()
        assert (target_set.version, target_set.confirmed, target_set.reason) == (1, False, "立项时从指南方向继承")
        expected = inherited_targets(db, db.get(GuidelineNode, project.node_id))
        assert [[getattr(t, c) for c in compared] for t in target_set.targets] == \
               [[getattr(t, c) for c in compared] for t in expected]
        assert all(t.change_reason == "" for t in target_set.targets)
        assert [u.organisation_id for u in project.contacts] == [project.organisation_id]
    assert all(any(t.value == Decimal("9") and t.clause_id == leaves[1].clauses[0].id for t in p.target_sets[0].targets)
               for p in result.created if p.node_id == leaves[1].id)

    from tracker.services.projects import current_target_counts

    assert current_target_counts(db, ids) == {p.id: len(p.target_sets[-1].targets) for p in result.created}

    # The audit log: a new organisation and its account before the first of its projects, in row order.
    expected_log, seen = [], set()
    for project in result.created:
        if project.organisation_id not in seen:
            seen.add(project.organisation_id)
            grantee = db.scalar(select(User).where(User.organisation_id == project.organisation_id))
            expected_log += [("organisation_created", str(project.organisation_id)), ("user_created", str(grantee.id)),
                             ("activation_issued", str(grantee.id))]
        expected_log.append(("project_created", str(project.id)))
    log = db.scalars(select(AuditEntry).where(AuditEntry.id > start).order_by(AuditEntry.id)).all()
    assert [(e.action, e.object_id) for e in log] == expected_log
    first = result.created[0]
    assert json.loads(next(e.after for e in log if e.action == "project_created")) == {
        "code": first.code, "direction": first.node.path, "document": guideline.id,
        "targets": len(first.target_sets[0].targets)}
    assert verify_chain(db) == []


def test_bulk_insert_stores_what_sqlalchemy_stores(db, now, guideline, demo_users):
    """Values converted once (JSON None as JSON null, money quantized, aware times in UTC) are the values a Core
    INSERT would have stored."""
    from datetime import timedelta, timezone

    from sqlalchemy import insert

    from tracker.db import BulkInsert

    organisation = demo_users["grantee"].organisation
    node = guideline.nodes[-1]
    rule = {"rule": {"kind": "fixed", "months": 36}, "说明": "三年"}
    base = dict(title="t", programme_id=guideline.programme_id, document_id=guideline.id, node_id=node.id,
                content_items=["1"], organisation_id=organisation.id, pi_name="李", pi_phone=None, pi_email=None,
                officer_id=None, start_date=date(2025, 3, 1), end_date=date(2028, 2, 29), period_months=36,
                fiscal_funding=Decimal("1.005"), self_funding=Decimal("0"), funding_mode=None, funding_rule=None,
                selection_rule=rule, period_rule=rule, status="active", imported_batch=None, version=1,
                created_at=now.astimezone(timezone(timedelta(hours=8))))
    db.execute(insert(Project.__table__), [dict(base, code="CORE-1")])
    bulk = BulkInsert(db, Project.__table__, list(dict(base, code="")))
    bulk.execute([bulk.row(dict(base, code="BULK-1")), bulk.row(dict(base, code="BULK-2"))])
    columns = [c for c in Project.__table__.columns if c.key not in ("id", "code")]
    stored = db.execute(select(*columns).order_by(Project.id)).all()
    assert len(stored) == 3 and stored[0] == stored[1] == stored[2]
    raw = db.connection().exec_driver_sql("SELECT funding_rule FROM projects ORDER BY id").scalars().all()
    assert raw[0] == raw[1] == raw[2]  # JSON null, not SQL NULL, as SQLAlchemy stores None in a JSON column
    with pytest.raises(ValueError, match="not given"):
        bulk.row(dict(base, code="X", next_reminder_at=None))


def test_a_new_organisations_account_is_named_as_its_holder_would_type_it(db, now, guideline, demo_users):
    """The leader's e-mail address; when it is missing or already a user name, the organisation's code as its
    licence prints it (upper case), numbered when even that is taken. Never the lower-cased code."""
    from tracker.models import Role
    from tracker.services.accounts import create_user
    from tracker.services.projects import leaf_index

    taken = uscc("91450302MA5L00XY0")
    create_user(db, username=taken, password=None, role=Role.EXPERT, now=now, display_name="占用", actor=SYSTEM)
    direction = " / ".join(leaf_index(db, guideline)[0].path)
    rows = [row(2, direction=direction, uscc=uscc("91450300MA5L00XY0"), pi_email="Li.Gong@Example.cn"),
            row(3, project_code="GK2025-101", direction=direction, uscc=uscc("91450301MA5L00XY0"),
                organisation_name="桂林第二光电有限公司", pi_email="li.gong@example.cn"),  # the same leader
            row(4, project_code="GK2025-102", direction=direction, uscc=taken, organisation_name="桂林第三光电有限公司",
                pi_email=None)]
    result = import_projects(db, rows, guideline, actor=Actor.of(demo_users["officer"]), now=now)
    assert result.ok, result.problems
    names = [username for username, _token in result.activations]
    assert names == ["li.gong@example.cn", uscc("91450301MA5L00XY0"), f"{taken}-2"]
    for name in names:
        user = db.scalar(select(User).where(User.username == name))
        assert user.organisation is result.account_organisations[name]
