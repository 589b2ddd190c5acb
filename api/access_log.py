"""A structured access log: one JSON line per request on the ``api.access`` logger.

Fields: method, path, status, milliseconds, the key id (never the key), the client address. The start
time is taken by a middleware and the line written when the response starts, in a ``before_send``
hook, so that responses made by the error handlers (401, 429, 503) are logged with their real status.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.services.keys import Principal

access_logger = logging.getLogger("api.access")
_STARTED = "roadshow_started"


class AccessLogMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope.setdefault("state", {})[_STARTED] = time.perf_counter()
        await next_app(scope, receive, send)


def access_line(scope: Scope, status: int, milliseconds: float | None) -> str:
    user = scope.get("user")
    client = scope.get("client")
    return json.dumps(
        {
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "ms": None if milliseconds is None else round(milliseconds, 2),
            "key_id": user.key_id if isinstance(user, Principal) else None,
            "client": client[0] if client else None,
        },
        ensure_ascii=False,
    )


async def log_response(message: Message, scope: Scope) -> None:
    """``before_send`` hook: write the access line when the response starts."""
    if message["type"] != "http.response.start" or not access_logger.isEnabledFor(logging.INFO):
        return
    started: Any = scope.get("state", {}).get(_STARTED)
    milliseconds = (time.perf_counter() - started) * 1000.0 if started is not None else None
    access_logger.info(access_line(scope, message["status"], milliseconds))
