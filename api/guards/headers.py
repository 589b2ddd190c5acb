"""Security headers on every response (a ``before_send`` hook, so error responses carry them too)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

# Pages are server-rendered with local assets only: no inline script, nothing from elsewhere.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# The interactive OpenAPI docs under /schema are the framework's pages (inline script): not ours to police.
_OWN_PAGES_EXCEPT = "/schema"


async def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    content_type = headers.get("content-type") or ""
    if content_type.startswith("text/html") and not str(scope.get("path", "")).startswith(_OWN_PAGES_EXCEPT):
        headers.setdefault("Content-Security-Policy", PAGE_POLICY)
