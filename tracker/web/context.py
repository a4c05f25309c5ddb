"""The request context: one database session per request, the signed-in user, CSRF and the policy.

The transaction follows the response: it commits just before a response below 400 is sent and rolls back
otherwise, so a handler never commits and an error never leaves half a change behind.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

import anyio
from litestar import Request
from litestar.datastructures import Cookie, FormMultiDict, MutableScopeHeaders
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.exc import OperationalError

from tracker import access, clock
from tracker.db import mark_for_writing
from tracker.services import accounts, audit, sessions
from tracker.services.audit import Actor
from tracker.web.common import (
    API_PREFIX,
    CSRF_FIELD,
    CSRF_HEADER,
    UNSAFE_METHODS,
    CsrfRejected,
    InputRejected,
    LoginRequired,
)
from tracker.web.errors import STORAGE_FULL, commit_failure, http_exception_handler, platform_fault
from tracker.web.form_reader import read_form
from tracker.web.proxies import client_address, networks

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from tracker.models import User
    from tracker.settings import Settings

log = logging.getLogger("tracker.web")

# PostgreSQL runs writers side by side; two at once per process leave the CPU and the threads to the pages
# (bench/pages.py --mode mixed: readers' p99 604 ms with four, 518 ms with two, on two cores).
WRITERS_PER_PROCESS = 2
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def cookie_names(settings: Settings) -> dict[str, str]:
    # The __Host- prefix pins the cookie to this host, https and path / (browsers refuse it on http).
    prefix = "__Host-" if settings.secure_cookies else ""
    return {"session": f"{prefix}tracker_session", "csrf": f"{prefix}tracker_csrf", "lang": "tracker_lang"}


def make_cookie(settings: Settings, key: str, value: str, *, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        max_age=max_age,
    )


def csrf_token_for(settings: Settings, seed: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, *, settings: Settings, session_factory: sessionmaker[Session]
    ) -> None:
        self.app = app
        self.settings = settings
        self.factory = session_factory
        self.names = cookie_names(settings)
        self.policy = sessions.SessionPolicy()
        self.trusted_proxies = networks(settings.trusted_proxies)
        self._writers: anyio.CapacityLimiter | None = None

    def _writer_slots(self) -> anyio.CapacityLimiter:
        # Writing requests wait for their turn here, on the event loop, instead of in a worker thread blocked on
        # the database's write lock: a burst of POSTs (a login flood, many submitters at once) would otherwise hold
        # every thread of the pool and starve the pages that only read. SQLite admits one writer at a time anyway.
        if self._writers is None:
            engine = self.factory.kw.get("bind")
            sqlite = engine is None or engine.dialect.name == "sqlite"
            self._writers = anyio.CapacityLimiter(1 if sqlite else WRITERS_PER_PROCESS)
        return self._writers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        await self._handle(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive)
        state = scope.setdefault("state", {})
        peer = request.client.host if request.client else ""
        state["client_ip"] = client_address(peer, request.headers.getall("x-forwarded-for", []),
                                            self.trusted_proxies)
        db = self.factory()
        try:
            try:
                self._check_host(request)
                _check_int_path_params(scope)
                _refuse_nul_in_url(request)
                await self._prepare(request, state, db)
                self._check_policy(scope, state)
                if request.method in UNSAFE_METHODS:
                    # The body may be slow to come (a 100 MB report on a poor line, G16): it is read holding
                    # neither SQLite's write lock nor this process's writer slot, the session's read ended first.
                    await anyio.to_thread.run_sync(_end_read, db)
                await self._read_form(request, state)
                _refuse_nul_in_body(state)
                await self._check_csrf(request, state)
            except HTTPException as exc:
                # Render the error page now, while the signed-in user is still loaded, then leave the audit
                # row of the refusal and nothing else.
                response = await anyio.to_thread.run_sync(http_exception_handler, request, exc)
                if request.method in UNSAFE_METHODS:
                    await anyio.to_thread.run_sync(self._audit_refusal, db, scope, state, exc.status_code)
                await response.to_asgi_response(app=None, request=request)(scope, receive, send)
                return
            if request.method in UNSAFE_METHODS:
                async with self._writer_slots():
                    await anyio.to_thread.run_sync(mark_for_writing, db)
                    await self.app(scope, receive, self._wrap_send(send, scope, state, db))
            else:
                await self.app(scope, receive, self._wrap_send(send, scope, state, db))
        finally:
            if db.in_transaction():
                await anyio.to_thread.run_sync(db.rollback)
            await anyio.to_thread.run_sync(db.close)

    async def _prepare(self, request: Request[Any, Any, Any], state: dict[str, Any], db: Session) -> None:
        token = request.cookies.get(self.names["session"], "")
        bearer = _bearer_token(request)
        user: User | None = None
        if token:
            user = await anyio.to_thread.run_sync(
                lambda: sessions.resolve_session(db, token, now=clock.now(), policy=self.policy)
            )
        elif bearer:
            if not _is_api_path(request.url.path):
                # DESIGN §4: a token is for API clients; on the pages it would be a CSRF-exempt login able to
                # mint new tokens or change the password.
                raise NotAuthorizedException(detail="API 令牌只能用于 /api/v1/ 接口，页面请登录后使用")
            user = await anyio.to_thread.run_sync(
                lambda: accounts.resolve_api_token(db, bearer, now=clock.now())
            )
            if user is None:
                raise NotAuthorizedException(detail="API 令牌无效、已过期或已撤销")
        if db.dirty or db.deleted:
            # The session's housekeeping (last seen, a dead session) goes now, on its own: a read request then
            # needs no write lock at all, an unsafe one takes it only once its body has come.
            await anyio.to_thread.run_sync(self._commit_housekeeping, db)
        state["db"] = db
        state["user"] = user
        state["via_token"] = bool(bearer) and not token
        state["actor"] = Actor.of(user, client_ip(request))
        state["session_token"] = token if user is not None else ""
        state["lang"] = request.cookies.get(self.names["lang"], "")
        csrf_seed = request.cookies.get(self.names["csrf"], "")
        if not csrf_seed or len(csrf_seed) > 100:
            csrf_seed = secrets.token_urlsafe(32)
            state["set_csrf_cookie"] = csrf_seed
        state["csrf_seed"] = csrf_seed
        # Signed in, the token is bound to the session; anonymous, to the CSRF cookie.
        state["csrf_token"] = csrf_token_for(self.settings, state["session_token"] or csrf_seed)

    async def _read_form(self, request: Request[Any, Any, Any], state: dict[str, Any]) -> None:
        # Parsed once here; sync handlers read it from the state (they cannot await request.form()).
        state["form"] = FormMultiDict()
        state["json_body"] = b""
        if request.method in UNSAFE_METHODS and request.content_type[0] in FORM_TYPES:
            state["form"] = await read_form(request)
        elif request.method in UNSAFE_METHODS and request.content_type[0] == "application/json":
            # Kept raw: an API handler parses it only after finding the object in the user's scope.
            state["json_body"] = await request.body()

    async def _check_csrf(self, request: Request[Any, Any, Any], state: dict[str, Any]) -> None:
        if request.method not in UNSAFE_METHODS:
            return
        if state["via_token"]:
            return  # DESIGN §4: the only exemption, an API client without a browser session
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent:
            sent = str(state["form"].get(CSRF_FIELD, ""))
        if "set_csrf_cookie" in state or not hmac.compare_digest(sent, state["csrf_token"]):
            raise CsrfRejected(detail="表单已过期或来源无效（CSRF 校验失败），请刷新页面后重试")

    def _check_host(self, request: Request[Any, Any, Any]) -> None:
        allowed = self.settings.allowed_hosts
        if "*" in allowed:
            return
        host = request.headers.get("host", "").rsplit(":", 1)[0].strip("[]").lower()
        if host not in allowed:
            raise ClientException(detail="主机名不在允许访问的列表中（TRACKER_ALLOWED_HOSTS）", status_code=400)

    def _check_policy(self, scope: Scope, state: dict[str, Any]) -> None:
        handler = scope.get("route_handler")
        name = getattr(handler, "name", None)
        user = state["user"]
        role = user.role if user is not None else None
        if access.may_access(name, role):
            return
        if user is None and state["via_token"]:
            raise NotAuthorizedException(detail="API 令牌无效")
        if user is None:
            raise LoginRequired(detail="请先登录")
        raise PermissionDeniedException(detail="您的角色无权访问此页面")

    def _audit_refusal(self, db: Session, scope: Scope, state: dict[str, Any], status: int) -> None:
        """A refused unsafe request changes nothing but leaves its audit row (G26)."""
        db.rollback()
        mark_for_writing(db)
        actor = state.get("actor") or Actor(None, "", "anonymous", client_ip(Request(scope)))
        audit.record(db, actor, _route_name(scope) or "unknown", now=clock.now(), result=f"refused:{status}",
                     object_id=scope.get("path", "")[:64])
        db.commit()

    def _finish(self, db: Session, scope: Scope, state: dict[str, Any], status: int) -> None:
        """Commit a success (with its audit row) or roll back a failure and audit the refusal."""
        unsafe = scope.get("method") in UNSAFE_METHODS
        if status < 400 or state.get("keep_on_error"):
            if unsafe and not db.info.get("audited"):
                audit.record(db, state["actor"], _route_name(scope) or "unknown", now=clock.now(),
                             result="ok" if status < 400 else f"refused:{status}")
            if unsafe:
                db.commit()
            else:
                self._commit_housekeeping(db)
        elif unsafe:
            self._audit_refusal(db, scope, state, status)
        else:
            db.rollback()

    @staticmethod
    def _commit_housekeeping(db: Session) -> None:
        """A read request writes only session housekeeping (last seen, a dead session): when another writer holds
        SQLite's lock, or the disk is full, skip it rather than fail the page; it is retried on a later request."""
        try:
            db.commit()
        except OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            fault = platform_fault(exc)
            if not busy and (fault is None or fault.message != STORAGE_FULL):
                raise
            log.info("session housekeeping skipped: %s", "database busy" if busy else "storage full")
            db.rollback()

    def _wrap_send(self, send: Send, scope: Scope, state: dict[str, Any], db: Session) -> Send:
        replaced = False

        async def wrapped(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                try:
                    await anyio.to_thread.run_sync(self._finish, db, scope, state, message["status"])
                except Exception as exc:
                    incident = secrets.token_hex(6)
                    # 503 for a full disk or a lost database connection (G28), 500 otherwise; logged there.
                    status, body, headers = commit_failure(exc, incident, scope.get("method", ""),
                                                           scope.get("path", ""))
                    try:
                        await anyio.to_thread.run_sync(db.rollback)
                    except Exception:  # noqa: BLE001 - a lost connection cannot roll back; the pool drops it
                        log.warning("rollback after a failed commit failed, incident %s", incident)
                    replaced = True
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
                seed = state.get("set_csrf_cookie")
                if seed:
                    headers = MutableScopeHeaders.from_message(message)
                    headers.add("set-cookie", make_cookie(self.settings, self._csrf_name, seed).to_header(header=""))
            await send(message)

        return wrapped

    @property
    def _csrf_name(self) -> str:
        return self.names["csrf"]


def json_body_of(request: Request[Any, Any, Any]) -> bytes:
    """The raw JSON body of an unsafe request (empty for any other content type)."""
    return request.scope["state"].get("json_body") or b""


# The id columns are 4-byte INTEGER on PostgreSQL: a larger id in a query aborts the transaction there (a 500).
MAX_DB_INT = 2**31 - 1


def _check_int_path_params(scope: Scope) -> None:
    """An id no id column can hold is simply not found."""
    for value in (scope.get("path_params") or {}).values():
        if isinstance(value, int) and not -MAX_DB_INT <= value <= MAX_DB_INT:
            raise NotFoundException()


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address: the peer, or behind a trusted proxy the address it forwarded."""
    known = request.scope.get("state", {}).get("client_ip")
    if known is not None:
        return known
    return request.client.host if request.client else ""


def _is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


# --- NUL bytes ------------------------------------------------------------------------------------
# PostgreSQL cannot store a NUL in text and answers with an error, so a NUL anywhere in the input is refused here,
# before any handler or query sees it, with the name of the field that held it.


def _refuse_nul_in_url(request: Request[Any, Any, Any]) -> None:
    if "\x00" in request.url.path:
        raise NotFoundException()
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise InputRejected(_printable(key))


def _refuse_nul_in_body(state: dict[str, Any]) -> None:
    for key, value in state["form"].multi_items():
        text = value if isinstance(value, str) else (getattr(value, "filename", "") or "")
        if "\x00" in key or "\x00" in text:
            raise InputRejected(_printable(key))
    if state["json_body"]:
        try:
            parsed = json.loads(state["json_body"])
        except (ValueError, RecursionError):
            return  # not JSON: the handler says so in its own words
        where = _nul_in_json(parsed, "")
        if where is not None:
            raise InputRejected(where)


def _nul_in_json(value: Any, path: str) -> str | None:
    """The dotted path of the first string (key or value) holding a NUL, or None."""
    if isinstance(value, str):
        return None if "\x00" not in value else _printable(path or "body")
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        here = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return _printable(here)
        found = _nul_in_json(item, here)
        if found is not None:
            return found
    return None


def _printable(name: str) -> str:
    return name.replace("\x00", "\\0")[:80]


def _bearer_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _route_name(scope: Scope) -> str | None:
    return getattr(scope.get("route_handler"), "name", None)


def state_of(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.scope["state"]


def keep_changes_on_error(request: Request[Any, Any, Any]) -> None:
    """Commit this request's writes although it answers with an error (a failed login counts)."""
    request.scope["state"]["keep_on_error"] = True


def _end_read(db: Session) -> None:
    """End the session's read (its housekeeping is already committed) before a slow body. The objects it loaded,
    the signed-in user among them, load again from the write transaction when the handler next reads them."""
    if db.in_transaction():
        db.rollback()
