"""Login, logout and sessions kept in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from tests.conftest import csrf_from, login
from tracker.demo.accounts import DEMO_USERS
from tracker.models import AuthSession


def session_cookie(client) -> str:
    return client.cookies.get("tracker_session", "")


def test_anonymous_is_sent_to_login(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


@pytest.mark.parametrize(("username", "role", "name"), DEMO_USERS)
def test_every_demo_login_reaches_its_home(client, demo_users, username, role, name):
    response = login(client, username)
    assert response.status_code == 303
    home = client.get("/")
    assert home.status_code == 200
    assert name in home.text
    assert role.label in home.text


def test_wrong_password_and_unknown_user_look_the_same(client, demo_users):
    wrong = login(client, "officer", "wrong-password-123")
    unknown = login(client, "nobody-here", "wrong-password-123")
    assert wrong.status_code == unknown.status_code == 400
    strip = lambda html: csrf_removed(html).replace("officer", "").replace("nobody-here", "")  # noqa: E731
    assert strip(wrong.text) == strip(unknown.text)
    assert "用户名或密码错误" in wrong.text


def csrf_removed(html: str) -> str:
    return html.replace(csrf_from(html), "")


def test_unknown_user_still_costs_one_argon2_verify(client, demo_users, monkeypatch):
    from tracker import passwords

    calls = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    login(client, "nobody-here", "wrong-password-123")
    login(client, "officer", "wrong-password-123")
    assert len(calls) == 2


def test_disabled_user_cannot_log_in(client, demo_users, db):
    demo_users["grantee"].is_active = False
    db.commit()
    assert login(client, "grantee").status_code == 400


def test_session_id_changes_at_login(client, demo_users):
    login(client, "officer")
    first = session_cookie(client)
    login(client, "officer")  # already signed in: /login redirects, so log in again by POST
    token = csrf_from(client.get("/").text)
    client.post("/login", data={"_csrf_token": token, "username": "admin", "password": "tracker-demo"})
    assert session_cookie(client) and session_cookie(client) != first


def test_logout_kills_the_session_and_the_old_cookie(client, demo_users, db):
    login(client, "officer")
    stolen = session_cookie(client)
    token = csrf_from(client.get("/").text)
    response = client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 0
    client.cookies.set("tracker_session", stolen)
    replay = client.get("/", follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")


def test_session_expires_after_30_idle_minutes(client, demo_users, now):
    with time_machine.travel(now, tick=False) as clock:
        login(client, "officer")
        clock.shift(timedelta(minutes=29))
        assert client.get("/", follow_redirects=False).status_code == 200
        clock.shift(timedelta(minutes=31))
        assert client.get("/", follow_redirects=False).status_code == 303


def test_session_dies_after_8_hours_even_when_active(client, demo_users, now):
    with time_machine.travel(now, tick=False) as clock:
        login(client, "officer")
        for _ in range(16):
            clock.shift(timedelta(minutes=29))
            client.get("/")
        assert client.get("/", follow_redirects=False).status_code == 200  # 7 h 44 min
        clock.shift(timedelta(minutes=20))
        assert client.get("/", follow_redirects=False).status_code == 303


def test_disabling_a_user_ends_their_sessions(client, demo_users, db):
    login(client, "grantee")
    demo_users["grantee"].is_active = False
    db.commit()
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_login_never_redirects_off_site(client, demo_users, target):
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"_csrf_token": token, "username": "officer",
                                           "password": "tracker-demo", "next": target}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_login_returns_to_the_page_asked_for(client, demo_users):
    token = csrf_from(client.get("/login?next=/healthz").text)
    response = client.post("/login", data={"_csrf_token": token, "username": "officer",
                                           "password": "tracker-demo", "next": "/healthz"}, follow_redirects=False)
    assert response.headers["location"] == "/healthz"


def test_session_token_is_stored_hashed(client, demo_users, db):
    login(client, "officer")
    stored = db.scalars(select(AuthSession.id)).all()
    assert stored and session_cookie(client) not in stored
