"""Every route of the app answers with a response. Each controller module registers its own Router; Litestar
2.25 wraps a sync handler twice when a second router registers a path another one already holds, and such a
handler answers with a coroutine instead of a response (tracker/web/app.py)."""

from __future__ import annotations

import re

from litestar.testing import TestClient
from litestar.utils.sync import AsyncCallable

from tests.conftest import login

PARAM = re.compile(r"\{(\w+):(int|str)\}")


def _handlers(app):
    for route in app.routes:
        for method, (handler, _kwargs) in getattr(route, "route_handler_map", {}).items():
            yield route.path, method, handler


def test_no_handler_is_wrapped_for_threads_twice_in_any_app(app, settings, session_factory):
    from tracker.web.app import create_app

    # The routers are module-level objects: a second app (every test builds one) must not wrap them again.
    second = create_app(settings, session_factory=session_factory)
    for each in (app, second):
        for path, method, handler in _handlers(each):
            fn = handler.fn
            assert not (isinstance(fn, AsyncCallable) and isinstance(fn.func, AsyncCallable)), (method, path)


def test_every_route_answers_with_a_response_not_a_coroutine(app, demo_users):
    """Every GET as the admin (who may open most pages) and every POST without a form: whatever the status,
    never a 500 and never the text of a coroutine."""
    with TestClient(app=app, raise_server_exceptions=True) as client:
        login(client, "admin")
        seen = 0
        for path, method, _handler in _handlers(app):
            if path.startswith("/static") or method not in ("GET", "POST"):
                continue
            url = PARAM.sub(lambda m: "1" if m.group(2) == "int" else "x", path)
            response = client.get(url) if method == "GET" else client.post(url, data={})
            assert response.status_code < 500, (method, path, response.status_code)
            assert "coroutine" not in response.text[:200], (method, path)
            seen += 1
        assert seen > 60
