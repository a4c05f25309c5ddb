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
    account,
    admin,
    api,
    api_reports,
    auth,
    calendar_admin,
    catalogue,
    home,
    project_import,
    projects,
    reports,
    review,
)
from tracker.web.security import make_security_headers_hook

STATIC_DIR = Path(__file__).parent / "static"

ROUTES = [
    auth.login_form,
    auth.login_submit,
    auth.logout,
    home.home,
    home.language,
    home.health,
    account.account,
    account.change_password,
    account.create_token,
    account.revoke_token,
    account.activate_form,
    account.activate_submit,
    admin.users,
    admin.user_new,
    admin.user_create,
    admin.user_detail,
    admin.user_update,
    admin.user_active,
    admin.user_activation,
    admin.user_programmes,
    admin.organisation_list,
    admin.organisation_new,
    admin.organisation_create,
    admin.organisation_detail,
    admin.organisation_update,
    admin.organisation_active,
    admin.programme_list,
    admin.programme_create,
    admin.audit_log,
    calendar_admin.calendar_page,
    calendar_admin.calendar_enter,
    calendar_admin.calendar_seed,
    catalogue.catalogue_index,
    catalogue.search,
    catalogue.upload_form,
    catalogue.upload,
    catalogue.upload_confirm,
    catalogue.document_page,
    catalogue.flags_page,
    catalogue.direction_page,
    projects.project_list,
    projects.project_detail,
    projects.task_book,
    projects.task_book_confirm,
    projects.project_extend,
    projects.project_terminate,
    project_import.import_form,
    project_import.import_template,
    project_import.import_upload,
    project_import.import_confirm,
    project_import.projects_export,
    reports.report_page,
    reports.report_save,
    reports.report_revise,
    reports.report_excel,
    reports.report_excel_upload,
    reports.report_review,
    reports.report_queue,
    reports.evidence_file,
    review.queue,
    review.clause_detail,
    review.clause_correct,
    review.clause_mark,
    review.rules_detail,
    review.rule_correct,
    # The JSON API (read-only this round). Its handlers say include_in_schema=True, which wins over the
    # router's False below: the OpenAPI document lists /api/v1 and nothing else.
    api.api_programmes,
    api.api_directions,
    api.api_direction,
    api.api_projects,
    api.api_project,
    api.api_project_targets,
    api_reports.api_project_progress,
    api_reports.api_reports,
    api_reports.api_report,
    api_reports.api_report_save,
    api_reports.api_report_submit,
]
# Admins only, and not registered at all in production (DESIGN §4: off in production, the path is a 404).
OPENAPI_ROUTES = [api.openapi_json]


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> Litestar:
    settings = settings or get_settings()
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))
    logging.getLogger("tracker").setLevel(logging.INFO)
    openapi = not settings.is_production
    routes = [*ROUTES, *(OPENAPI_ROUTES if openapi else [])]
    static = create_static_files_router(
        path="/static", directories=[STATIC_DIR], name="static", cache_control=None, send_as_attachment=False
    )
    return Litestar(
        # One Router for all pages: registered one by one, a second handler on the same path makes Litestar
        # 2.25 register the first again and wrap a sync_to_thread handler twice (it then returns a coroutine).
        # include_in_schema=False here keeps the pages out of the OpenAPI document in one place.
        route_handlers=[Router(path="/", route_handlers=routes, include_in_schema=False), static],
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
