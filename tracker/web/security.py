"""Headers every response carries (G13), whatever produced it: pages, static files, errors, 404s."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

# The printable pages (templates/print/) carry their own stylesheet, for the PDF renderer as for the browser, and
# set column widths inline: styles only, still no script.
PRINT_CSP = CSP + "; style-src 'self' 'unsafe-inline'"

BASE_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}


def make_security_headers_hook(*, https: bool):
    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        own_policy = headers.get("content-security-policy") or ""
        for name, value in BASE_HEADERS.items():
            headers[name] = value
        if own_policy.startswith(CSP + "; "):  # a page may add to the policy (the printable checklist), never relax it
            headers["content-security-policy"] = own_policy
        if (headers.get("content-disposition") or "").startswith("attachment"):
            # A download is never a page of ours: even opened in place it runs nothing (G15).
            headers["content-security-policy"] = CSP + "; sandbox"
        if https:
            headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
        # Pages may show personal or unpublished data: never cached. Static assets are public.
        if not scope.get("path", "").startswith("/static/"):
            headers["cache-control"] = "no-store"
        if "server" in headers:
            del headers["server"]

    return add_security_headers
