"""The JSON API (DESIGN §4): session cookie and bearer token, each endpoint's shape, the user's scope (another
scope's object answers exactly like a missing one), pagination, a constant number of queries, odd inputs
never give a 5xx, and the OpenAPI document (admins only, only /api/v1, off in production)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from sqlalchemy import event

from indicators.identifiers import uscc_check_char
from tests import builders as build
from tests.conftest import TEST_SECRET, login
from tracker import clock
from tracker.models import GuidelineNode
from tracker.services import accounts, indicator_review, sessions
from tracker.services.audit import Actor
from tracker.services.guidelines import ClauseInput, DocumentInput, NodeInput, store_guideline
from tracker.services.projects import ProjectInput, import_projects
from tracker.services.task_books import TargetChange, confirm_task_book
from tracker.web.controllers.api_reports import DRAFT_BODY, SUBMIT_BODY, input_from_json
from tracker.web.fragments import KEPT

SYSTEM = Actor.system("test")
DIRECTIONS = ["智能视频位移监测装备研发与应用", "光电混合集成封装关键技术研发", "稀土金属电解绿色低碳制备技术研发及应用"]
OTHER_USCC = "91450100MA5L00XX0" + uscc_check_char("91450100MA5L00XX0")
MISSING = 987654


def make_rows(n: int, uscc: str, *, start: int = 0, prefix: str = "GK") -> list[ProjectInput]:
    return [ProjectInput(row=i + 2, project_code=f"{prefix}-{i:04d}", title=f"项目{i}", direction=DIRECTIONS[i % 3],
                         content_items=(), organisation_name="柳州示范智能装备有限公司", uscc=uscc, pi_name="李工",
                         pi_phone="13900001111", pi_email=None, officer="officer", start_date=date(2025, 3, 1),
                         end_date=None, period_months=None, fiscal_funding=Decimal("1234567.8"),
                         self_funding=Decimal("3000000"), funding_mode=None) for i in range(start, n)]


def _tiny_guideline(name: str) -> DocumentInput:
    leaf = NodeInput(path=(name, "方向"), title="方向", kind="direction", marker=None, line=2, leaf=True,
                     direction="方向", clauses=[ClauseInput(label=None, text="申请发明专利1项以上", line=4, targets=[
                         {"category": "patent_application", "metric": "发明专利申请", "op": ">=", "value": 1,
                          "unit": "项"}])])
    root = NodeInput(path=(name,), title=name, kind="plan", marker=None, line=1, leaf=False, direction=name)
    return DocumentInput(file_name=f"{name}.txt", title=name, content_hash=name.encode().hex().ljust(64, "0"),
                         format="txt", encoding="utf-8", lines=(name, "方向", "研究内容：x", "考核指标：…"),
                         flags=[], nodes=[root, leaf])


@pytest.fixture
def world(db, now, demo_users):
    """The officer's programme (guideline 000) with three projects of the grantee's organisation and one of
    another organisation; a second programme the officer is not assigned to, with one project."""
    doc = build.guideline(db, seed="000", officer=demo_users["officer"], now=now)
    grantee_org = demo_users["grantee"].organisation
    own = import_projects(db, make_rows(3, grantee_org.uscc), doc, actor=SYSTEM, now=now).created
    other = import_projects(db, [dataclasses.replace(make_rows(1, OTHER_USCC)[0], project_code="OTHER-1")], doc,
                            actor=SYSTEM, now=now).created[0]
    foreign_doc = store_guideline(db, _tiny_guideline("他人计划"), actor=SYSTEM, now=now).document
    foreign_row = ProjectInput(**{**make_rows(1, OTHER_USCC)[0].__dict__, "project_code": "FOREIGN-1",
                                  "direction": "方向", "end_date": date(2026, 12, 31)})
    foreign = import_projects(db, [foreign_row], foreign_doc, actor=SYSTEM, now=now).created[0]
    db.commit()
    return {"doc": doc, "own": own, "other": other, "foreign_doc": foreign_doc, "foreign": foreign}


def as_user(client: TestClient, db, user) -> TestClient:
    """Sign the client in with a session cookie (no password hashing)."""
    client.cookies.set("tracker_session", sessions.start_session(db, user, now=clock.now(), ip="testclient"))
    db.commit()
    return client


def bearer(db, user) -> dict[str, str]:
    _row, token = accounts.create_api_token(db, user, "api-test", 30, actor=SYSTEM, now=clock.now())
    db.commit()
    return {"authorization": f"Bearer {token}"}


def _same_answer(a, b) -> None:
    assert a.status_code == b.status_code == 404
    assert a.json() == b.json()
    assert a.json()["status"] == 404 and a.json()["error"]


# --- authentication ------------------------------------------------------------------------------


def test_a_session_cookie_and_a_bearer_token_both_work(client, db, world, demo_users):
    login(client, "officer")  # a real browser login
    by_session = client.get("/api/v1/programmes")
    assert by_session.status_code == 200
    with TestClient(app=client.app) as api:
        by_token = api.get("/api/v1/programmes", headers=bearer(db, demo_users["officer"]))
    assert by_token.status_code == 200
    assert by_session.json() == by_token.json()
    assert by_token.headers["content-type"].startswith("application/json")


def test_anonymous_and_bad_tokens_get_json_401(client, world):
    anonymous = client.get("/api/v1/projects", follow_redirects=False)
    assert anonymous.status_code == 401 and anonymous.json()["status"] == 401  # JSON, not the login redirect
    bad = client.get("/api/v1/projects", headers={"authorization": "Bearer trk_nonsense"})
    assert bad.status_code == 401 and "令牌" in bad.json()["error"]


def test_a_grantee_may_not_browse_programmes(client, db, world, demo_users):
    response = client.get("/api/v1/programmes", headers=bearer(db, demo_users["grantee"]))
    assert response.status_code == 403
    assert response.json() == {"status": 403, "error": "您的角色无权访问此页面"}


def test_unsafe_methods_are_not_routes_this_round(client, db, world, demo_users):
    headers = bearer(db, demo_users["officer"])  # a bearer token without a cookie is exempt from CSRF
    for path in ("/api/v1/projects", f"/api/v1/projects/{world['own'][0].id}/targets"):
        response = client.post(path, headers=headers, json={})
        assert response.status_code == 405 and response.json()["status"] == 405


# --- programmes and directions --------------------------------------------------------------------


def test_programmes_are_the_users_with_their_current_document(client, db, world, demo_users):
    officer = client.get("/api/v1/programmes", headers=bearer(db, demo_users["officer"])).json()
    assert [p["id"] for p in officer["items"]] == [world["doc"].programme_id]
    document = officer["items"][0]["document"]
    assert document["id"] == world["doc"].id and document["version"] == 1
    assert document["leaf_count"] == 98 and isinstance(document["imported_at"], str)
    admin = client.get("/api/v1/programmes", headers=bearer(db, demo_users["admin"])).json()
    assert {p["id"] for p in admin["items"]} == {world["doc"].programme_id, world["foreign_doc"].programme_id}


def test_directions_with_effective_targets_and_rules(client, db, world, demo_users, now):
    # An officer's correction replaces the parsed targets (and is marked as such).
    leaf = db.query(GuidelineNode).filter_by(document_id=world["doc"].id, is_leaf=True,
                                             title=DIRECTIONS[0]).one()
    clause = leaf.clauses[0]
    corrected = [{"category": "paper", "metric": "论文", "op": ">=", "value": 2.5, "unit": "篇", "kind": "cumulative",
                  "better": "higher"}]
    indicator_review.correct_clause(db, clause, corrected, "all", "测试更正", actor=SYSTEM, now=now)
    indicator_review.correct_rule(db, leaf, "period", {"rule": {"months": 24}, "description": "不超过2年",
                                                       "text": "2年"}, "测试", actor=SYSTEM, now=now)
    db.commit()
    response = client.get(f"/api/v1/programmes/{world['doc'].programme_id}/directions",
                          headers=bearer(db, demo_users["officer"]))
    assert response.status_code == 200
    body = response.json()
    assert body["programme"]["id"] == world["doc"].programme_id
    assert body["programme"]["document"]["id"] == world["doc"].id
    assert len(body["items"]) == 98
    first = body["items"][0]
    assert set(first) >= {"id", "path", "title", "line", "clauses", "rules"}
    assert set(first["rules"]) == {"selection", "funding", "period"}
    by_id = {d["id"]: d for d in body["items"]}
    direction = by_id[leaf.id]
    assert direction["path"] == list(leaf.path) and direction["line"] == leaf.line
    got = direction["clauses"][0]
    assert got["corrected"] is True and got["correction_version"] == 1 and got["text"] == clause.text
    assert got["targets"] == [{"category": "paper", "metric": "论文", "op": ">=", "value": "2.5", "unit": "篇",
                               "kind": "cumulative", "better": "higher"}]
    assert direction["rules"]["period"]["corrected"] is True
    assert direction["rules"]["period"]["description"] == "不超过2年"
    # Parsed clauses: every target has the seven keys and a string (or null) value, never a float.
    for item in body["items"]:
        for c in item["clauses"]:
            assert set(c) >= {"label", "text", "line", "combine", "targets"}
            for t in c["targets"]:
                assert set(t) == {"category", "metric", "op", "value", "unit", "kind", "better"}
                assert t["value"] is None or isinstance(t["value"], str)
    described = [d["rules"]["period"]["description"] for d in body["items"] if d["rules"]["period"]]
    assert described and all(isinstance(text, str) for text in described)


def test_a_foreign_programme_answers_like_a_missing_one(client, db, world, demo_users):
    headers = bearer(db, demo_users["officer"])
    foreign = client.get(f"/api/v1/programmes/{world['foreign_doc'].programme_id}/directions", headers=headers)
    missing = client.get(f"/api/v1/programmes/{MISSING}/directions", headers=headers)
    _same_answer(foreign, missing)
    # Admin, finance and experts read every programme.
    admin = client.get(f"/api/v1/programmes/{world['foreign_doc'].programme_id}/directions",
                       headers=bearer(db, demo_users["expert"]))
    assert admin.status_code == 200 and len(admin.json()["items"]) == 1


def test_one_direction(client, db, world, demo_users):
    headers = bearer(db, demo_users["officer"])
    leaf = next(n for n in world["doc"].nodes if n.is_leaf and n.clauses)
    body = client.get(f"/api/v1/directions/{leaf.id}", headers=headers).json()
    assert body["id"] == leaf.id and body["document"]["id"] == world["doc"].id and body["is_current"] is True
    assert len(body["clauses"]) == len(leaf.clauses)
    inner = next(n for n in world["doc"].nodes if not n.is_leaf)
    foreign_leaf = next(n for n in world["foreign_doc"].nodes if n.is_leaf)
    _same_answer(client.get(f"/api/v1/directions/{foreign_leaf.id}", headers=headers),
                 client.get(f"/api/v1/directions/{MISSING}", headers=headers))
    # A heading is not a direction.
    assert client.get(f"/api/v1/directions/{inner.id}", headers=headers).status_code == 404


# --- projects -------------------------------------------------------------------------------------


def test_a_grantee_sees_only_their_organisations_projects(client, db, world, demo_users):
    headers = bearer(db, demo_users["grantee"])
    body = client.get("/api/v1/projects", headers=headers).json()
    assert sorted(p["code"] for p in body["items"]) == ["GK-0000", "GK-0001", "GK-0002"]
    assert body["total"] == 3 and body["page"] == 1 and body["pages"] == 1
    _same_answer(client.get(f"/api/v1/projects/{world['other'].id}", headers=headers),
                 client.get(f"/api/v1/projects/{MISSING}", headers=headers))
    _same_answer(client.get(f"/api/v1/projects/{world['other'].id}/targets", headers=headers),
                 client.get(f"/api/v1/projects/{MISSING}/targets", headers=headers))
    assert client.get(f"/api/v1/projects/{world['own'][0].id}/targets", headers=headers).status_code == 200


def test_an_officer_sees_their_programmes_projects_only(client, db, world, demo_users):
    headers = bearer(db, demo_users["officer"])
    codes = [p["code"] for p in client.get("/api/v1/projects", headers=headers).json()["items"]]
    assert codes == ["GK-0000", "GK-0001", "GK-0002", "OTHER-1"]
    _same_answer(client.get(f"/api/v1/projects/{world['foreign'].id}", headers=headers),
                 client.get(f"/api/v1/projects/{MISSING}", headers=headers))
    finance = client.get("/api/v1/projects", headers=bearer(db, demo_users["finance"])).json()
    assert finance["total"] == 5


def test_project_list_item_shape(client, db, world, demo_users):
    item = client.get("/api/v1/projects?q=GK-0001", headers=bearer(db, demo_users["officer"])).json()["items"][0]
    project = world["own"][1]
    assert item["id"] == project.id and item["code"] == "GK-0001" and item["title"] == "项目1"
    assert item["programme"] == {"id": world["doc"].programme_id, "name": world["doc"].programme.name}
    assert item["document"] == {"id": world["doc"].id, "version": 1}
    assert item["direction"]["path"][-1] == DIRECTIONS[1] and item["direction"]["id"] == project.node_id
    assert item["organisation"]["uscc"] == demo_users["grantee"].organisation.uscc
    assert item["organisation"]["city"] == "柳州市"
    assert item["officer"]["id"] == demo_users["officer"].id
    assert item["start_date"] == "2025-03-01" and item["end_date"] == project.end_date.isoformat()
    assert item["fiscal_funding_yuan"] == "1234567.80" and item["fiscal_funding_wan"] == "123.45678"
    assert item["self_funding_yuan"] == "3000000.00" and item["self_funding_wan"] == "300"
    assert item["status"] == "active" and item["status_label"] == "在研"
    assert item["task_book"] == {"state": "draft", "confirmed_version": None, "confirmed_at": None,
                                 "current_version": 1}


def test_filters_and_pagination(client, db, world, demo_users):
    headers = bearer(db, demo_users["officer"])

    def get(query: str):
        response = client.get(f"/api/v1/projects{query}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    first = get("?per_page=3")
    assert [p["code"] for p in first["items"]] == ["GK-0000", "GK-0001", "GK-0002"]
    assert (first["total"], first["pages"], first["per_page"]) == (4, 2, 3)
    second = get("?per_page=3&page=2")
    assert [p["code"] for p in second["items"]] == ["OTHER-1"]
    beyond = get("?per_page=3&page=9")
    assert beyond["items"] == [] and beyond["page"] == 9 and beyond["total"] == 4
    assert get("?per_page=100000")["per_page"] == 200
    assert get(f"?programme={world['doc'].programme_id}")["total"] == 4
    assert get(f"?programme={world['foreign_doc'].programme_id}")["total"] == 0  # not theirs: nothing
    assert get("?status=active")["total"] == 4 and get("?status=passed")["total"] == 0
    assert [p["code"] for p in get("?q=OTHER")["items"]] == ["OTHER-1"]
    assert get("?q=" + "项" * 500)["total"] == 0


@pytest.mark.parametrize("query", ["?page=-1", "?page=0", "?page=abc", "?page=²", "?per_page=0", "?per_page=-5",
                                   "?programme=²", "?programme=abc", "?status=nonsense", "?page=99999999999999"])
def test_odd_inputs_are_a_400_naming_the_parameter(client, db, world, demo_users, query):
    response = client.get(f"/api/v1/projects{query}", headers=bearer(db, demo_users["officer"]))
    assert response.status_code == 400, response.text
    name = query[1:].split("=")[0]
    assert response.json()["status"] == 400 and name in response.json()["error"]


@pytest.mark.parametrize("path", ["/api/v1/projects/-1", "/api/v1/projects/abc", "/api/v1/projects/²/targets",
                                  "/api/v1/directions/99999999999999999999999", "/api/v1/programmes/x/directions",
                                  "/api/v1/projects/99999999999999999999999/targets",
                                  "/api/v1/programmes/99999999999999999999999/directions",
                                  "/api/v1/nothing", "/api/v1/projects/1/nothing",
                                  # Beyond PostgreSQL's INTEGER ids (a 500 there before the API declared the range).
                                  "/api/v1/projects/2147483648", "/api/v1/programmes/3000000000/summary",
                                  "/api/v1/directions/9223372036854775807", "/api/v1/projects/4294967296/reports/1"])
def test_odd_paths_never_give_a_5xx(client, db, world, demo_users, path):
    response = client.get(path, headers=bearer(db, demo_users["admin"]))
    assert response.status_code in (400, 404), (response.status_code, response.text)
    assert response.json()["status"] == response.status_code


def test_the_list_runs_a_constant_number_of_queries(client, db, world, demo_users, now, engine):
    headers = bearer(db, demo_users["officer"])
    # Every relation of an item in play: a confirmed task book, an officer, several programmes' projects.
    confirm_task_book(db, world["own"][0], [], [], reason="", actor=SYSTEM, now=now)
    db.commit()

    def count_queries() -> tuple[int, int]:
        KEPT.clear()  # the list as built, not as kept (tracker.web.fragments)
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = client.get("/api/v1/projects?per_page=200", headers=headers)
            assert response.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen), len(response.json()["items"])

    count_queries()  # a token records its last use at most once a minute: not part of the list
    few, shown = count_queries()
    assert shown == 4
    import_projects(db, make_rows(30, demo_users["grantee"].organisation.uscc, start=3), world["doc"], actor=SYSTEM,
                    now=now)
    db.commit()
    many, shown = count_queries()
    assert shown == 31 and many == few


def test_directions_run_a_constant_number_of_queries(client, db, world, demo_users, engine):
    headers = bearer(db, demo_users["admin"])
    client.get("/api/v1/programmes", headers=headers)  # the token's last use is recorded here

    def count(programme_id: int) -> tuple[int, int]:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = client.get(f"/api/v1/programmes/{programme_id}/directions", headers=headers)
            assert response.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen), len(response.json()["items"])

    assert count(world["foreign_doc"].programme_id) == (count(world["doc"].programme_id)[0], 1)


def test_project_detail_and_targets(client, db, world, demo_users, now):
    project = world["own"][0]
    headers = bearer(db, demo_users["grantee"])
    draft = client.get(f"/api/v1/projects/{project.id}/targets", headers=headers).json()
    assert draft["project_id"] == project.id and draft["older_versions"] == []
    assert draft["current"]["version"] == 1 and draft["current"]["confirmed"] is False
    inherited = draft["current"]["targets"]
    assert inherited and inherited[0]["source"] == "guideline"
    keys = {"source", "label", "clause_text", "category", "metric", "op", "value", "unit", "kind", "better",
            "guideline_value", "change_reason"}
    assert all(keys <= set(t) for t in inherited)
    # Confirm the task book twice (raise a value the second time): version 2 is current, version 1 a summary.
    confirm_task_book(db, project, [], [], reason="", actor=SYSTEM, now=now)
    raised = next(t for t in project.target_sets[-1].targets if t.value is not None and t.op in (">=", ">"))
    confirm_task_book(db, project, [TargetChange(raised.position, str(raised.value + 1), raised.kind)], [],
                      reason="提高目标", actor=SYSTEM, now=now)
    db.commit()
    body = client.get(f"/api/v1/projects/{project.id}/targets", headers=headers).json()
    assert body["current"]["version"] == 2 and body["current"]["confirmed"] is True
    assert body["current"]["reason"] == "提高目标"
    assert [(v["version"], v["confirmed"], v["target_count"]) for v in body["older_versions"]] == [
        (1, True, len(inherited))]
    changed = body["current"]["targets"][raised.position]
    assert Decimal(changed["value"]) == raised.value + 1 and changed["value"] == str(int(raised.value + 1))
    assert Decimal(changed["guideline_value"]) == raised.guideline_value
    assert changed["change_reason"] == "任务书提高目标"
    detail = client.get(f"/api/v1/projects/{project.id}", headers=headers).json()
    assert detail["code"] == project.code and detail["targets"] == body
    assert detail["task_book"]["state"] == "confirmed" and detail["task_book"]["confirmed_version"] == 2
    assert set(detail["rules"]) == {"selection", "funding", "period"}
    assert detail["content_items"] == [] and detail["created_at"]


def test_an_expert_sees_no_projects_yet(client, db, world, demo_users):
    headers = bearer(db, demo_users["expert"])
    assert client.get("/api/v1/projects", headers=headers).json()["items"] == []
    assert client.get(f"/api/v1/projects/{world['own'][0].id}", headers=headers).status_code == 404


# --- the OpenAPI document -------------------------------------------------------------------------


def test_the_openapi_document_is_for_admins_and_lists_only_the_api(client, db, world, demo_users):
    response = client.get("/api/v1/openapi.json", headers=bearer(db, demo_users["admin"]))
    assert response.status_code == 200
    schema = response.json()
    paths = set(schema["paths"])
    assert "/api/v1/projects" in paths and "/api/v1/projects/{project_id}/targets" in paths
    assert "/api/v1/programmes/{programme_id}/directions" in paths and "/api/v1/directions/{node_id}" in paths
    assert all(path.startswith("/api/v1/") for path in paths)
    assert not any("/admin/" in path for path in paths) and "/api/v1/openapi.json" not in paths
    assert "ProjectList" in schema["components"]["schemas"]
    assert {p["name"] for p in schema["paths"]["/api/v1/projects"]["get"]["parameters"]} >= {
        "page", "per_page", "programme", "status", "q"}
    error = schema["paths"]["/api/v1/projects/{project_id}"]["get"]["responses"]["404"]
    assert "ApiError" in str(error)
    officer = client.get("/api/v1/openapi.json", headers=bearer(db, demo_users["officer"]))
    assert officer.status_code == 403
    assert client.get("/api/v1/openapi.json").status_code == 401


def test_no_documentation_ui_routes(app):
    paths = {route.path for route in app.routes}
    assert not any(word in path for path in paths for word in ("swagger", "redoc", "elements", "rapidoc",
                                                              "scalar", "/schema"))
    api_paths = sorted(path for path in paths if path.startswith("/api/"))
    assert api_paths == sorted([
        "/api/v1/programmes", "/api/v1/programmes/{programme_id:int}/directions", "/api/v1/directions/{node_id:int}",
        "/api/v1/projects", "/api/v1/projects/{project_id:int}", "/api/v1/projects/{project_id:int}/targets",
        "/api/v1/projects/{project_id:int}/progress", "/api/v1/projects/{project_id:int}/reports",
        "/api/v1/projects/{project_id:int}/assessment", "/api/v1/programmes/{programme_id:int}/summary",
        "/api/v1/projects/{project_id:int}/reports/{period:int}",
        "/api/v1/projects/{project_id:int}/reports/{period:int}/submit", "/api/v1/openapi.json"])


def test_the_openapi_document_is_off_in_production(settings, session_factory, db, world, demo_users):
    from tracker.web.app import create_app

    production = dataclasses.replace(settings, env="production", secure_cookies=True,
                                     allowed_hosts=("testserver.local",), secret_key=TEST_SECRET + "-production")
    app = create_app(production, session_factory=session_factory)
    assert app.openapi_config is None
    assert not any(route.path == "/api/v1/openapi.json" for route in app.routes)
    headers = bearer(db, demo_users["admin"])
    with TestClient(app=app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/openapi.json", headers=headers)
        assert response.status_code == 404 and response.json()["status"] == 404
        assert client.get("/api/v1/projects", headers=headers).status_code == 200  # the API itself stays on


def test_the_kept_project_list_follows_a_task_book_and_a_status(client, db, world, demo_users, now):
    headers = bearer(db, demo_users["grantee"])
    db.commit()

    def item(code: str) -> dict:
        return next(p for p in client.get("/api/v1/projects", headers=headers).json()["items"] if p["code"] == code)

    project = next(p for p in world["own"] if p.code == "GK-0001")
    before = item("GK-0001")
    assert before["status"] == "active" and before["task_book"]["state"] == "draft"
    assert item("GK-0001") == before  # kept
    project.status = "extended"
    db.commit()
    assert item("GK-0001")["status"] == "extended"
    confirm_task_book(db, project, [], [], reason="", actor=SYSTEM, now=now)
    db.commit()
    assert item("GK-0001")["task_book"]["state"] == "confirmed"


# --- the write bodies: declared in the document, read by the handlers' own parser ---------------------------

REPORT = "/api/v1/projects/{project_id}/reports/{period}"


def test_the_write_operations_declare_their_bodies(client, db, world, demo_users):
    schema = client.get("/api/v1/openapi.json", headers=bearer(db, demo_users["admin"])).json()
    for path, fields in ((REPORT, {"edit_lock", "values", "evidence", "funds", "narrative", "problems",
                                   "next_steps"}), (f"{REPORT}/submit", {"edit_lock"})):
        post = schema["paths"][path]["post"]
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert body["type"] == "object" and set(body["properties"]) == fields
        assert post["requestBody"]["required"] is False  # an empty body reads as {}
        assert "ReportOut" in str(post["responses"]["200"])
        assert "ReportProblemsOut" in str(post["responses"]["400"]) and "ReportProblemsOut" in str(
            post["responses"]["409"])
    ids = schema["paths"]["/api/v1/projects/{project_id}"]["get"]["parameters"][0]["schema"]
    assert (ids["minimum"], ids["maximum"]) == (1, 2**31 - 1)
    page = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/projects"]["get"]["parameters"]}
    assert page["page"]["type"] == "integer" and "active" in page["status"]["enum"]


def test_every_body_the_document_admits_passes_the_parsers_shape_checks(app):
    """Bodies generated from the document (schemathesis, as the G12 sweep does) never fail `input_from_json`."""
    schema = schemathesis.openapi.from_dict(app.openapi_schema.to_schema())
    operation = schema[REPORT]["POST"]

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def parses(case) -> None:
        if isinstance(case.body, dict):
            input_from_json(case.body)

    parses()


@pytest.mark.parametrize("body", [
    [], "x", 3, {"values": []}, {"values": {"x": {}}}, {"values": {"123456": {}}}, {"values": {"1": []}},
    {"values": {"1": {"value": []}}}, {"evidence": {}}, {"evidence": [1]}, {"evidence": [{}] * 51},
    {"evidence": [{"file_id": "3"}]}, {"evidence": [{"file_id": 2**40}]}, {"evidence": [{"file_id": 0}]},
    {"evidence": [{"file_id": True}]}, {"funds": []}, {"funds": {"fiscal_received": {}}}, {"edit_lock": "1"},
    {"edit_lock": 1.5}, {"edit_lock": False}, {"narrative": ["x"]},
])
def test_a_body_the_document_refuses_the_parser_refuses(body):
    assert not jsonschema_rs.validator_for(DRAFT_BODY.to_schema()).is_valid(body)
    with pytest.raises(ValueError):
        input_from_json(body)


def test_malformed_write_bodies_are_a_400_after_the_scope_check(client, db, world, demo_users):
    headers = bearer(db, demo_users["grantee"])
    own = f"/api/v1/projects/{world['own'][0].id}/reports/1"
    for url, body, word in ((own, {"evidence": [{"kind": "file", "file_id": 2**40}]}, "file_id"),
                            (own, {"values": []}, "values"), (f"{own}/submit", [], "JSON 对象"),
                            (f"{own}/submit", {"edit_lock": "3"}, "edit_lock")):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 400, response.text
        assert word in response.json()["error"] and response.json()["errors"]["form"]
    # Another organisation's project: 404 whatever the body.
    other = f"/api/v1/projects/{world['other'].id}/reports/1"
    assert client.post(other, json=[], headers=headers).status_code == 404
    assert client.post(f"{other}/submit", content=b"{not json", headers={**headers, "content-type": "application/json"}
                       ).status_code == 404
    assert jsonschema_rs.validator_for(SUBMIT_BODY.to_schema()).is_valid({"edit_lock": None})
