"""What every part of the web layer shares and that depends on nothing else of it: the exceptions the error
pages turn into answers, and the names of the CSRF field and header (a leaf, so that the request context,
the error pages and the renderer never import each other in a circle)."""

from __future__ import annotations

from urllib.parse import quote

from litestar.exceptions import ClientException, NotAuthorizedException, PermissionDeniedException

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1"
CSRF_FIELD = "_csrf_token"
CSRF_HEADER = "x-csrftoken"


class CsrfRejected(PermissionDeniedException):
    """403 for a missing or foreign CSRF token."""


class InputRejected(ClientException):
    """400 for input no field may hold (a NUL byte), refused before any handler sees it."""

    def __init__(self, field: str) -> None:
        super().__init__(detail=f"提交的内容在“{field}”中含有不允许的空字符（NUL），请删除后重新提交")
        self.field = field


class LoginRequired(NotAuthorizedException):
    """401 turned into a redirect to the login page by the error handler."""


def login_redirect_target(path: str) -> str:
    return "/login?next=" + quote(path, safe="/")
