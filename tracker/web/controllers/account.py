"""The user's own page: password change and personal API tokens; account activation by link."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker import clock
from tracker.models import ApiToken, User
from tracker.services import accounts, sessions
from tracker.services.accounts import AccountError
from tracker.web import forms
from tracker.web.context import client_ip, cookie_names, make_cookie
from tracker.web.deps import AppSettings, CurrentUser, DbSession, RequestActor, SubmittedForm
from tracker.web.render import page


def _account_page(request: Request[Any, Any, Any], db: Session, user: User, *, status_code: int = 200,
                  **extra: Any) -> Response[Any]:
    tokens = db.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    context = {"errors": {}, "new_token": None, "notice": None, "now": clock.now(), "tokens": tokens}
    context.update(extra)
    return page(request, "account/index.html", status_code=status_code, **context)


@get("/account", name="account", sync_to_thread=True)
def account(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser) -> Response[Any]:
    return _account_page(request, db, user)


@post("/account/password", name="account_password", sync_to_thread=True)
def change_password(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                    settings: AppSettings, form: SubmittedForm) -> Response[Any]:
    try:
        accounts.change_own_password(
            db, user, forms.text(form, "old_password", 1024), forms.text(form, "password", 1024),
            forms.text(form, "confirm", 1024), actor=actor, now=clock.now(),
        )
    except AccountError as exc:
        return _account_page(request, db, user, status_code=400, errors={exc.field or "password": str(exc)})
    # Every old session died with the old password; this browser gets a fresh one.
    token = sessions.start_session(db, user, now=clock.now(), ip=client_ip(request))
    response = Redirect("/account?changed=1", status_code=303)
    response.set_cookie(make_cookie(settings, cookie_names(settings)["session"], token))
    return response


@post("/account/language", name="account_language", sync_to_thread=True)
def change_language(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                    settings: AppSettings, form: SubmittedForm) -> Response[Any]:
    language = forms.text(form, "language", 10)
    try:
        accounts.set_language(db, user, language, actor=actor, now=clock.now())
    except AccountError as exc:
        return _account_page(request, db, user, status_code=400, errors={exc.field or "language": str(exc)})
    # The pages follow at once (the cookie), the mails from now on (the account).
    response = Redirect("/account", status_code=303)
    response.set_cookie(make_cookie(settings, cookie_names(settings)["lang"], language, max_age=365 * 24 * 3600))
    return response


@post("/account/tokens", name="account_token_create", sync_to_thread=True)
def create_token(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                 form: SubmittedForm) -> Response[Any]:
    try:
        _row, token = accounts.create_api_token(
            db, user, forms.text(form, "name", 200), forms.integer(form, "days") or 0, actor=actor, now=clock.now(),
        )
    except AccountError as exc:
        return _account_page(request, db, user, status_code=400, errors={exc.field or "name": str(exc)},
                             token_name=forms.text(form, "name", 100))
    return _account_page(request, db, user, new_token=token)


@post("/account/tokens/{token_id:int}/revoke", name="account_token_revoke", sync_to_thread=True)
def revoke_token(db: DbSession, user: CurrentUser, actor: RequestActor, token_id: FromPath[int]) -> Response[Any]:
    try:
        accounts.revoke_api_token(db, user, token_id, actor=actor, now=clock.now())
    except AccountError:
        raise NotFoundException() from None
    return Redirect("/account", status_code=303)


@get("/activate/{token:str}", name="activate_form", sync_to_thread=True)
def activate_form(request: Request[Any, Any, Any], db: DbSession, token: FromPath[str]) -> Response[Any]:
    target = accounts.activation_user(db, token, now=clock.now())
    return page(request, "auth/activate.html", status_code=200 if target else 404, target=target, errors={},
                token=token)


@post("/activate/{token:str}", name="activate_submit", sync_to_thread=True)
def activate_submit(request: Request[Any, Any, Any], db: DbSession, form: SubmittedForm, token: FromPath[str]
                    ) -> Response[Any]:
    target = accounts.activation_user(db, token, now=clock.now())
    if target is None:
        return page(request, "auth/activate.html", status_code=404, target=None, errors={}, token=token)
    try:
        accounts.activate(db, token, forms.text(form, "password", 1024), forms.text(form, "confirm", 1024),
                          ip=client_ip(request), now=clock.now())
    except AccountError as exc:
        return page(request, "auth/activate.html", status_code=400, target=target,
                    errors={exc.field or "password": str(exc)}, token=token)
    return Redirect("/login?activated=1", status_code=303)


router = Router(path="/", route_handlers=[account, change_password, change_language, create_token, revoke_token,
                                          activate_form, activate_submit], include_in_schema=False)
