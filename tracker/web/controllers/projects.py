"""Projects: the list within the user's scope, the project page and the task book (任务书)."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indicators.assessment import readiness
from indicators.assessment.monitoring import STATUS_LABELS
from indicators.reading.categories import CATEGORIES
from indicators.reading.target_edit import KIND_LABELS, OP_LABELS, OPS
from indicators.regions import city_name
from tracker import access, clock
from tracker.models import GuidelineClause, Project, ProjectStatus, ProjectTarget, TargetSet, User
from tracker.services import monitoring, project_changes, reminders
from tracker.services import projects as project_service
from tracker.services import reports as report_service
from tracker.services.accounts import AccountError
from tracker.services.business_settings import BusinessSettings
from tracker.services.programmes import visible_programmes
from tracker.services.task_books import MilestoneInput, TargetChange, TaskBookProblems, confirm_task_book
from tracker.templating import render
from tracker.web import forms
from tracker.web.common import CSRF_FIELD
from tracker.web.deps import Business, CurrentUser, DbSession, PageNo, RequestActor, SubmittedForm
from tracker.web.fragments import CSRF_PLACEHOLDER, KEPT, scope_key, with_csrf
from tracker.web.lookups import or_404, project_or_404
from tracker.web.render import page, request_language

PAGE_SIZE = 50
NEW_ROWS = 3


def _int(text: str) -> int | None:
    # isascii: `²` is a digit to str.isdigit but not to int().
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


SORTS = {*project_service.PROJECT_SORTS, "risk"}


def filters_from_query(programme: str, direction: str, city: str, organisation: str, officer: str, status: str,
                       q: str, sort: str, order: str, risk: str = "", attention: str = ""
                       ) -> project_service.ProjectFilters:
    """The list's query string as filters; anything unreadable is ignored (the list page and its export)."""
    return project_service.ProjectFilters(
        programme_id=_int(programme), node_id=_int(direction), city=city[:4], organisation_id=_int(organisation),
        officer_id=_int(officer), status=status if status in {s.value for s in ProjectStatus} else "",
        risk=risk if risk in project_service.RISK_FILTERS else "",
        attention=attention if attention in project_service.ATTENTION else "", today=clock.today_local(),
        q=q[:50], sort=sort if sort in SORTS else "code", descending=order == "desc")


@get("/projects", name="projects", sync_to_thread=True)
def project_list(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, programme: FromQuery[str] = "",
                 direction: FromQuery[str] = "",
                 city: FromQuery[str] = "", organisation: FromQuery[str] = "", officer: FromQuery[str] = "",
                 status: FromQuery[str] = "", risk: FromQuery[str] = "", attention: FromQuery[str] = "",
                 q: FromQuery[str] = "", sort: FromQuery[str] = "code", order: FromQuery[str] = "asc",
                 page_no: PageNo = 1) -> Response[Any]:
    filters = filters_from_query(programme, direction, city, organisation, officer, status, q, sort, order, risk,
                                 attention)
    params = {"programme": programme, "direction": direction, "city": city, "organisation": organisation,
              "officer": officer, "status": status, "risk": filters.risk, "attention": filters.attention, "q": q,
              "sort": filters.sort, "order": order}
    lang = request_language(request)

    def body() -> str:
        return _list_body(db, user, filters, params, page_no, lang)

    # Everything the body depends on: who sees which projects, the language, the query; and, through the cache,
    # the data generation.
    key = ("projects", lang, scope_key(user), tuple(sorted(params.items())), page_no, filters.today)
    return page(request, "projects/list.html", body=KEPT.html(db, key, body))


def _list_body(db: Session, user: User, filters: project_service.ProjectFilters, params: dict[str, str],
               page_no: int, lang: str) -> str:
    query = project_service.filtered_projects(user, filters)
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_no = min(max(page_no, 1), pages)
    rows = project_service.project_rows(db, query, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render("projects/_list_body.html", lang=lang, role=user.role, projects=rows, total=total,
                  page=page_no, pages=pages, params=params, programmes=visible_programmes(db, user),
                  statuses=[(s.value, s.label) for s in ProjectStatus], city_name=city_name,
                  risks=list(project_service.RISK_FILTER_LABELS.items()),
                  show_reasons=bool(filters.risk) or filters.sort == "risk",
                  attention_label=project_service.ATTENTION.get(filters.attention, ""),
                  cities=_city_options(), **_filter_options(db, user, filters))


def _filter_options(db: Session, user: User, filters: project_service.ProjectFilters) -> dict[str, Any]:
    choices = project_service.filter_choices(db, user, filters.programme_id)
    return {"organisation_options": choices.organisations, "officer_options": choices.officers,
            "direction_options": choices.directions}


def _city_options() -> list[tuple[str, str]]:
    from indicators.regions import CITIES

    return [(code[:4], name) for code, name in CITIES.items()]


def _detail_body(db: Session, user: User, business: BusinessSettings, project: Project, *, lang: str, today: date,
                 csrf_token: str, change_errors: dict[str, str] | None = None,
                 change_typed: dict[str, str] | None = None) -> str:
    periods = report_service.project_periods(db, project, business.report_due_days)
    # The reporting calendar with each period's report (DESIGN §2).
    schedule = report_service.schedule(db, project, periods, today=today, open_days=business.report_open_days,
                                       final_open_days=business.acceptance_open_days)
    return render("projects/_detail_body.html", lang=lang, csrf_field=CSRF_FIELD, csrf_token=csrf_token,
                project=project, current=project.target_sets[-1], categories=CATEGORIES, kinds=KIND_LABELS,
                ops=OP_LABELS,
                city_name=city_name, periods=schedule, changes=project_changes.changes_of(db, project),
                change_errors=change_errors or {}, change_typed=change_typed or {},
                no_reminder_address=project.status in reminders.REMINDED_STATUSES
                and not reminders.recipients_of(project),
                may_set_contacts=access.may_access("project_contacts", user.role),
                organisation_accounts=project_service.organisation_accounts(db, project)
                if access.may_access("project_contacts", user.role) else [],
                may_edit_task_book=access.may_access("project_task_book_confirm", user.role),
                may_change=access.may_access("project_extend", user.role), **_monitoring(db, project))


def _monitoring(db: Session, project: Project) -> dict[str, Any]:
    """The project's stored assessment, per target and over time (tracker.services.monitoring)."""
    assessment = monitoring.assessment_of(db, project)
    return {"assessment": assessment, "history": monitoring.history_of(db, project),
            "target_lines": monitoring.target_lines(assessment, project.target_sets[-1].targets),
            "risk_labels": STATUS_LABELS, "readiness_labels": readiness.STATUS_LABELS,
            "readiness_target_labels": readiness.TARGET_LABELS}


def _detail_page(request: Request[Any, Any, Any], db: Session, user: User, business: BusinessSettings, project: Project,
                 *, status_code: int = 200, change_errors: dict[str, str] | None = None,
                 change_typed: dict[str, str] | None = None) -> Response[Any]:
    """The project page built for this request: with errors, the extension or termination form comes back with
    what was typed."""
    body = _detail_body(db, user, business, project, lang=request_language(request), today=clock.today_local(),
                        csrf_token=request.scope["state"]["csrf_token"], change_errors=change_errors,
                        change_typed=change_typed)
    return page(request, "projects/detail.html", status_code=status_code, title=project.code, body=Markup(body))  # noqa: S704


@get("/projects/{project_id:int}", name="project", sync_to_thread=True)
def project_detail(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, business: Business,
                   project_id: FromPath[int]) -> Response[Any]:
    lang, today = request_language(request), clock.today_local()

    def build() -> tuple[str, str] | None:
        project = project_service.project_page(db, user, project_id)
        if project is None:
            return None
        return project.code, _detail_body(db, user, business, project, lang=lang, today=today,
                                          csrf_token=CSRF_PLACEHOLDER)

    # Whether the user may see the project is part of what is kept: the scope is in the key, and what decides it
    # (programme assignments, a project's programme and organisation) moves the data generation.
    code, body = or_404(KEPT.get(db, ("project", lang, scope_key(user), project_id, today), build))
    return page(request, "projects/detail.html", title=code,
                body=with_csrf(body, request.scope["state"]["csrf_token"]))


def _milestone_rows(project: Project) -> int:
    return len(project.target_sets[-1].milestones) + 2


def _baseline_hints(db: Session, targets: list[ProjectTarget]) -> dict[int, list[str]]:
    """Target position → the numbers the guideline's clause gave as a current level or basis (the reader's
    `ignored_number` flags): suggestions for the target's baseline."""
    clauses = {c.id: c for c in db.scalars(select(GuidelineClause).where(
        GuidelineClause.id.in_([t.clause_id for t in targets if t.clause_id is not None])))}
    hints: dict[int, list[str]] = {}
    for t in targets:
        clause = clauses.get(t.clause_id) if t.clause_id is not None else None
        found = [f.get("message", "") for f in (clause.flags if clause else []) if f.get("kind") == "ignored_number"]
        if found:
            hints[t.position] = found
    return hints


def _task_book_page(request: Request[Any, Any, Any], db: Session, user: User, project: Project, *,
                    status_code: int = 200, errors: dict[str, str] | None = None,
                    typed: dict[str, str] | None = None) -> Response[Any]:
    current: TargetSet = project.target_sets[-1]
    return page(request, "projects/task_book.html", status_code=status_code, project=project, current=current,
                baseline_hints=_baseline_hints(db, current.targets),
                errors=errors or {}, typed=typed or {}, categories=CATEGORIES, kinds=list(KIND_LABELS.items()),
                ops=[(op, OP_LABELS[op]) for op in OPS], new_rows=range(NEW_ROWS),
                milestone_rows=range(_milestone_rows(project)),
                may_edit=access.may_access("project_task_book_confirm", user.role))


@get("/projects/{project_id:int}/task-book", name="project_task_book", sync_to_thread=True)
def task_book(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, project_id: FromPath[int]
              ) -> Response[Any]:
    return _task_book_page(request, db, user, project_or_404(db, user, project_id))


@post("/projects/{project_id:int}/task-book", name="project_task_book_confirm", sync_to_thread=True)
def task_book_confirm(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                      form: SubmittedForm, project_id: FromPath[int]) -> Response[Any]:
    project = project_or_404(db, user, project_id)
    typed = {key: str(form.get(key, ""))[:500] for key in form if key != "_csrf_token"}
    # A target whose fields were not sent keeps its value (an API client may send only what changes).
    changes = [TargetChange(t.position, forms.text(form, f"t{t.position}_value", 40) if f"t{t.position}_value" in form
                            else ("" if t.value is None else format(t.value.normalize(), "f")),
                            forms.text(form, f"t{t.position}_kind", 20) or t.kind,
                            forms.text(form, f"t{t.position}_reason", 500),
                            forms.text(form, f"t{t.position}_baseline", 40) if f"t{t.position}_baseline" in form
                            else None)
               for t in project.target_sets[-1].targets
               if any(f"t{t.position}_{name}" in form for name in ("value", "kind", "baseline"))]
    new_targets = [{name: forms.text(form, f"new{i}_{name}", 200)
                    for name in ("category", "metric", "op", "value", "unit", "kind")} for i in range(NEW_ROWS)]
    milestones = None
    if project.is_milestone_funded:
        milestones = [MilestoneInput(forms.text(form, f"m{i}_title", 200), forms.text(form, f"m{i}_due_date", 10),
                                     forms.text(form, f"m{i}_amount", 40), forms.text(form, f"m{i}_condition", 2000))
                      for i in range(_milestone_rows(project))]
    try:
        confirm_task_book(db, project, changes, new_targets, reason=forms.text(form, "reason", 2000), actor=actor,
                          now=clock.now(), milestones=milestones)
    except TaskBookProblems as problems:
        return _task_book_page(request, db, user, project, status_code=400, errors=problems.errors, typed=typed)
    return Redirect(f"/projects/{project.id}", status_code=303)


# --- extension and termination (officer) ---------------------------------------------------------


def _parse_day(text: str):
    from datetime import datetime as _dt

    try:
        return _dt.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


@post("/projects/{project_id:int}/extension", name="project_extend", sync_to_thread=True)
def project_extend(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                   business: Business, form: SubmittedForm, project_id: FromPath[int]) -> Response[Any]:
    project = project_or_404(db, user, project_id)
    typed = {"requested_on": forms.text(form, "requested_on", 10), "months": forms.text(form, "months", 3),
             "reason": forms.text(form, "reason", 2000), "kind": "extension"}
    requested_on = _parse_day(typed["requested_on"])
    months = forms.integer(form, "months")
    errors: dict[str, str] = {}
    if requested_on is None:
        errors = {"requested_on": "请填写申请日期（YYYY-MM-DD）"}
    elif months is None:
        errors = {"months": "请填写延期月数"}
    else:
        try:
            project_changes.extend(db, project, requested_on=requested_on, months=months, reason=typed["reason"],
                                   actor=actor, now=clock.now(), notice_months=business.extension_notice_months,
                                   max_months=business.extension_max_months)
        except AccountError as exc:
            errors = {exc.field or "reason": str(exc)}
    if errors:
        return _detail_page(request, db, user, business, project, status_code=400, change_errors=errors,
                            change_typed=typed)
    return Redirect(f"/projects/{project.id}", status_code=303)


@post("/projects/{project_id:int}/termination", name="project_terminate", sync_to_thread=True)
def project_terminate(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                      business: Business, form: SubmittedForm, project_id: FromPath[int]) -> Response[Any]:
    project = project_or_404(db, user, project_id)
    typed = {"requested_on": forms.text(form, "requested_on", 10), "reason": forms.text(form, "reason", 2000),
             "kind": "termination"}
    requested_on = _parse_day(typed["requested_on"]) or clock.today_local()
    try:
        project_changes.terminate(db, project, requested_on=requested_on, reason=typed["reason"], actor=actor,
                                  now=clock.now())
    except AccountError as exc:
        return _detail_page(request, db, user, business, project, status_code=400,
                            change_errors={"t_" + (exc.field or "reason"): str(exc)}, change_typed=typed)
    return Redirect(f"/projects/{project.id}", status_code=303)


@post("/projects/{project_id:int}/contacts", name="project_contacts", sync_to_thread=True)
def project_contacts(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                     business: Business, form: SubmittedForm, project_id: FromPath[int]) -> Response[Any]:
    project = project_or_404(db, user, project_id)
    try:
        project_service.set_contacts(db, project, forms.integers(form, "contact"), actor=actor, now=clock.now())
    except AccountError as exc:
        return _detail_page(request, db, user, business, project, status_code=400,
                            change_errors={"contacts": str(exc)})
    return Redirect(f"/projects/{project.id}#contacts", status_code=303)


router = Router(path="/", include_in_schema=False, route_handlers=[
    project_list, project_detail, task_book, task_book_confirm, project_extend, project_terminate, project_contacts,
])
