"""Rendering pages with the shared Jinja environment and the context every page needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Request, Response
from litestar.enums import MediaType

from reminders.jobs import JOBS
from tracker import access, clock, i18n
from tracker.services import labels, scheduling
from tracker.templating import environment, render
from tracker.web.common import CSRF_FIELD

# The navigation: an entry shows only when the policy lets the user's role open its route.
NAVIGATION = (
    ("首页", "/", "home"),
    ("项目", "/projects", "projects"),
    ("指南目录", "/guidelines", "guidelines"),
    ("报告审核", "/reports", "report_queue"),
    ("指标核对", "/review", "review_queue"),
    ("项目验收", "/acceptance", "acceptance"),
    ("后补助拨付", "/disbursements", "disbursements"),
    # One entry for the administration: its own pages are the tabs of templates/admin/_tabs.html.
    ("系统管理", "/admin/users", "admin_users"),
    ("我的账号", "/account", "account"),
)


def _in_words(lookup: Callable[..., str]) -> Callable[..., str]:
    """A Jinja filter showing a stored code as words (tracker.services.labels), in the language of the page."""
    @pass_context
    def words(context: Context, code: Any, *more: Any) -> str:
        return i18n.gettext(context.get("lang") or i18n.DEFAULT_LANGUAGE, lookup(code, *more))
    return words


# Pages only: e-mails and print never show these codes.
environment().filters.update({
    "flag_label": _in_words(labels.flag), "action_label": _in_words(labels.action),
    "role_label": _in_words(labels.role), "object_label": _in_words(labels.object_type),
    "result_label": _in_words(labels.result), "actor_label": _in_words(labels.actor),
    "job_label": _in_words(labels.job),
})


def _scheduler_alerts(state: dict[str, Any], role: str | None) -> list[tuple[str, str]]:
    """The red banner of admin and officer pages: (message, link)."""
    db = state.get("db")
    if role not in ("admin", "officer") or db is None:
        return []
    schedule = {job.name: job.every_minutes for job in JOBS.values()}
    links = {"jobs": "/admin/jobs", "mail": "/admin/outbox?status=dead"} if role == "admin" else {}
    return [(message, links.get(concern, ""))
            for concern, message in scheduling.alerts(db, schedule, now=clock.now(), dead_mail=role == "admin")]


def request_language(request: Request[Any, Any, Any]) -> str:
    """The language the page is rendered in (the user's cookie, else the default)."""
    return i18n.normalize(request.scope.get("state", {}).get("lang"))


def page_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    state = request.scope.get("state", {})
    user = state.get("user")
    role = user.role if user is not None else None
    return {
        "system_alerts": _scheduler_alerts(state, role),
        "user": user,
        "lang": request_language(request),
        "languages": i18n.LANGUAGES,
        "csrf_field": CSRF_FIELD,
        "csrf_token": state.get("csrf_token", ""),
        "path": request.url.path,
        "nav": [(label, href) for label, href, name in NAVIGATION if user and access.may_access(name, role)],
    }


def page(
    request: Request[Any, Any, Any], template: str, *, status_code: int = 200, **context: Any
) -> Response[str]:
    html = render(template, **page_context(request), **context)
    return Response(content=html, status_code=status_code, media_type=MediaType.HTML)
