"""Banks' eligibility decisions: only the bank's own products, only startups whose consent to the bank
holds; every decision is stored with the versions and the input hash that reproduce it. One startup
is a one-row frame through the same ``matcher.eligibility.assess`` the batch command runs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Assessment, Investor, LoanProduct, Startup, utcnow
from api.errors import domain_body
from api.schemas.eligibility import BatchItem, BatchRead, DecisionPage, DecisionRead, ProblemRead
from api.services import consents
from api.services.frames import load_dataset
from api.services.keys import Principal, Role
from api.services.models import ModelStore
from matcher.domain import LoanProduct as DomainProduct
from matcher.domain import ProductKind
from matcher.eligibility import Decision, PDModel, assess, prior_model
from matcher.errors import ConflictError, MatcherError, NotFittedError, NotFoundError, PermissionDeniedError


def _decision_json(d: Decision, bank_id: str, product_id: str) -> dict[str, Any]:
    return {
        "startup_id": d.startup_id,
        "bank_id": bank_id,
        "product_id": product_id,
        "product": d.product,
        "eligible": d.eligible,
        "tech_sme_score": d.tech_sme_score,
        "tech_sme_qualified": d.tech_sme_qualified,
        "kv_score": d.kv_score,
        "grade": d.grade,
        "pd": d.pd,
        "credit_limit_wan": d.credit_limit_wan,
        "limit": {"basis": d.limit.basis, "zh": d.limit.zh, "en": d.limit.en, "caps": dict(d.limit.caps)},
        "reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in d.reasons],
        "policy_version": d.policy_version,
        "model_version": d.model_version,
        "model_source": d.model_source,
        "input_hash": d.input_hash,
        "as_of": d.as_of.isoformat(),
    }


def _read(decision: dict[str, Any], assessment_id: int, created_at: datetime) -> DecisionRead:
    return msgspec.convert({**decision, "assessment_id": assessment_id, "created_at": created_at}, DecisionRead)


async def _pd_model(store: ModelStore) -> PDModel:
    models = await store.current()
    if models is not None and models.eligibility is not None:
        return models.eligibility
    # No loan book trained yet (or it failed to load): the documented prior, as the decision records.
    try:
        return await asyncio.to_thread(prior_model)
    except MatcherError as exc:
        raise NotFittedError(f"no default-risk model is available: {exc}") from None


def _problem(exc: MatcherError, startup_id: str) -> BatchItem:
    status, body = domain_body(exc)
    return BatchItem(startup_id=startup_id, status=status, decision=None,
                     problem=msgspec.convert(body, ProblemRead))


_PRODUCT = (
    select(
        LoanProduct.product_id, LoanProduct.bank_id, LoanProduct.kind, LoanProduct.name, LoanProduct.max_amount_wan,
        LoanProduct.max_term_months, LoanProduct.min_grade, LoanProduct.sectors,
        Investor.archived_at.label("bank_archived_at"),
    )
    .outerjoin(Investor, Investor.investor_id == LoanProduct.bank_id)
    .where(LoanProduct.product_id == bindparam("product_id"))
)
# Built once with bound parameters: constructing the statement cost a request more than its cached compilation.
_STARTUPS = select(
    Startup.startup_id, Startup.archived_at,
    consents.in_force(bindparam("bank_id"), Startup.startup_id, bindparam("day")),
).where(Startup.startup_id.in_(bindparam("startup_ids", expanding=True)))


async def _decide(
    session: AsyncSession, store: ModelStore, *, principal: Principal, product_id: str, startup_ids: Sequence[str]
) -> list[BatchItem]:
    """Per startup, in request order: its stored decision, or why there is none (unknown startup, no
    consent in force to the calling bank). The decisions made are stored together, in one transaction."""
    principal.require_role(Role.BANK)
    bank_id = principal.bank_id or ""
    wanted = list(dict.fromkeys(startup_ids))
    model = await _pd_model(store)
    refused: dict[str, MatcherError] = {}
    async with session.begin():
        # One statement per question (each costs a round trip to the database's thread): the product
        # with its bank, then the startups with their consent to that bank. Columns on the session's
        # connection, not ORM entities: loading objects into the identity map cost more than the query.
        connection = await session.connection()
        product = (await connection.execute(_PRODUCT, {"product_id": product_id})).first()
        if product is None:
            raise NotFoundError(f"no loan product with id {product_id}")
        if product.bank_id != bank_id:
            raise PermissionDeniedError(f"product {product_id} belongs to another bank")
        if product.bank_archived_at is not None:
            raise ConflictError(f"bank {bank_id} is archived: its decisions stay readable, it makes no new ones")
        params = {"bank_id": bank_id, "day": consents.today(), "startup_ids": wanted}
        found: dict[str, Any] = {r[0]: (r[1], r[2]) for r in (await connection.execute(_STARTUPS, params)).all()}
        for s in wanted:
            if s not in found:
                refused[s] = NotFoundError(f"no startup with id {s}")
            elif found[s][0] is not None:
                refused[s] = ConflictError(f"startup {s} is archived: its decisions stay readable, it is not assessed")
            elif not found[s][1]:
                refused[s] = PermissionDeniedError(
                    f"startup {s} has not consented to assessment by bank {bank_id} (no consent in force)")
        targets = [s for s in wanted if s not in refused]
        made: dict[str, DecisionRead] = {}
        if targets:
            data = await load_dataset(session, tables=("startups", "ip_assets"), startup_ids=targets)
            terms = DomainProduct(
                product_id=product.product_id, bank_id=product.bank_id, kind=ProductKind(product.kind),
                name=product.name, max_amount_wan=product.max_amount_wan, max_term_months=product.max_term_months,
                min_grade=product.min_grade, sectors=tuple(product.sectors or ()),
            )
            decisions = await asyncio.to_thread(
                assess, data, product=terms, as_of=datetime.now(UTC).date(), model=model, targets=targets
            )
            created_at = utcnow()
            stored: list[dict[str, Any]] = [
                {
                    "startup_id": d.startup_id,
                    "bank_id": bank_id,
                    "product_id": product_id,
                    "requested_by": principal.key_id,
                    "eligible": d.eligible,
                    "policy_version": d.policy_version,
                    "model_version": d.model_version,
                    "input_hash": d.input_hash,
                    "decision": _decision_json(d, bank_id, product_id),
                    "created_at": created_at,
                }
                for d in decisions
            ]
            # A Core INSERT ... RETURNING on the session's connection: the ORM's unit of work (object
            # states, flush plan, identity map) cost the one-firm request more than the insert itself.
            ids = (await connection.execute(
                insert(Assessment).returning(Assessment.id, sort_by_parameter_order=True), stored
            )).scalars().all()
            made = {r["startup_id"]: _read(r["decision"], i, created_at) for r, i in zip(stored, ids, strict=True)}
    return [
        _problem(refused[s], s) if s in refused else BatchItem(startup_id=s, status=200, decision=made[s], problem=None)
        for s in wanted
    ]


async def decide_one(
    session: AsyncSession, store: ModelStore, *, principal: Principal, product_id: str, startup_id: str
) -> DecisionRead:
    """One startup's decision; 404 / 403 when it is unknown or has no consent in force to the bank."""
    item = (await _decide(session, store, principal=principal, product_id=product_id, startup_ids=[startup_id]))[0]
    if item.decision is not None:
        return item.decision
    detail = item.problem.detail if item.problem is not None else f"no decision for startup {startup_id}"
    raise (NotFoundError if item.status == 404 else PermissionDeniedError)(detail)


async def decide_batch(
    session: AsyncSession, store: ModelStore, *, principal: Principal, product_id: str, startup_ids: Sequence[str]
) -> BatchRead:
    """Every startup answered on its own: a decision, or a 403/404 entry; one refusal never fails the rest."""
    items = await _decide(session, store, principal=principal, product_id=product_id, startup_ids=startup_ids)
    decided = sum(i.decision is not None for i in items)
    return BatchRead(product_id=product_id, items=items, decided=decided, refused=len(items) - decided)


async def history(
    session: AsyncSession, *, principal: Principal, startup_id: str | None, limit: int, offset: int
) -> DecisionPage:
    """The calling bank's own past decisions, newest first."""
    principal.require_role(Role.BANK)
    query = select(Assessment).where(Assessment.bank_id == (principal.bank_id or ""))
    if startup_id is not None:
        query = query.where(Assessment.startup_id == startup_id)
    async with session.begin():
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (
            await session.scalars(
                query.order_by(Assessment.created_at.desc(), Assessment.id.desc()).limit(limit).offset(offset)
            )
        ).all()
    items = [_read(r.decision, r.id, r.created_at) for r in rows]
    return DecisionPage(items=items, total=total, limit=limit, offset=offset)
