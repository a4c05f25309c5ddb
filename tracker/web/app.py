"""The Litestar application: routes, middleware, error pages, static files."""

from __future__ import annotations

import logging
from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router
from sqlalchemy.orm import Session, sessionmaker

from tracker.db import make_engine, make_session_factory
from tracker.settings import Settings, get_settings
from tracker.web import errors
from tracker.web.context import RequestContextMiddleware
from tracker.web.controllers import (
    acceptance,
    account,
    admin,
    api,
    api_reports,
    auth,
    calendar_admin,
    catalogue,
    disbursements,
    home,
    operations,
    project_import,
    projects,
    reports,
    review,
)
from tracker.web.deps import DEPENDENCIES
from tracker.web.security import make_security_headers_hook

STATIC_DIR = Path(__file__).parent / "static"

# Each controller module exports its Router. No two modules share a path: Litestar 2.25, when a second handler
# joins a path already registered by another router, registers the first handler again and wraps a
# sync_to_thread handler twice (it then answers with a coroutine; tests/web/test_routes.py checks every route).
PAGES = [auth.router, home.router, account.router, admin.router, calendar_admin.router, operations.router,
         catalogue.router, projects.router, project_import.router, reports.router, review.router, acceptance.router,
         disbursements.router]
API = [api.router, api_reports.router]


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> Litestar:
    settings = settings or get_settings()
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))
    logging.getLogger("tracker").setLevel(logging.INFO)
    openapi = not settings.is_production
    # The OpenAPI document: admins only, and not registered at all in production (DESIGN §4: the path is a 404).
    schema = [Router(path="/", route_handlers=[api.openapi_json], include_in_schema=False)] if openapi else []
    static = create_static_files_router(
        path="/static", directories=[STATIC_DIR], name="static", cache_control=None, send_as_attachment=False
    )
    return Litestar(
        route_handlers=[*PAGES, *API, *schema, static],
        dependencies=DEPENDENCIES,
        middleware=[
            DefineMiddleware(RequestContextMiddleware, settings=settings, session_factory=session_factory)
        ],
        exception_handlers={
            HTTPException: errors.http_exception_handler,
            Exception: errors.internal_error_handler,
        },
        before_send=[make_security_headers_hook(https=settings.secure_cookies)],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=api.openapi_config(enabled=openapi),
        state=State({"settings": settings}),
        debug=False,
    )
