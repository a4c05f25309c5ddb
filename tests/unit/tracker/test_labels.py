"""Every code the pages show has its words (tracker.services.labels).

The audit actions are collected from the source itself, so an action added anywhere fails here until it has a
label: the action argument of every `audit.record(...)`, `PendingEntry(...)` and the demo's recording helpers,
plus the route names a request is recorded under when no service recorded it (tracker.web.context).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from imports.guideline_model import FlagKind
from indicators.reading.targets import FLAG_KINDS
from tracker.models import ReviewDecision, Role
from tracker.services import labels
from tracker.services.twins import KIND as TWIN_KIND
from tracker.templating import clause_marks, nest_quotes

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [p for package in ("tracker", "imports", "reminders") for p in (ROOT / package).rglob("*.py")]
# The recording calls and where their action argument sits: audit.record(db, actor, ACTION, …),
# PendingEntry(actor, ACTION, …), and the demo's own helpers self._record / self._audit(actor, ACTION, …).
ACTION_ARGUMENT = {"record": 2, "PendingEntry": 1, "_record": 1, "_audit": 1}
# The f-string actions and the values their placeholder takes (kept in step with the code by the test below).
TEMPLATED = {
    "report_{}": [d.value for d in ReviewDecision],  # services.reports.review
    "{}_rule_corrected": ["selection", "funding", "period"],  # services.indicator_review.correct_rule
}


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _strings(node: ast.expr) -> tuple[set[str], set[str]]:
    """The literal actions an expression can give (plain strings) and its f-string shapes (`report_{}`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}, set()
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body), _strings(node.orelse)
        return a[0] | b[0], a[1] | b[1]
    if isinstance(node, ast.BoolOp):  # `_route_name(scope) or "unknown"`
        found: tuple[set[str], set[str]] = (set(), set())
        for value in node.values:
            more = _strings(value)
            found = (found[0] | more[0], found[1] | more[1])
        return found
    if isinstance(node, ast.JoinedStr):
        shape = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        return set(), {shape}
    return set(), set()


def recorded_actions() -> tuple[set[str], set[str]]:
    literals: set[str] = set()
    shapes: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            position = ACTION_ARGUMENT.get(_name(node.func))
            if position is None or len(node.args) <= position:
                continue
            found, templates = _strings(node.args[position])
            literals |= found
            shapes |= templates
    return literals, shapes


def write_routes() -> set[str]:
    """The names of the routes that change something: a request to one is audited under its name when refused."""
    from tracker.web.app import create_app

    names = set()
    for route in create_app().routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.http_methods & {"POST", "PUT", "PATCH", "DELETE"}:
                names.add(handler.name)
    return names


def test_the_scan_finds_the_recording_calls():
    literals, shapes = recorded_actions()
    # A few known ones, so that a change of the calls' shape cannot make the scan find nothing and pass.
    assert {"login", "login_failed", "report_submit", "project_created", "disbursement_created", "unknown",
            "acceptance_verdict_superseded", "password_reset", "api_token_created"} <= literals
    assert shapes == set(TEMPLATED), "a new f-string action: add its values to TEMPLATED and labels"


def test_every_recorded_action_has_words():
    literals, shapes = recorded_actions()
    expanded = {shape.replace("{}", value) for shape in shapes for value in TEMPLATED.get(shape, [])}
    missing = sorted(a for a in literals | expanded | write_routes() if a not in labels.ACTION_LABELS)
    assert not missing, f"audit actions without a label in tracker/services/labels.py: {missing}"


def test_every_flag_kind_has_words():
    kinds = set(FLAG_KINDS) | {str(k) for k in FlagKind} | {TWIN_KIND}
    missing = sorted(k for k in kinds if k not in labels.FLAG_LABELS)
    assert not missing, f"flag kinds without a label in tracker/services/labels.py: {missing}"
    assert set(FLAG_KINDS) | {TWIN_KIND} <= set(labels.READING_FLAGS)  # the review queue's filter lists them


def test_every_role_and_system_actor_has_words():
    assert all(labels.role(r.value) != r.value for r in Role)
    assert labels.role("system") == "系统" and labels.role("anonymous") == "未登录访客"
    assert labels.actor("demo", None, "system") == "系统（演示数据）"
    assert labels.actor("demo", None, "grantee") == "系统（演示数据）"  # the demo acting as a grantee
    assert labels.actor("nightly", None, "system") == "系统"
    assert labels.actor("officer", 3, "officer") == "officer"  # a person: their user name


@pytest.mark.parametrize(("code", "words"), [
    ("ok", "成功"), ("locked", "失败：账号暂时锁定"), ("invalid", "失败：用户名或密码错误"),
    ("refused:403", "被拒绝：无权操作"), ("refused:404", "被拒绝：对象不存在或无权查看"), ("refused:418", "被拒绝"),
])
def test_results_in_words(code, words):
    assert labels.result(code) == words


def test_an_unknown_code_shows_as_itself_rather_than_failing_the_page():
    assert labels.action("brand_new") == "brand_new" and labels.flag(None) == ""


def test_quotes_inside_quotes_are_single_quotes():
    assert nest_quotes("第4行方向““人工智能+”创新技术研究”没有考核指标") == "第4行方向“‘人工智能+’创新技术研究”没有考核指标"
    assert nest_quotes("“甲”和“乙”") == "“甲”和“乙”"
    assert nest_quotes("多余的”") == "多余的”"


def test_clause_marks_number_the_unmarked_clauses():
    class T:
        def __init__(self, label, clause_id):
            self.label, self.clause_id = label, clause_id

    targets = [T("", 7), T("", 7), T(None, 9), T("（3）", 11), T(None, None)]
    assert clause_marks(targets) == [1, 1, 2, "（3）", ""]
