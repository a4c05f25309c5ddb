"""Administration: users, organisations, programmes and the audit log (admin only, DESIGN §1)."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from indicators.regions import city_name
from tracker import clock
from tracker.models import AuditEntry, Organisation, OrganisationKind, Programme, Role, User
from tracker.services import accounts, labels, organisations, programmes
from tracker.services.accounts import AccountError, StaleEdit
from tracker.services.audit_log import object_refs
from tracker.web import forms
from tracker.web.deps import DbSession, RequestActor, SubmittedForm
from tracker.web.lookups import row_or_404
from tracker.web.render import page

PAGE_SIZE = 50
PageNo = Annotated[int, QueryParameter(name="page")]
UserFilter = Annotated[str, QueryParameter(name="user")]  # `user` is the signed-in user (tracker.web.deps)
ROLE_OPTIONS = [(r.value, r.label) for r in Role]
KIND_OPTIONS = [(k.value, label) for k, label in organisations.KIND_LABELS.items()]


def _paginate(db: Session, query, page_no: int):
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_no = min(max(page_no, 1), pages)
    rows = db.scalars(query.limit(PAGE_SIZE).offset((page_no - 1) * PAGE_SIZE)).all()
    return rows, page_no, pages, total


# --- users ---------------------------------------------------------------------------------------


@get("/admin/users", name="admin_users", sync_to_thread=True)
def users(request: Request[Any, Any, Any], db: DbSession, q: FromQuery[str] = "", role: FromQuery[str] = "",
          page_no: PageNo = 1) -> Response[Any]:
    query = select(User).order_by(User.username)
    if q.strip():
        like = f"%{q.strip()[:64]}%"
        query = query.where(or_(User.username.ilike(like), User.display_name.ilike(like)))
    if role in {r.value for r in Role}:
        query = query.where(User.role == role)
    rows, page_no, pages, total = _paginate(db, query, page_no)
    return page(request, "admin/users.html", users=rows, q=q, role=role, page=page_no, pages=pages, total=total,
                roles=ROLE_OPTIONS)


def _org_options(db: Session) -> list[tuple[int, str]]:
    orgs = db.scalars(select(Organisation).where(Organisation.is_active.is_(True)).order_by(Organisation.name))
    return [(o.id, f"{o.name}（{o.uscc}）") for o in orgs]


def _user_form(request: Request[Any, Any, Any], db: Session, *, target: User | None, values: dict[str, Any],
               errors: dict[str, str], status_code: int = 200, activation_link: str | None = None) -> Response[Any]:
    all_programmes = db.scalars(select(Programme).order_by(Programme.name)).all()
    return page(request, "admin/user_form.html", status_code=status_code, target=target, values=values,
                errors=errors, roles=ROLE_OPTIONS, organisations=_org_options(db), programmes=all_programmes,
                activation_link=activation_link)


def _activation_link(request: Request[Any, Any, Any], token: str) -> str:
    return f"{request.base_url}activate/{token}".replace("//activate", "/activate")


USER_FORM_FIELDS = ("username", "display_name", "role", "organisation_id", "email", "phone", "version")
# Service field names → the form inputs that show their errors.
_FORM_FIELD = {"organisation": "organisation_id"}


def _field_error(exc: AccountError, default: str = "form") -> dict[str, str]:
    return {_FORM_FIELD.get(exc.field or "", exc.field or default): str(exc)}


@get("/admin/users/new", name="admin_user_new", sync_to_thread=True)
def user_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return _user_form(request, db, target=None, values={"role": "grantee"}, errors={})


def _organisation_of(db: Session, form) -> Organisation | None:
    org_id = forms.integer(form, "organisation_id")
    return db.get(Organisation, org_id) if org_id else None


def _role_of(form) -> Role | None:
    try:
        return Role(forms.text(form, "role", 20))
    except ValueError:
        return None


@post("/admin/users/new", name="admin_user_create", sync_to_thread=True)
def user_create(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, form: SubmittedForm
                ) -> Response[Any]:
    values = forms.values(form, USER_FORM_FIELDS)
    role = _role_of(form)
    if role is None:
        return _user_form(request, db, target=None, values=values, errors={"role": "请选择角色"}, status_code=400)
    try:
        user = accounts.create_user(
            db, username=values["username"], password=None, role=role, now=clock.now(),
            display_name=values["display_name"], organisation=_organisation_of(db, form),
            email=values["email"], phone=values["phone"], actor=actor,
        )
        token = accounts.issue_activation(db, user, actor=actor, now=clock.now())
    except AccountError as exc:
        return _user_form(request, db, target=None, values=values, errors=_field_error(exc, "username"),
                          status_code=400)
    return _user_form(request, db, target=user, values=_user_values(user), errors={},
                      activation_link=_activation_link(request, token))


def _user_values(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "organisation_id": user.organisation_id or "", "email": user.email or "", "phone": user.phone or "",
            "version": user.version}


@get("/admin/users/{user_id:int}", name="admin_user", sync_to_thread=True)
def user_detail(request: Request[Any, Any, Any], db: DbSession, user_id: FromPath[int]) -> Response[Any]:
    user = row_or_404(db, User, user_id)
    return _user_form(request, db, target=user, values=_user_values(user), errors={})


@post("/admin/users/{user_id:int}", name="admin_user_update", sync_to_thread=True)
def user_update(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, form: SubmittedForm,
                user_id: FromPath[int]) -> Response[Any]:
    user = row_or_404(db, User, user_id)
    values = forms.values(form, USER_FORM_FIELDS)
    values["username"] = user.username
    role = _role_of(form)
    if role is None:
        return _user_form(request, db, target=user, values=values, errors={"role": "请选择角色"}, status_code=400)
    try:
        accounts.update_user(db, user, version=forms.integer(form, "version") or 0,
                             display_name=values["display_name"], role=role,
                             organisation=_organisation_of(db, form), email=values["email"], phone=values["phone"],
                             actor=actor, now=clock.now())
    except StaleEdit as exc:  # refused before anything changed: `user` is the stored one, shown with the input
        return _user_form(request, db, target=user, values=values, errors={"form": str(exc)}, status_code=409)
    except AccountError as exc:
        return _user_form(request, db, target=user, values=values, errors=_field_error(exc), status_code=400)
    return Redirect(f"/admin/users/{user.id}", status_code=303)


@post("/admin/users/{user_id:int}/active", name="admin_user_active", sync_to_thread=True)
def user_active(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, form: SubmittedForm,
                user_id: FromPath[int]) -> Response[Any]:
    user = row_or_404(db, User, user_id)
    try:
        accounts.set_user_active(db, user, forms.text(form, "active", 5) == "1", actor=actor, now=clock.now())
    except AccountError as exc:
        return _user_form(request, db, target=user, values=_user_values(user), errors={"form": str(exc)},
                          status_code=400)
    return Redirect(f"/admin/users/{user.id}", status_code=303)


@post("/admin/users/{user_id:int}/activation", name="admin_user_activation", sync_to_thread=True)
def user_activation(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, user_id: FromPath[int]
                    ) -> Response[Any]:
    user = row_or_404(db, User, user_id)
    token = accounts.issue_activation(db, user, actor=actor, now=clock.now())
    return _user_form(request, db, target=user, values=_user_values(user), errors={},
                      activation_link=_activation_link(request, token))


@post("/admin/users/{user_id:int}/programmes", name="admin_user_programmes", sync_to_thread=True)
def user_programmes(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, form: SubmittedForm,
                    user_id: FromPath[int]) -> Response[Any]:
    user = row_or_404(db, User, user_id)
    ids = forms.integers(form, "programme_id")
    chosen = list(db.scalars(select(Programme).where(Programme.id.in_(ids)))) if ids else []
    try:
        accounts.assign_programmes(db, user, chosen, actor=actor, now=clock.now())
    except AccountError as exc:
        return _user_form(request, db, target=user, values=_user_values(user), errors={"programmes": str(exc)},
                          status_code=400)
    return Redirect(f"/admin/users/{user.id}", status_code=303)


# --- organisations -------------------------------------------------------------------------------

ORG_FORM_FIELDS = ("uscc", "name", "kind", "contact_name", "contact_phone", "version")


@get("/admin/organisations", name="admin_organisations", sync_to_thread=True)
def organisation_list(request: Request[Any, Any, Any], db: DbSession, q: FromQuery[str] = "", page_no: PageNo = 1
                      ) -> Response[Any]:
    query = select(Organisation).order_by(Organisation.name)
    if q.strip():
        like = f"%{q.strip()[:64]}%"
        query = query.where(or_(Organisation.name.ilike(like), Organisation.uscc.ilike(like)))
    rows, page_no, pages, total = _paginate(db, query, page_no)
    return page(request, "admin/organisations.html", organisations=rows, q=q, page=page_no, pages=pages,
                total=total, city_name=city_name, kinds=dict(KIND_OPTIONS))


def _org_form(request: Request[Any, Any, Any], *, target: Organisation | None, values: dict[str, Any],
              errors: dict[str, str], status_code: int = 200) -> Response[Any]:
    return page(request, "admin/organisation_form.html", status_code=status_code, target=target, values=values,
                errors=errors, kinds=KIND_OPTIONS, city_name=city_name)


def _org_values(org: Organisation) -> dict[str, Any]:
    return {"uscc": org.uscc, "name": org.name, "kind": org.kind, "contact_name": org.contact_name or "",
            "contact_phone": org.contact_phone or "", "version": org.version}


@get("/admin/organisations/new", name="admin_organisation_new", sync_to_thread=False)
def organisation_new(request: Request[Any, Any, Any]) -> Response[Any]:
    return _org_form(request, target=None, values={"kind": OrganisationKind.ENTERPRISE.value}, errors={})


@post("/admin/organisations/new", name="admin_organisation_create", sync_to_thread=True)
def organisation_create(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, form: SubmittedForm
                        ) -> Response[Any]:
    values = forms.values(form, ORG_FORM_FIELDS)
    try:
        org = organisations.create_organisation(
            db, uscc=values["uscc"], name=values["name"], kind=values["kind"], contact_name=values["contact_name"],
            contact_phone=values["contact_phone"], actor=actor, now=clock.now(),
        )
    except AccountError as exc:
        return _org_form(request, target=None, values=values, errors={exc.field or "form": str(exc)},
                         status_code=400)
    return Redirect(f"/admin/organisations/{org.id}", status_code=303)


@get("/admin/organisations/{org_id:int}", name="admin_organisation", sync_to_thread=True)
def organisation_detail(request: Request[Any, Any, Any], db: DbSession, org_id: FromPath[int]) -> Response[Any]:
    org = row_or_404(db, Organisation, org_id)
    return _org_form(request, target=org, values=_org_values(org), errors={})


@post("/admin/organisations/{org_id:int}", name="admin_organisation_update", sync_to_thread=True)
def organisation_update(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, form: SubmittedForm,
                        org_id: FromPath[int]) -> Response[Any]:
    org = row_or_404(db, Organisation, org_id)
    values = forms.values(form, ORG_FORM_FIELDS)
    try:
        organisations.update_organisation(
            db, org, version=forms.integer(form, "version") or 0, uscc=values["uscc"], name=values["name"],
            kind=values["kind"], contact_name=values["contact_name"], contact_phone=values["contact_phone"],
            actor=actor, now=clock.now(),
        )
    except StaleEdit as exc:  # refused before anything changed: `org` is the stored one, shown with the input
        return _org_form(request, target=org, values=values, errors={"form": str(exc)}, status_code=409)
    except AccountError as exc:
        return _org_form(request, target=org, values=values, errors={exc.field or "form": str(exc)},
                         status_code=400)
    return Redirect(f"/admin/organisations/{org.id}", status_code=303)


@post("/admin/organisations/{org_id:int}/active", name="admin_organisation_active", sync_to_thread=True)
def organisation_active(db: DbSession, actor: RequestActor, form: SubmittedForm, org_id: FromPath[int]
                        ) -> Response[Any]:
    org = row_or_404(db, Organisation, org_id)
    organisations.set_organisation_active(db, org, forms.text(form, "active", 5) == "1", actor=actor,
                                          now=clock.now())
    return Redirect(f"/admin/organisations/{org.id}", status_code=303)


# --- programmes ----------------------------------------------------------------------------------


@get("/admin/programmes", name="admin_programmes", sync_to_thread=True)
def programme_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return _programmes_page(request, db, values={}, errors={})


def _programmes_page(request: Request[Any, Any, Any], db: Session, *, values: dict[str, Any], errors: dict[str, str],
                     status_code: int = 200) -> Response[Any]:
    rows = db.scalars(select(Programme).order_by(Programme.name)).all()
    return page(request, "admin/programmes.html", status_code=status_code, programmes=rows, values=values,
                errors=errors)


@post("/admin/programmes", name="admin_programme_create", sync_to_thread=True)
def programme_create(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, form: SubmittedForm
                     ) -> Response[Any]:
    values = forms.values(form, ("name", "description"), 2000)
    try:
        programmes.create_programme(db, name=values["name"], description=values["description"], actor=actor,
                                    now=clock.now())
    except AccountError as exc:
        return _programmes_page(request, db, values=values, errors={exc.field or "name": str(exc)}, status_code=400)
    return Redirect("/admin/programmes", status_code=303)


# --- audit log -----------------------------------------------------------------------------------


def _local_day(text: str) -> datetime | None:
    """A date typed as Beijing time → the UTC instant of its midnight."""
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time(0), tzinfo=clock.LOCAL_TZ)


@get("/admin/audit", name="admin_audit", sync_to_thread=True)
def audit_log(request: Request[Any, Any, Any], db: DbSession, username: UserFilter = "", action: FromQuery[str] = "",
              object_type: FromQuery[str] = "", object_id: FromQuery[str] = "", date_from: FromQuery[str] = "",
              date_to: FromQuery[str] = "", page_no: PageNo = 1) -> Response[Any]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    errors = {}
    if username.strip():
        query = query.where(AuditEntry.username == username.strip()[:64])
    if action.strip():
        query = query.where(AuditEntry.action == action.strip()[:80])
    if object_type.strip():
        query = query.where(AuditEntry.object_type == object_type.strip()[:40])
    if object_id.strip():
        query = query.where(AuditEntry.object_id == object_id.strip()[:64])
    for name, raw, shift in (("date_from", date_from, 0), ("date_to", date_to, 1)):
        if raw.strip():
            moment = _local_day(raw)
            if moment is None:
                errors[name] = "日期格式应为 YYYY-MM-DD"
            elif shift:
                query = query.where(AuditEntry.at < moment + timedelta(days=1))
            else:
                query = query.where(AuditEntry.at >= moment)
    rows, page_no, pages, total = _paginate(db, query, page_no)
    # The filters are choices of what the log holds, in words (never codes to type).
    actions = db.scalars(select(AuditEntry.action).distinct()).all()
    object_types = db.scalars(select(AuditEntry.object_type).distinct().where(AuditEntry.object_type != "")).all()
    filters = {"user": username, "action": action, "object_type": object_type, "object_id": object_id,
               "date_from": date_from, "date_to": date_to}
    return page(request, "admin/audit.html", status_code=400 if errors else 200, entries=rows, filters=filters,
                errors=errors, actions=sorted(actions, key=labels.action), object_types=sorted(object_types),
                refs=object_refs(db, rows), page=page_no, pages=pages, total=total)


router = Router(path="/", include_in_schema=False, route_handlers=[
    users, user_new, user_create, user_detail, user_update, user_active, user_activation, user_programmes,
    organisation_list, organisation_new, organisation_create, organisation_detail, organisation_update,
    organisation_active, programme_list, programme_create, audit_log,
])
