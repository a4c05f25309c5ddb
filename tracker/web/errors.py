"""Error pages: 403, 404, 405, 413, 500 without tracebacks; the 500 page shows an incident id that is
also in the log, so an operator can find the traceback a user reports."""

from __future__ import annotations

import logging
import secrets
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
    log.error("incident %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
    return _error_response(request, 500, "系统出现意外错误，已记录。请把事件编号告诉管理员。", incident)
