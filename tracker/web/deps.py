"""What a handler asks for by parameter name (Litestar dependency injection): `db: DbSession`,
`user: CurrentUser`, `actor: RequestActor`, `settings: AppSettings` (the deployment's, from the environment),
`business: Business` (the admin's business settings, read from the database once per request that asks),
`form: SubmittedForm`. The request context middleware has already opened the session, found the user and parsed
the form; these only hand them over, so a handler says what it needs instead of digging in the request."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlalchemy.orm import Session

from tracker.models import User
from tracker.services import business_settings
from tracker.services.audit import Actor
from tracker.services.business_settings import BusinessSettings
from tracker.settings import Settings


def _state(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.scope["state"]


def provide_db(request: Request[Any, Any, Any]) -> Session:
    """The request's session: the middleware commits it for an answer below 400 and rolls it back otherwise."""
    return _state(request)["db"]


def provide_user(request: Request[Any, Any, Any]) -> User | None:
    """The signed-in user; None only on the routes the policy opens to everyone (login, activation, health)."""
    return _state(request).get("user")


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """Who the audit rows of this request name (user, role, IP)."""
    return _state(request)["actor"]


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings


def provide_business(request: Request[Any, Any, Any]) -> BusinessSettings:
    return business_settings.load(_state(request)["db"])


def provide_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The submitted form, parsed once by the middleware (sync handlers cannot await request.form())."""
    return _state(request).get("form") or FormMultiDict()


# The annotations of a handler's parameters (Litestar wants dependencies marked as such).
DbSession = NamedDependency[Session]
CurrentUser = NamedDependency[User]
OptionalUser = NamedDependency[User | None]  # the routes open to everyone
RequestActor = NamedDependency[Actor]
AppSettings = NamedDependency[Settings]
SubmittedForm = NamedDependency[FormMultiDict]
Business = NamedDependency[BusinessSettings]

DEPENDENCIES = {
    name: Provide(provider, sync_to_thread=False)
    for name, provider in (("db", provide_db), ("user", provide_user), ("actor", provide_actor),
                           ("settings", provide_settings), ("form", provide_form))
}
# A query: off the event loop, like the handlers' own.
DEPENDENCIES["business"] = Provide(provide_business, sync_to_thread=True)


# `?page=N` of a paged list, as `page_no: PageNo = 1` (the name `page` is taken by the page renderer).
PageNo = Annotated[int, QueryParameter(name="page")]
