"""API keys and the principal a key stands for. Keys are stored only as keyed SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import ApiKey, Investor, Startup
from api.services import idempotency
from api.services.idempotency import IdempotentRequest, Replay
from matcher.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

KEY_PREFIX = "rsk_"
# The width of the ``api_keys.name`` column.
KEY_NAME_LENGTH = 200


class Role(StrEnum):
    ADMIN = "admin"
    ORGANISER = "organiser"
    BANK = "bank"
    STARTUP = "startup"
    # A roadshow participant on the other side: one investor or bank institution (its own profile,
    # availability, wishes, requests and outcomes; a bank's credit desk keeps the ``bank`` role).
    INVESTOR = "investor"


STAFF = frozenset({Role.ADMIN, Role.ORGANISER})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the role and, for banks, startups and investors, the one record the key is bound to."""

    key_id: str
    role: Role
    bank_id: str | None = None
    startup_id: str | None = None
    investor_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    def require_startup_access(self, startup_id: str) -> None:
        """The startup itself, organisers and admins."""
        if self.is_staff or (self.role is Role.STARTUP and self.startup_id == startup_id):
            return
        raise PermissionDeniedError(f"this key may not access startup {startup_id}")

    def require_investor_access(self, investor_id: str) -> None:
        """The investor or bank institution itself (an investor key), organisers and admins."""
        if self.is_staff or (self.role is Role.INVESTOR and self.investor_id == investor_id):
            return
        raise PermissionDeniedError(f"this key may not access investor {investor_id}")

    @property
    def participant_id(self) -> str | None:
        """The roadshow participant the key stands for: its startup or its investor institution."""
        if self.role is Role.STARTUP:
            return self.startup_id
        if self.role is Role.INVESTOR:
            return self.investor_id
        return None

    def require_participant(self, participant_id: str) -> None:
        """Organisers and admins, or the participant itself (a startup or an investor key)."""
        if self.is_staff or (participant_id and self.participant_id == participant_id):
            return
        raise PermissionDeniedError(f"this key may not act for participant {participant_id}")

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise PermissionDeniedError(f"this needs one of the roles {allowed}; the key has role {self.role}")


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key_id: str
    api_key: str
    role: Role
    name: str
    bank_id: str | None
    startup_id: str | None
    investor_id: str | None = None


def hash_key(api_key: str, secret: str) -> str:
    # Keyed with the deployment secret so a copied table of hashes is useless on its own.
    return hmac.new(secret.encode(), api_key.encode(), hashlib.sha256).hexdigest()


def new_key_row(
    *,
    role: Role,
    name: str,
    secret: str,
    bank_id: str | None = None,
    startup_id: str | None = None,
    investor_id: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key row (not yet added to a session) and the plain key to show once."""
    if role is Role.BANK and not bank_id:
        raise InvalidInputError("a bank key needs --bank-id", field="bank_id")
    if role is Role.STARTUP and not startup_id:
        raise InvalidInputError("a startup key needs --startup-id", field="startup_id")
    if role is not Role.BANK and bank_id:
        raise InvalidInputError("only bank keys are bound to a bank", field="bank_id")
    if role is not Role.STARTUP and startup_id:
        raise InvalidInputError("only startup keys are bound to a startup", field="startup_id")
    if role is Role.INVESTOR and not investor_id:
        raise InvalidInputError("an investor key needs --investor-id", field="investor_id")
    if role is not Role.INVESTOR and investor_id:
        raise InvalidInputError("only investor keys are bound to an investor", field="investor_id")
    if not name.strip() or len(name) > KEY_NAME_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInputError(
            f"a key's name must be 1 to {KEY_NAME_LENGTH} characters on one line", field="name"
        )
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        key_id="key_" + secrets.token_hex(6),
        name=name,
        key_hash=hash_key(api_key, secret),
        role=role.value,
        bank_id=bank_id,
        startup_id=startup_id,
        investor_id=investor_id,
    )
    return row, api_key


async def _insert(
    session: AsyncSession,
    *,
    role: Role,
    name: str,
    secret: str,
    bank_id: str | None,
    startup_id: str | None,
    investor_id: str | None,
) -> CreatedKey:
    if bank_id is not None:
        bank = await session.get(Investor, bank_id)
        if bank is None or bank.kind != "bank" or bank.archived_at is not None:
            raise InvalidInputError(f"no active bank with id {bank_id}", field="bank_id")
    if startup_id is not None and await session.get(Startup, startup_id) is None:
        raise InvalidInputError(f"no startup with id {startup_id}", field="startup_id")
    if investor_id is not None:
        # Any institution a roadshow invites: an investor or a bank, as long as it is not archived.
        investor = await session.get(Investor, investor_id)
        if investor is None or investor.archived_at is not None:
            raise InvalidInputError(f"no active investor or bank with id {investor_id}", field="investor_id")
    row, api_key = new_key_row(
        role=role, name=name, secret=secret, bank_id=bank_id, startup_id=startup_id, investor_id=investor_id
    )
    session.add(row)
    return CreatedKey(row.key_id, api_key, role, name, bank_id, startup_id, investor_id)


async def create_key(
    session: AsyncSession,
    *,
    role: Role,
    name: str,
    secret: str,
    bank_id: str | None = None,
    startup_id: str | None = None,
    investor_id: str | None = None,
) -> CreatedKey:
    async with session.begin():
        return await _insert(
            session, role=role, name=name, secret=secret, bank_id=bank_id, startup_id=startup_id,
            investor_id=investor_id,
        )


async def issue_key(
    session: AsyncSession,
    *,
    issuer: Principal,
    role: Role,
    name: str,
    secret: str,
    bank_id: str | None = None,
    startup_id: str | None = None,
    investor_id: str | None = None,
    idempotent: IdempotentRequest | None = None,
    encode: Callable[[CreatedKey], Any],
) -> CreatedKey | Replay:
    """A key issued over the API: organisers issue participants' and banks' keys, only admins staff keys.
    With ``idempotent``, a retry of the same request replays the first response (``encode(created)``)."""
    if role in STAFF and issuer.role is not Role.ADMIN:
        raise PermissionDeniedError("only an admin key may issue admin or organiser keys")
    async with session.begin():
        if idempotent is not None and (replay := await idempotency.recall(session, idempotent)) is not None:
            return replay
        created = await _insert(
            session, role=role, name=name, secret=secret, bank_id=bank_id, startup_id=startup_id,
            investor_id=investor_id,
        )
        if idempotent is not None:
            await idempotency.remember(session, idempotent, 201, encode(created))
    return created


async def revoke_key(session: AsyncSession, *, key_id: str, issuer: Principal | None = None) -> None:
    """Revoke a key (``issuer``: the caller over the API; only admins revoke staff keys)."""
    async with session.begin():
        row = await session.get(ApiKey, key_id)
        if row is None:
            raise NotFoundError(f"no API key with id {key_id}")
        if issuer is not None and Role(row.role) in STAFF and issuer.role is not Role.ADMIN:
            raise PermissionDeniedError("only an admin key may revoke admin or organiser keys")
        if row.revoked_at is not None:
            raise ConflictError(f"key {key_id} was already revoked")
        row.revoked_at = datetime.now(UTC)


async def authenticate(session: AsyncSession, *, api_key: str, secret: str) -> Principal | None:
    """The principal of a live key, or None for an unknown or revoked one."""
    async with session.begin():
        row = (
            await session.execute(
                select(ApiKey.key_id, ApiKey.role, ApiKey.bank_id, ApiKey.startup_id, ApiKey.investor_id).where(
                    ApiKey.key_hash == hash_key(api_key, secret), ApiKey.revoked_at.is_(None)
                )
            )
        ).first()
    if row is None:
        return None
    return _principal(row)


async def principal_by_key_id(session: AsyncSession, *, key_id: str) -> Principal | None:
    """The principal of a live key found by its id (a console session names the key, never holds it)."""
    async with session.begin():
        row = (
            await session.execute(
                select(ApiKey.key_id, ApiKey.role, ApiKey.bank_id, ApiKey.startup_id, ApiKey.investor_id).where(
                    ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None)
                )
            )
        ).first()
    if row is None:
        return None
    return _principal(row)


def _principal(row: Any) -> Principal:
    return Principal(
        key_id=row.key_id,
        role=Role(row.role),
        bank_id=row.bank_id,
        startup_id=row.startup_id,
        investor_id=row.investor_id,
    )
