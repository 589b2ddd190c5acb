"""``Idempotency-Key``: a retried request gets the response of the first, never a second record.

The key is scoped to the caller (its API key id, or its client address when anonymous) and bound to
the request (method, path and the parsed body): the same key with another body is refused (422). The
record is written in the transaction that makes the change, so a change is committed if and only if
its response can be replayed — a client whose connection dropped after the commit retries safely.

Responses may carry a secret (a registration returns the new startup's API key once). They are stored
sealed: XOR with a keystream derived by HMAC-SHA256 from the deployment secret, the caller and the
idempotency key, so neither the table nor the deployment secret alone reveals them; only the caller's
own retry, which presents the idempotency key, can open them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import IdempotencyRecord, utcnow
from matcher.errors import InvalidInputError

HEADER = "Idempotency-Key"
# A retry comes within minutes; a day covers a client that was down overnight.
RETENTION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    caller: str
    key: str
    fingerprint: str
    secret: str


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    """A digest of what the request asks for (the parsed body, so spacing and key order do not matter)."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(msgspec.json.encode(msgspec.to_builtins(body), order="sorted"))
    return digest.hexdigest()


def _keystream(request: IdempotentRequest, length: int) -> bytes:
    seed = hmac.new(request.secret.encode(), f"idempotency\0{request.caller}\0{request.key}".encode(), "sha256")
    key = seed.digest()
    blocks = (hashlib.sha256(key + n.to_bytes(8, "big")).digest() for n in range((length + 31) // 32))
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def seal(request: IdempotentRequest, body: Any) -> str:
    plain = msgspec.json.encode(body)
    return base64.b64encode(_xor(plain, _keystream(request, len(plain)))).decode()


def unseal(request: IdempotentRequest, sealed: str) -> Any:
    cipher = base64.b64decode(sealed)
    return msgspec.json.decode(_xor(cipher, _keystream(request, len(cipher))))


async def recall(session: AsyncSession, request: IdempotentRequest) -> Replay | None:
    """The stored response for this caller and key, or None; 422 when the key was used for another body."""
    row = await session.get(IdempotencyRecord, (request.caller, request.key))
    if row is None or row.created_at < utcnow() - RETENTION:
        return None
    if not hmac.compare_digest(row.fingerprint, request.fingerprint):
        raise InvalidInputError(
            f"this {HEADER} was already used for a different request; use a new key for a new request",
            field=HEADER,
        )
    return Replay(row.status_code, unseal(request, row.sealed_response))


async def remember(session: AsyncSession, request: IdempotentRequest, status_code: int, body: Any) -> None:
    """Store the response in the caller's open transaction (and forget expired ones)."""
    await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - RETENTION))
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.caller == request.caller, IdempotencyRecord.key == request.key
        )
    )
    session.add(
        IdempotencyRecord(
            caller=request.caller,
            key=request.key,
            fingerprint=request.fingerprint,
            status_code=status_code,
            sealed_response=seal(request, msgspec.to_builtins(body)),
        )
    )
