"""A NUL byte in any input is refused at the edge with the field's name and changes nothing (#25 finding 3).

PostgreSQL cannot hold a NUL in text: before the fix, an anonymous `POST /login` with `username=adm%00in`, a
`?q=a%00b` on a list or a report narrative sent through the API answered 500, and the log kept the submitted
text in the failed statement's parameters. CI runs this file on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests import builders as build
from tests.conftest import csrf_from
from tests.web.test_route_policy import World, _client_for, _csrf, _fill, app_routes
from tracker import clock
from tracker.db import make_engine
from tracker.models import ReportVersion
from tracker.services import accounts
from tracker.services.audit import Actor

NUL = "\x00"


def test_anonymous_login_with_a_nul_in_the_user_name(client, db, caplog):
    caplog.set_level(logging.INFO)
    page = client.get("/login").text
    response = client.post("/login", data={"_csrf_token": csrf_from(page), "username": f"adm{NUL}in",
                                           "password": "whatever-secret", "next": "/"})
    assert response.status_code == 400
    assert "空字符" in response.text and "username" in response.text
    assert "whatever-secret" not in caplog.text and f"adm{NUL}in" not in caplog.text


@pytest.mark.parametrize("path", ["/projects?q=a%00b", "/admin/audit?q=%00", "/admin/users?q=a%00",
                                  "/guidelines/search?q=%E4%B8%93%00", "/api/v1/projects?q=a%00b",
                                  "/projects?st%00atus=x"])
def test_a_nul_in_a_query_parameter(client, demo_users, path):
    from tests.conftest import login

    login(client, "admin")
    response = client.get(path)
    assert response.status_code == 400, response.text[:300]
    assert "空字符" in response.text


def test_a_nul_in_the_path_is_simply_not_found(client, demo_users):
    from tests.conftest import login

    login(client, "admin")
    assert client.get("/activate/abc%00def").status_code == 404


def test_a_nul_in_an_api_narrative_names_the_field_and_writes_nothing(app, db, demo_users):
    project = build.demo_project(db)
    _row, token = accounts.create_api_token(db, demo_users["grantee"], "t", 30, actor=Actor.system(), now=clock.now())
    db.commit()
    versions = db.scalar(select(func.count()).select_from(ReportVersion))
    with TestClient(app=app) as client:
        response = client.post(f"/api/v1/projects/{project.id}/reports/1", headers={"authorization": f"Bearer {token}"},
                               json={"edit_lock": None, "values": {}, "narrative": f"进展{NUL}顺利"})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"narrative": body["error"]} and "空字符" in body["error"]
    assert db.scalar(select(func.count()).select_from(ReportVersion)) == versions


def test_a_nul_in_an_uploaded_file_name(client, db, demo_users):
    from tests.conftest import login

    login(client, "officer")
    token = csrf_from(client.get("/guidelines/upload").text)
    response = client.post("/guidelines/upload", data={"_csrf_token": token},
                           files={"file": (f"指南{NUL}.txt", "一、计划\n".encode(), "text/plain")})
    # Refused at the edge, or the name cleaned of control characters before it is kept: never a 500.
    assert response.status_code < 500 and NUL not in response.text


ROLES_THAT_WRITE = ["anonymous", "grantee", "officer", "finance", "expert", "admin"]


@pytest.mark.parametrize("role", ROLES_THAT_WRITE)
def test_no_route_answers_a_nul_with_a_server_error(app, db, demo_users, role):
    """Every route, as each role: a NUL in a query parameter, a form field and a JSON string."""
    now = clock.now()
    world = World(db, now, app.state.settings)
    client, actor = _client_for(app, db, world, role, now)
    routes = [(case, _fill(case.path, world.params(actor, True))) for case in app_routes(app)]
    before = _row_counts(db)
    refused = 0
    try:
        token = _csrf(client)
        for case, path in routes:
            if case.method == "GET":
                response = client.get(path, params={"q": f"x{NUL}"}, follow_redirects=False)
            elif path.startswith("/api/"):
                response = client.request(case.method, path, json={"narrative": NUL, "values": {NUL: 1}},
                                          headers={"x-csrftoken": token}, follow_redirects=False)
            else:
                response = client.request(case.method, path, data={"_csrf_token": token, "name": f"a{NUL}",
                                                                   "title": NUL, "q": NUL}, follow_redirects=False)
            assert response.status_code < 500, (case, response.status_code, response.text[:300])
            refused += response.status_code == 400
    finally:
        client.__exit__(None, None, None)
    # Most routes were refused at the edge (the rest turned the role away first); nothing was written.
    assert refused > (20 if role != "anonymous" else 0)
    db.expire_all()
    after = _row_counts(db)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert set(changed) <= {"auth_sessions"}, changed


# The refusals leave their audit rows (G26) and the client's sign-in its session; nothing else may change.
UNCOUNTED = {"audit_log", "login_attempts"}


def _row_counts(db) -> dict[str, int]:
    from tracker.db import Base

    return {table.name: db.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables if table.name not in UNCOUNTED}


def test_failed_statements_never_carry_their_parameters(engine):
    """What the log gets when a statement fails: the SQL, not the values users typed."""
    url = engine.url.render_as_string(hide_password=False)
    with make_engine(url).connect() as connection, pytest.raises(DBAPIError) as failure:
        connection.execute(text("SELECT name FROM no_such_table WHERE name = :v"), {"v": "secret-typed-text"})
    assert "no_such_table" in str(failure.value)
    assert "secret-typed-text" not in str(failure.value)


@pytest.mark.parametrize("path", ["/projects/2147483648", "/admin/users/2147483648", "/projects/2147483648/reports/1",
                                  "/disbursements/2147483648", "/evidence/9223372036854775807"])
def test_an_id_no_column_can_hold_is_not_found(client, demo_users, path):
    """Found by the G12 sweep: on PostgreSQL an id above 2**31-1 (INTEGER columns) aborted the transaction, and
    even the error page failed on it (500)."""
    from tests.conftest import login

    login(client, "admin")
    assert client.get(path).status_code == 404
