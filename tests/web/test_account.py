"""The user's own page: password change ends the other sessions; API tokens shown once."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.conftest import csrf_from, login


def test_password_change_keeps_this_browser_and_ends_the_others(app, client, demo_users):
    login(client, "officer")
    with TestClient(app=app) as other:
        login(other, "officer")
        assert other.get("/", follow_redirects=False).status_code == 200
        token = csrf_from(client.get("/account").text)
        response = client.post("/account/password", data={
            "_csrf_token": token, "old_password": "tracker-demo", "password": "新的登录口令足够长也够怪",
            "confirm": "新的登录口令足够长也够怪"}, follow_redirects=False)
        assert response.status_code == 303
        assert client.get("/account", follow_redirects=False).status_code == 200
        assert other.get("/", follow_redirects=False).status_code == 303


def test_weak_new_password_re_renders_with_the_reason(client, demo_users):
    login(client, "officer")
    token = csrf_from(client.get("/account").text)
    response = client.post("/account/password", data={"_csrf_token": token, "old_password": "tracker-demo",
                                                      "password": "password1234", "confirm": "password1234"})
    assert response.status_code == 400 and "常见密码" in response.text


def test_api_token_is_shown_once_and_listed_by_prefix(client, demo_users):
    login(client, "grantee")
    token = csrf_from(client.get("/account").text)
    created = client.post("/account/tokens", data={"_csrf_token": token, "name": "单位财务系统", "days": "30"})
    assert created.status_code == 200 and "只显示这一次" in created.text
    secret = created.text.split('class="secret">')[1].split("<")[0]
    listing = client.get("/account").text
    assert secret not in listing and secret[:10] in listing and "单位财务系统" in listing
    bad = client.post("/account/tokens", data={"_csrf_token": token, "name": "", "days": "30"})
    assert bad.status_code == 400 and "令牌名称" in bad.text
