"""Request bodies checked before anything parses them: size, JSON nesting depth, control characters.

msgspec and Litestar would otherwise meet a body nested a thousand levels deep with a RecursionError
(a 500), and a NUL character would travel to PostgreSQL, which refuses it in text (another 500). This
middleware answers both with a 4xx naming the field, and enforces the route's body limit while it reads.
"""

from __future__ import annotations

import re
from typing import Any, cast

import msgspec
import numpy as np
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ASGIApp, HTTPReceiveMessage, Receive, Scope, Send

MAX_JSON_DEPTH = 32
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON string literal (unrolled loop: linear time on any input).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# An escaped control character other than tab, line feed and carriage return (raw ones are invalid JSON).
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_OPEN = (ord("["), ord("{"))
_CLOSE = (ord("]"), ord("}"))


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (a cheap upper bound when it is small)."""
    brackets = body.count(b"[") + body.count(b"{")
    if brackets <= MAX_JSON_DEPTH:
        return brackets
    codes = np.frombuffer(_STRING.sub(b'""', body), dtype=np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int32) - np.isin(codes, _CLOSE).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def control_character_field(value: Any, path: str = "") -> str | None:
    """The path (``ip_assets[0].title``) of the first string holding a control character, if any."""
    if isinstance(value, str):
        return path or "body" if _CONTROL.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _CONTROL.search(key):
                return where
            found = control_character_field(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = control_character_field(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _invalid(field: str | None, message: str) -> ValidationException:
    return ValidationException(detail=message, extra=[{"key": field, "message": message, "source": "body"}])


def check_json_body(body: bytes) -> None:
    """Raise a 400 for a body nested too deeply or holding a control character (naming the field)."""
    if json_depth(body) > MAX_JSON_DEPTH:
        raise _invalid(None, f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep")
    if _CONTROL_ESCAPE.search(body):
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return  # malformed JSON: the framework's own decoding reports it
        field = control_character_field(decoded)
        if field is not None:
            raise _invalid(field, "must not contain NUL or other control characters")


class BodyLimitsMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler: Any = scope["route_handler"]
        if scope.get("method") not in _BODY_METHODS or not hasattr(handler, "resolve_request_max_body_size"):
            await next_app(scope, receive, send)
            return
        limit = handler.resolve_request_max_body_size()
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit and size > limit:
                raise HTTPException(
                    status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE, detail=f"the body is larger than {limit} bytes"
                )
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            check_json_body(body)
        replayed = False

        async def replay() -> HTTPReceiveMessage:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: Any = await receive()
            return cast("HTTPReceiveMessage", message)

        await next_app(scope, replay, send)
