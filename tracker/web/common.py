"""What every part of the web layer shares and that depends on nothing else of it: the exceptions the error
pages turn into answers, and the names of the CSRF field and header (a leaf, so that the request context,
the error pages and the renderer never import each other in a circle)."""

from __future__ import annotations

from urllib.parse import quote

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "_csrf_token"
CSRF_HEADER = "x-csrftoken"


class CsrfRejected(PermissionDeniedException):
    """403 for a missing or foreign CSRF token."""


class LoginRequired(NotAuthorizedException):
    """401 turned into a redirect to the login page by the error handler."""


def login_redirect_target(path: str) -> str:
    return "/login?next=" + quote(path, safe="/")
