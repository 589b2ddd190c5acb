from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from msgspec import Meta, Struct

from api.schemas.common import Id


class EligibilityRequest(Struct, forbid_unknown_fields=True):
    startup_id: Id
    product_id: Id


class EligibilityBatchRequest(Struct, forbid_unknown_fields=True):
    product_id: Id
    startup_ids: Annotated[list[Id], Meta(min_length=1, max_length=1000)]


class ReasonRead(Struct):
    code: str
    zh: str
    en: str


class LimitRead(Struct):
    """How the limit was reached: the binding cap (``grade_line``, ``revenue_capacity``, ``product_max``,
    ``pledge_value``, ``per_firm_cap``; ``product_min`` or ``not_eligible`` when nothing is offered), the
    derivation in Chinese and English, and each cap's value in 万."""

    basis: str
    zh: str
    en: str
    caps: dict[str, float]


class DecisionRead(Struct):
    """The full decision of the eligibility engine, as stored (``assessment_id``) and reproducible
    (``policy_version``, ``model_version``, ``input_hash``)."""

    assessment_id: int
    startup_id: str
    bank_id: str
    product_id: str
    product: str
    eligible: bool
    tech_sme_score: int
    tech_sme_qualified: bool
    kv_score: float
    grade: str | None
    pd: float
    credit_limit_wan: float
    reasons: list[ReasonRead]
    policy_version: str
    model_version: str
    model_source: str
    input_hash: str
    as_of: date
    created_at: datetime
    # Decisions stored before the derivation was recorded have none.
    limit: LimitRead | None = None


class ProblemRead(Struct):
    """An RFC 9457 problem, as an entry of a batch answer."""

    type: str
    title: str
    status: int
    detail: str


class BatchItem(Struct):
    """One startup of a batch: ``status`` 200 with its decision, or 403/404 with the problem."""

    startup_id: str
    status: int
    decision: DecisionRead | None
    problem: ProblemRead | None


class BatchRead(Struct):
    product_id: str
    items: list[BatchItem]
    decided: int
    refused: int


class DecisionPage(Struct):
    items: list[DecisionRead]
    total: int
    limit: int
    offset: int
