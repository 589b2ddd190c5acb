from __future__ import annotations

from msgspec import Struct


class MatchItem(Struct):
    """One recommended counterpart; ``name``/``kind`` describe the recommended party."""

    startup_id: str
    investor_id: str
    name: str
    kind: str | None
    rank: int
    score: float
    reasons: list[str]
    reasons_en: list[str]


class MatchList(Struct):
    target_id: str
    side: str  # "investors" (a startup's matches) or "startups" (an investor's)
    kind: str  # which investors: "investor" (every kind but bank), "bank" or "all"
    model_version: int
    items: list[MatchItem]
