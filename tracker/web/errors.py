"""Error pages: 403, 404, 405, 413, 500 without tracebacks; the 500 page shows an incident id that is
also in the log, so an operator can find the traceback a user reports.

Two failures of the platform rather than of the code answer 503 instead (G28), with a Chinese sentence that says
what happened and that nothing was saved: a full disk (SQLite's SQLITE_FULL, PostgreSQL's SQLSTATE 53100, ENOSPC or
EDQUOT from a file write) and a database connection lost in the middle of the request (the connection pool drops
it; the next request gets a fresh one). They are logged with the incident id and the driver's own message only:
never the SQL statement or its parameters, which carry what the user typed."""

from __future__ import annotations

import errno
import logging
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from tracker.web.common import InputRejected, LoginRequired, login_redirect_target
from tracker.web.render import page

log = logging.getLogger("tracker.web")

TITLES = {
    400: "请求无效",
    401: "需要登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持的请求方式",
    413: "提交的内容过大",
    429: "请求过于频繁",
    500: "系统内部错误",
    503: "服务暂不可用",
}

MESSAGES = {
    400: "请求的格式不正确，请返回上一页检查后重试。",
    404: "您访问的页面不存在，或您无权查看该对象。",
    405: "此地址不接受这种请求方式。",
    413: "提交的内容超过了系统允许的大小，请缩小文件后重试。",
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def _error_response(request: Request[Any, Any, Any], status: int, message: str, incident: str | None = None):
    if _wants_json(request):
        body: dict[str, Any] = {"status": status, "error": message}
        if incident:
            body["incident"] = incident
        return Response(content=body, status_code=status, media_type=MediaType.JSON)
    try:
        return page(request, "errors/error.html", status_code=status, status=status,
                    title=TITLES.get(status, "出错了"), message=message, incident=incident)
    except Exception:  # the error page itself must never fail
        log.exception("error page failed")
        text = f"{status} {TITLES.get(status, '')} {message}"
        return Response(content=text, status_code=status, media_type=MediaType.TEXT)


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, LoginRequired) and not _wants_json(request):
        return Redirect(login_redirect_target(request.url.path), status_code=303)
    if status >= 500:
        return internal_error_handler(request, exc)
    detail = exc.detail if exc.detail and exc.detail != TITLES.get(status) else ""
    # Litestar's own English details (validation, size) are replaced by our Chinese messages.
    message = detail if _is_ours(detail) else MESSAGES.get(status, TITLES.get(status, "请求无法处理"))
    response = _error_response(request, status, message)
    if isinstance(exc, InputRejected) and isinstance(response.content, dict):
        response.content["errors"] = {exc.field: message}  # the API's field-error shape
    if status == 405 and isinstance(exc.headers, dict) and "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    return response


def _is_ours(detail: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in detail)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    incident = secrets.token_hex(6)
    fault = platform_fault(exc)
    if fault is not None:
        fault.log(incident, request.method, request.url.path)
        _roll_back(request)  # the page below may read (the signed-in user) in a session that cannot go on
        response = _error_response(request, 503, fault.message, incident)
        if fault.retry_after:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response
    log.error("incident %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
    return _error_response(request, 500, "系统出现意外错误，已记录。请把事件编号告诉管理员。", incident)


# --- platform faults (G28) ------------------------------------------------------------------------------------

STORAGE_FULL = "服务器存储空间已满，本次提交未能保存。请联系管理员清理磁盘空间后重试。"
DATABASE_LOST = "与数据库的连接中断，本次提交未能保存。请稍后重试。"
PG_DISK_FULL = "53100"  # SQLSTATE disk_full
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True)
class PlatformFault:
    """A failure of the disk or of the database connection: answered 503 with `message`, logged as `kind`."""

    kind: str
    message: str
    detail: str  # the driver's or the OS's own message: never the SQL statement or its parameters
    retry_after: int = 0

    def log(self, incident: str, method: str, path: str) -> None:
        log.error("incident %s on %s %s: %s (%s)", incident, method, path, self.kind, self.detail)


def platform_fault(exc: BaseException) -> PlatformFault | None:
    """The full disk or lost database connection behind `exc` (looked for along its causes), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_FULL_ERRNOS:
            return PlatformFault("storage full", STORAGE_FULL, f"{type(current).__name__} errno {current.errno}: "
                                 f"{current.strerror}")
        driver = getattr(current, "orig", None)  # a SQLAlchemy DBAPIError wraps the driver's exception
        if driver is not None:
            detail = f"{type(driver).__module__}.{type(driver).__name__}: {_first_line(driver)}"
            if _driver_disk_full(driver):
                return PlatformFault("database storage full", STORAGE_FULL, detail)
            if getattr(current, "connection_invalidated", False):
                return PlatformFault("database connection lost", DATABASE_LOST, detail, retry_after=5)
        current = current.__cause__ or current.__context__
    return None


def _driver_disk_full(driver: BaseException) -> bool:
    if isinstance(driver, sqlite3.Error):
        return (getattr(driver, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or "database or disk is full" in str(driver))
    return getattr(driver, "sqlstate", None) == PG_DISK_FULL  # psycopg's errors carry their SQLSTATE


def _first_line(exc: BaseException) -> str:
    """The driver's message: its first line (psycopg adds the statement's context on later lines)."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def _roll_back(request: Request[Any, Any, Any]) -> None:
    db = request.scope.get("state", {}).get("db")
    if db is None:
        return
    try:
        db.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool discards it
        log.warning("rollback after a platform fault failed", exc_info=False)


def commit_failure(exc: BaseException, incident: str, method: str, path: str) -> tuple[int, bytes, list]:
    """The plain answer that replaces a response whose transaction could not be committed: 503 for a full disk or
    a lost database connection (nothing was saved), 500 otherwise. Logged here with the incident id."""
    fault = platform_fault(exc)
    if fault is None:
        log.error("commit failed, incident %s on %s %s", incident, method, path, exc_info=exc)
        status, message = 500, "保存失败，请重试。"
    else:
        fault.log(incident, method, path)
        status, message = 503, fault.message
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if fault is not None and fault.retry_after:
        headers.append((b"retry-after", str(fault.retry_after).encode()))
    return status, f"{message}事件编号：{incident}".encode(), headers
