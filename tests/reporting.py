"""A project to report on, shared by the service, web and API tests of progress reports.

One project of the demo grantee's organisation under a programme assigned to the demo officer, with a
confirmed task book holding one target of every kind the report form treats differently.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from tracker.models import Organisation, Project, User
from tracker.services import accounts
from tracker.services.audit import Actor
from tracker.services.guidelines import ClauseInput, DocumentInput, NodeInput, store_guideline
from tracker.services.projects import ProjectInput, import_projects
from tracker.services.task_books import confirm_task_book

SYSTEM = Actor.system("test")
START = date(2025, 1, 1)
END = date(2026, 12, 31)
# Period 1 is 2025 Q1 (due 2025-04-15); on this day periods 1–5 are open and 1–4 are overdue.
TODAY = date(2026, 2, 10)
NOW = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)

# position → (category, metric, op, value, unit, kind), in task-book order.
CUSTOM = [
    ("patent_application", "申请发明专利", ">=", "3", "件", "cumulative"),
    ("revenue", "新增销售收入", ">=", "1000", "万元", "cumulative"),
    ("performance_metric", "抗拉强度", ">=", "1400", "MPa", "level"),
    ("platform", "建成中试平台", ">=", "1", "个", "deliverable"),
    ("revenue", "年产值", ">=", "5000", "万元/年", "cumulative"),
    ("impact", "取得显著经济效益", "", "", "", "qualitative"),
]
PATENTS, REVENUE, STRENGTH, PLATFORM, PER_YEAR, QUALITATIVE = range(6)


def _guideline(name: str) -> DocumentInput:
    leaf = NodeInput(path=(name, "方向"), title="方向", kind="direction", marker=None, line=2, leaf=True,
                     direction="方向", fields=[{"kind": "content", "label": "研究内容", "text": "x", "line": 3}],
                     clauses=[ClauseInput(label=None, text="申请发明专利3项以上", line=4)])
    root = NodeInput(path=(name,), title=name, kind="plan", marker=None, line=1, leaf=False, direction=name)
    return DocumentInput(file_name=f"{name}.txt", title=name, content_hash=name.encode().hex().ljust(64, "0")[:64],
                         format="txt", encoding="utf-8", lines=(name, "方向", "研究内容：x", "考核指标：…"),
                         flags=[], nodes=[root, leaf])


def reporting_project(db: Session, *, code: str = "RPT-1", uscc: str | None = None, programme: str = "报告测试计划",
                      confirm: bool = True, assign_to: str = "officer") -> Project:
    """Needs the demo_users fixture (the organisation and the officer)."""
    org = db.query(Organisation).order_by(Organisation.id).first()
    document = store_guideline(db, _guideline(programme), actor=SYSTEM, now=NOW).document
    officer = db.query(User).filter_by(username=assign_to).one()
    accounts.assign_programmes(db, officer, [*officer.programmes, document.programme], actor=SYSTEM, now=NOW)
    row = ProjectInput(row=2, project_code=code, title="报告测试项目", direction="方向", content_items=(),
                       organisation_name=org.name, uscc=uscc or org.uscc, pi_name="李", pi_phone=None, pi_email=None,
                       officer=None, start_date=START, end_date=END, period_months=None,
                       fiscal_funding=Decimal("2000000"), self_funding=Decimal("1000000"), funding_mode=None)
    result = import_projects(db, [row], document, actor=SYSTEM, now=NOW)
    assert result.ok, result.problems
    project = result.created[0]
    if confirm:
        new = [{"category": c, "metric": m, "op": op, "value": v, "unit": u, "kind": k} for c, m, op, v, u, k in CUSTOM]
        confirm_task_book(db, project, [], new, reason="", actor=SYSTEM, now=NOW)
    db.commit()
    return project
