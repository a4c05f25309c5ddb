"""Personal API tokens are for /api/v1/ only (DESIGN §4), and they end with the password (#25 finding 2).

A token used to be a full, CSRF-exempt login on every page: it could mint a longer-lived token, create an admin
user and reach the password form, and it outlived a password change."""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from tests.conftest import DEMO_PASSWORD, csrf_from, login
from tracker import clock
from tracker.models import ApiToken, AuditEntry, Role, User
from tracker.services import accounts
from tracker.services.audit import Actor

SYSTEM = Actor.system("test")


def token_of(db, user: User, days: int = 7) -> str:
    _row, token = accounts.create_api_token(db, user, "cli", days, actor=SYSTEM, now=clock.now())
    db.commit()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path", "data"), [
    ("POST", "/account/tokens", {"name": "longer", "days": "365"}),
    ("POST", "/account/password", {"old_password": DEMO_PASSWORD, "password": "另一个很长的新密码abc", "confirm": "x"}),
    ("GET", "/account", None),
    ("GET", "/", None),
    ("GET", "/projects", None),
])
def test_a_grantee_token_opens_no_page(app, db, demo_users, method, path, data):
    token = token_of(db, demo_users["grantee"])
    with TestClient(app=app) as client:
        response = client.request(method, path, data=data, headers=bearer(token), follow_redirects=False)
    assert response.status_code == 401
    assert "/api/v1/" in response.text
    assert db.scalar(select(ApiToken).where(ApiToken.name == "longer")) is None


def test_an_admin_token_cannot_create_users(app, db, demo_users):
    token = token_of(db, demo_users["admin"])
    with TestClient(app=app) as client:
        response = client.post("/admin/users/new", headers=bearer(token), follow_redirects=False,
                               data={"username": "intruder", "role": "admin", "display_name": "x"})
    assert response.status_code == 401
    assert db.scalar(select(User).where(User.username == "intruder")) is None


def test_the_token_still_works_on_the_api(app, db, demo_users):
    token = token_of(db, demo_users["officer"])
    with TestClient(app=app) as client:
        assert client.get("/api/v1/programmes", headers=bearer(token)).status_code == 200
        assert client.get("/api/v1/openapi.json", headers=bearer(token_of(db, demo_users["admin"]))).status_code == 200


def test_a_session_cookie_with_a_stray_token_header_still_opens_pages(client, db, demo_users):
    # A browser extension may add the header; the session decides, and CSRF still applies.
    login(client, "officer")
    response = client.get("/account", headers=bearer(token_of(db, demo_users["officer"])))
    assert response.status_code == 200


def test_changing_the_password_ends_every_token(client, db, demo_users):
    user = demo_users["grantee"]
    token = token_of(db, user, days=365)
    login(client, "grantee")
    page = client.get("/account").text
    assert "全部令牌立即失效" in page  # said where the tokens are made
    new = "绿城南宁科技项目跟踪2026"
    response = client.post("/account/password", data={"_csrf_token": csrf_from(page), "old_password": DEMO_PASSWORD,
                                                      "password": new, "confirm": new}, follow_redirects=False)
    assert response.status_code in (200, 303)
    with TestClient(app=client.app) as api:
        assert api.get("/api/v1/projects", headers=bearer(token)).status_code == 401
    db.expire_all()
    assert db.scalar(select(ApiToken).where(ApiToken.user_id == user.id)).revoked_at is not None
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "password_changed"))
    assert json.loads(entry.after) == {"api_tokens_revoked": 1}


def test_an_admin_password_reset_ends_tokens_sessions_and_the_old_password(app, client, db, demo_users):
    user = demo_users["grantee"]
    token = token_of(db, user, days=90)
    with TestClient(app=app) as grantee:
        login(grantee, "grantee")
        assert grantee.get("/account").status_code == 200
        login(client, "admin")
        page = client.get(f"/admin/users/{user.id}").text
        assert "重置密码" in page
        response = client.post(f"/admin/users/{user.id}/activation", data={"_csrf_token": csrf_from(page)})
        assert response.status_code == 200 and "/activate/" in response.text
        assert grantee.get("/account", follow_redirects=False).status_code == 303  # the session is gone
    with TestClient(app=app) as api:
        assert api.get("/api/v1/projects", headers=bearer(token)).status_code == 401
    with TestClient(app=app) as again:
        assert login(again, "grantee").status_code != 303  # the old password no longer signs in
    db.expire_all()
    assert db.get(User, user.id).password_hash is None


def test_a_new_accounts_activation_link_revokes_nothing(db, demo_users):
    # Issuing the first link for an account that never had a password is not a reset.
    user = accounts.create_user(db, username="new-officer", password=None, role=Role.OFFICER, now=clock.now(),
                                display_name="新同事", actor=SYSTEM)
    accounts.issue_activation(db, user, actor=SYSTEM, now=clock.now())
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "password_reset")) is None
