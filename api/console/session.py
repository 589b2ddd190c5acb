"""The console's sign-in: an API key typed into a form becomes a signed session cookie.

The cookie holds the key's id and an expiry, signed with an HMAC keyed by the deployment secret; it never
holds the key itself. Every request looks the key id up again, so a revoked key signs its sessions out at
once. The cookie is HttpOnly, SameSite=Strict and Secure when the request came over https.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from api.services.keys import Principal, principal_by_key_id
from api.state import ServiceState

SESSION_COOKIE = "rs_session"
LANG_COOKIE = "rs_lang"
SESSION_SECONDS = 12 * 3600


def _signing_key(secret: str) -> bytes:
    # Derived, so a session signature can never double as an API-key hash (both use the secret).
    return hmac.new(secret.encode(), b"console-session", hashlib.sha256).digest()


def session_token(key_id: str, secret: str, *, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    payload = json.dumps({"k": key_id, "e": expires}, separators=(",", ":"))
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    signature = hmac.new(_signing_key(secret), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{signature}"


def key_id_of(token: str, secret: str, *, now: float | None = None) -> str | None:
    """The key id a valid, unexpired token names; None for anything else."""
    body, _, signature = token.partition(".")
    expected = hmac.new(_signing_key(secret), body.encode(), hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(signature, expected):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        key_id, expires = str(payload["k"]), int(payload["e"])
    except (ValueError, KeyError, TypeError):
        return None
    return key_id if expires > (time.time() if now is None else now) else None


def session_cookie(request: Request[Any, Any, Any], token: str | None) -> Cookie:
    """The session cookie to set (``token``) or to clear (None)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=SESSION_SECONDS if token else 0,
    )


async def provide_viewer(request: Request[Any, Any, Any]) -> Principal | None:
    """Who is signed in to the console (None: nobody, or a session that expired or was revoked)."""
    token = request.cookies.get(SESSION_COOKIE)
    state = ServiceState.of(request.app)
    key_id = key_id_of(token, state.settings.secret) if token else None
    principal = None
    if key_id is not None:
        async with state.sessions() as session:
            principal = await principal_by_key_id(session, key_id=key_id)
    request.state.viewer = principal  # error pages show the menu of whoever is signed in
    return principal


# The ``viewer`` parameter of every page: who is signed in, or None.
Viewer = NamedDependency[SkipValidation[Principal | None]]
