"""The ``Idempotency-Key`` header as a handler parameter, and the caller it is scoped to."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import HeaderParameter

from api.guards.rate_limit import request_client
from api.services.idempotency import HEADER, IdempotentRequest, fingerprint
from api.services.keys import Principal
from api.state import ServiceState

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID); a retry with the same key and body replays the first response",
    ),
]
NO_STORE = {"Cache-Control": "no-store"}


def idempotent_request(
    request: Request[Any, Any, Any], service: ServiceState, key: str | None, body: Any
) -> IdempotentRequest | None:
    if key is None:
        return None
    user = request.scope.get("user")
    caller = f"key:{user.key_id}" if isinstance(user, Principal) else f"address:{request_client(request)}"
    return IdempotentRequest(
        caller=caller[:100],
        key=key,
        fingerprint=fingerprint(request.method, request.url.path, body),
        secret=service.settings.secret,
    )
