"""The model registry as the API shows it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from msgspec import Struct


class ModelVersionRead(Struct):
    version: int
    ranking_model: str
    trained_as_of: date
    active: bool
    pinned: bool
    # first, activated, rejected, forced or pinned; null for versions registered before the registry kept it.
    decision: str | None
    # The verdict: hold-out start, NDCG/recall/MAP at k of challenger and champion, tolerance, reason.
    evaluation: dict[str, Any] | None
    training: dict[str, Any] | None
    created_at: datetime
    activated_at: datetime | None
    replaced_version: int | None
    default_risk_model: bool


class RetrainRequest(Struct, forbid_unknown_fields=True):
    ranking_model: Literal["learned", "random", "popularity", "sector_popularity", "declared"] = "learned"
    # Activate the new version whatever its evaluation says.
    force: bool = False
    # Fit on the history before this date (default today), as `roadshow train --as-of`: e.g. to replay past
    # roadshows, or to reproduce a version.
    as_of: date | None = None
