from __future__ import annotations

from datetime import date

from msgspec import Struct


class DatabaseStatus(Struct):
    ok: bool
    backend: str
    error: str | None = None


class ModelStatus(Struct):
    loaded: bool
    version: int | None
    ranking: str | None
    eligibility: bool
    trained_as_of: date | None
    # True once every startup's matches under this version are precomputed.
    matches_ready: bool
    error: str | None


class HealthRead(Struct):
    status: str  # "ok" or "degraded"
    database: DatabaseStatus
    model: ModelStatus
