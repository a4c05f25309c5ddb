"""Security headers, CSRF, error pages and size limits (G10, G13, G14)."""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import csrf_from, login

REQUIRED_CSP = ["default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'",
                "form-action 'self'"]


def assert_security_headers(response, *, page: bool = True) -> None:
    csp = response.headers["content-security-policy"]
    for directive in REQUIRED_CSP:
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in {"strict-origin-when-cross-origin", "same-origin", "no-referrer"}
    assert "permissions-policy" in response.headers
    assert "x-powered-by" not in response.headers
    assert "server" not in response.headers or not re.search(r"\d", response.headers["server"])
    if page:
        assert response.headers["cache-control"] == "no-store"


def test_headers_on_every_kind_of_response(client, demo_users, monkeypatch):
    samples = {
        "login": client.get("/login"),
        "redirect": client.get("/", follow_redirects=False),
        "not found": client.get("/no/such/page"),
        "method": client.put("/login"),
        "static": client.get("/static/app.css"),
        "health": client.get("/healthz"),
    }
    login(client, "officer")
    samples["home"] = client.get("/")
    samples["forbidden"] = client.post("/logout", data={"_csrf_token": "wrong"})
    samples["too large"] = client.post("/logout", content=b"x" * 2_000_000,
                                       headers={"content-type": "application/x-www-form-urlencoded"})
    for name, response in samples.items():
        assert_security_headers(response, page=name != "static"), name
    assert samples["not found"].status_code == 404
    assert samples["forbidden"].status_code == 403
    assert samples["too large"].status_code == 413


def test_no_inline_script_or_style_in_pages(client, demo_users):
    pages = [client.get("/login").text]
    login(client, "admin")
    pages.append(client.get("/").text)
    for html in pages:
        assert "<script>" not in html and "onclick" not in html and "style=" not in html
        assert re.findall(r'(?:src|href)="(https?:)?//', html) == []  # no third-party hosts


def test_post_without_csrf_token_is_refused(client, demo_users):
    client.get("/login")
    response = client.post("/login", data={"username": "officer", "password": "tracker-demo"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert "tracker_session" not in client.cookies


def test_post_with_a_token_from_another_session_is_refused(app, client, demo_users):
    from litestar.testing import TestClient

    with TestClient(app=app) as other:
        foreign = csrf_from(other.get("/login").text)
    client.get("/login")
    response = client.post("/login", data={"_csrf_token": foreign, "username": "officer",
                                            "password": "tracker-demo"})
    assert response.status_code == 403


def test_csrf_token_in_header_is_accepted(client, demo_users):
    login(client, "officer")
    token = csrf_from(client.get("/").text)
    response = client.post("/logout", headers={"x-csrftoken": token}, follow_redirects=False)
    assert response.status_code == 303


def test_signed_in_token_is_bound_to_the_session(client, demo_users):
    anonymous_token = csrf_from(client.get("/login").text)
    login(client, "officer")
    response = client.post("/logout", data={"_csrf_token": anonymous_token})
    assert response.status_code == 403


def test_unknown_route_is_a_chinese_404_page(client):
    response = client.get("/projects/does-not-exist")
    assert response.status_code == 404
    assert "页面不存在" in response.text
    assert "Traceback" not in response.text


def test_oversized_body_is_413_and_writes_nothing(client, demo_users, db):
    from sqlalchemy import func, select

    from tracker.models import AuthSession

    token = csrf_from(client.get("/login").text)
    body = f"_csrf_token={token}&username=officer&password=tracker-demo&pad=" + "x" * 1_100_000
    response = client.post("/login", content=body.encode(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert "过大" in response.text
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 0


def test_malformed_form_fields_never_500(client, demo_users):
    token = csrf_from(client.get("/login").text)
    for data in ({"username": "", "password": ""}, {"username": "a" * 5000, "password": "\x00\xff"},
                 {"username": ["a", "b"], "password": ["x", "y"]}):
        response = client.post("/login", data={"_csrf_token": token, **data})
        assert response.status_code == 400, data


def test_500_page_shows_an_incident_id_that_is_logged(client, demo_users, monkeypatch, caplog):
    from tracker.services import accounts

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail /etc/passwd SELECT * FROM users")

    monkeypatch.setattr(accounts, "authenticate", explode)
    token = csrf_from(client.get("/login").text)
    with caplog.at_level(logging.ERROR, logger="tracker.web"):
        response = client.post("/login", data={"_csrf_token": token, "username": "x", "password": "y"})
    assert response.status_code == 500
    incident = re.search(r'class="incident">([0-9a-f]{12})<', response.text).group(1)
    assert any(incident in record.getMessage() for record in caplog.records)
    for leak in ("Traceback", "secret internal detail", "/etc/passwd", "SELECT", "RuntimeError", "litestar"):
        assert leak not in response.text
    assert_security_headers(response)


def test_language_switch_to_english_and_back(client, demo_users):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 200
    assert "Sign in" in response.text and 'lang="en"' in response.text
    assert "中文" in response.text
    back = client.get("/lang/zh_CN?next=/login")
    assert "登录" in back.text and 'lang="zh-CN"' in back.text


def test_language_switch_never_redirects_off_site(client):
    response = client.get("/lang/en?next=//evil.example", follow_redirects=False)
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("host", ["evil.example", "tracker.example.org.evil"])
def test_production_refuses_unknown_host_headers(session_factory, settings, host):
    from dataclasses import replace

    from litestar.testing import TestClient

    from tracker.web.app import create_app

    app = create_app(replace(settings, allowed_hosts=("tracker.example.org",)), session_factory=session_factory)
    with TestClient(app=app, base_url=f"http://{host}") as c:
        assert c.get("/login").status_code == 400
    with TestClient(app=app, base_url="http://tracker.example.org:8443") as c:
        assert c.get("/login").status_code == 200


def test_secure_cookie_settings_use_host_prefix(session_factory, settings, demo_users):
    from dataclasses import replace

    from litestar.testing import TestClient

    from tracker.web.app import create_app

    app = create_app(replace(settings, secure_cookies=True), session_factory=session_factory)
    with TestClient(app=app, base_url="https://testserver.local") as c:
        page = c.get("/login")
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("__Host-tracker_csrf=")
        for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"):
            assert attribute.lower() in cookie.lower()
        assert "strict-transport-security" in page.headers


def test_no_handler_is_wrapped_for_threads_twice(app):
    """Guards the Router work-around in tracker/web/app.py (Litestar re-registering same-path handlers)."""
    from litestar.utils.sync import AsyncCallable

    for route in app.routes:
        for method, (handler, _kwargs) in getattr(route, "route_handler_map", {}).items():
            fn = handler.fn
            assert not (isinstance(fn, AsyncCallable) and isinstance(fn.func, AsyncCallable)), (method, route.path)
