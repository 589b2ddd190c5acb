"""API keys issued over HTTP (organisers issue participants' keys; the CLI does the same)."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from api.schemas.common import Id, Name

KeyRoleName = Literal["admin", "organiser", "bank", "startup", "investor"]


class KeyCreate(Struct, forbid_unknown_fields=True):
    role: KeyRoleName
    name: Name
    investor_id: Id | None = None
    startup_id: Id | None = None
    bank_id: Id | None = None


class KeyCreated(Struct):
    """The new key, shown only in this response (only its hash is stored)."""

    key_id: str
    api_key: str
    role: str
    name: str
    investor_id: str | None
    startup_id: str | None
    bank_id: str | None
