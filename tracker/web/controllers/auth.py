"""Login and logout."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, Router, get, post
from litestar.params import FromQuery
from litestar.response import Redirect

from tracker import clock
from tracker.services import accounts, sessions
from tracker.web.context import client_ip, cookie_names, keep_changes_on_error, make_cookie, state_of
from tracker.web.deps import AppSettings, DbSession, OptionalUser, SubmittedForm
from tracker.web.render import page

LOGIN_FAILED = "用户名或密码错误，或账号已停用"  # the same words whatever was wrong (G7)
REFUSALS = {
    "invalid": (400, LOGIN_FAILED),
    "locked": (400, "登录失败次数过多，该用户名已被暂时锁定15分钟"),
    "rate_limited": (429, "来自您网络地址的登录失败次数过多，请5分钟后再试"),
}


def safe_next(target: str | None) -> str:
    """Only a local path: never redirect off-site after login (open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@get("/login", name="login", sync_to_thread=False)
def login_form(request: Request[Any, Any, Any], user: OptionalUser,
               next: FromQuery[str] = "/") -> Response[Any]:  # noqa: A002
    if user is not None:
        return Redirect(safe_next(next), status_code=303)
    return page(request, "auth/login.html", next=safe_next(next), error=None, username="")


@post("/login", name="login_submit", sync_to_thread=True)
def login_submit(request: Request[Any, Any, Any], db: DbSession, settings: AppSettings, form: SubmittedForm
                 ) -> Response[Any]:
    username = str(form.get("username", ""))[:64].strip()
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/")))
    if not username or not password:
        return page(request, "auth/login.html", status_code=400, next=target, error="请填写用户名和密码",
                    username=username)
    outcome = accounts.login(db, username, password, ip=client_ip(request), now=clock.now())
    if outcome.user is None:
        # The failed attempt and its audit row are kept: they drive the lockout.
        keep_changes_on_error(request)
        status, message = REFUSALS[outcome.refusal or "invalid"]
        return page(request, "auth/login.html", status_code=status, next=target, error=message, username=username)
    previous = state_of(request).get("session_token")
    if previous:
        sessions.end_session(db, previous)
    token = sessions.start_session(db, outcome.user, now=clock.now(), ip=client_ip(request))
    names = cookie_names(settings)
    response = Redirect(target, status_code=303)
    response.set_cookie(make_cookie(settings, names["session"], token))
    return response


@post("/logout", name="logout", sync_to_thread=True)
def logout(request: Request[Any, Any, Any], db: DbSession, settings: AppSettings) -> Response[Any]:
    sessions.end_session(db, state_of(request)["session_token"])
    response = Redirect("/login", status_code=303)
    response.delete_cookie(cookie_names(settings)["session"], path="/")
    return response


router = Router(path="/", route_handlers=[login_form, login_submit, logout], include_in_schema=False)
