"""The decision record: what a bank acts on, with everything needed to reproduce and explain it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from matcher.eligibility.reasons import Reason


@dataclass(frozen=True, slots=True)
class LimitDerivation:
    """How the limit was reached: ``basis`` (``matcher.eligibility.limits.LIMIT_BASES``), the
    derivation in Chinese and English, and each cap's value in 万."""

    basis: str
    zh: str
    en: str
    caps: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Decision:
    """One startup × one loan product on one date.

    ``reasons`` (at most four) lists failed hard conditions first (the first is the one that decided a
    refusal); an eligible firm's start with what made it eligible. ``limit`` explains the amount.
    ``input_hash`` is the sha256 of the canonical JSON of every input the decision used (firm row, its
    IP, product terms, date, policy and model versions): equal hashes mean equal inputs, hence an equal decision.
    """

    startup_id: str
    product: str  # the product kind
    product_id: str | None
    eligible: bool
    tech_sme_score: int
    tech_sme_qualified: bool
    kv_score: float
    grade: str | None
    pd: float
    credit_limit_wan: float
    reasons: tuple[Reason, ...]
    policy_version: str
    model_version: str
    model_source: str  # "trained" or "prior"
    input_hash: str
    as_of: date
    limit: LimitDerivation

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no whitespace, dates as ISO strings, floats by repr: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
