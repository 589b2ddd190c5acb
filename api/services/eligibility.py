"""Banks' eligibility decisions: only the bank's own products, only startups that consented to it;
every decision is stored with the versions and the input hash that reproduce it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Assessment, Consent, Investor, LoanProduct, Startup
from api.schemas.eligibility import DecisionPage, DecisionRead
from api.services.frames import load_dataset
from api.services.keys import Principal, Role
from api.services.models import ModelStore
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
        "reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in d.reasons],
        "policy_version": d.policy_version,
        "model_version": d.model_version,
        "model_source": d.model_source,
        "input_hash": d.input_hash,
        "as_of": d.as_of.isoformat(),
    }


def _read(row: Assessment) -> DecisionRead:
    return msgspec.convert({**row.decision, "assessment_id": row.id, "created_at": row.created_at}, DecisionRead)


async def _pd_model(store: ModelStore) -> PDModel:
    models = await store.current()
    if models is not None and models.eligibility is not None:
        return models.eligibility
    # No loan book trained yet (or it failed to load): the documented prior, as the decision records.
    try:
        return await asyncio.to_thread(prior_model)
    except MatcherError as exc:
        raise NotFittedError(f"no default-risk model is available: {exc}") from None


async def decide(
    session: AsyncSession,
    store: ModelStore,
    *,
    principal: Principal,
    product_id: str,
    startup_ids: Sequence[str],
) -> list[DecisionRead]:
    """Assess each startup for one of the calling bank's products; all are stored, or none."""
    principal.require_role(Role.BANK)
    bank_id = principal.bank_id or ""
    wanted = list(dict.fromkeys(startup_ids))
    model = await _pd_model(store)
    async with session.begin():
        product = await session.get(LoanProduct, product_id)
        if product is None:
            raise NotFoundError(f"no loan product with id {product_id}")
        if product.bank_id != bank_id:
            raise PermissionDeniedError(f"product {product_id} belongs to another bank")
        bank = await session.get(Investor, bank_id)
        if bank is not None and bank.archived_at is not None:
            raise ConflictError(f"bank {bank_id} is archived: its decisions stay readable, it makes no new ones")
        query = select(Startup.startup_id, Startup.archived_at).where(Startup.startup_id.in_(wanted))
        found: dict[str, Any] = {r[0]: r[1] for r in (await session.execute(query)).all()}
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise NotFoundError(f"no startup with id {', '.join(unknown[:5])}")
        archived = [s for s in wanted if found[s] is not None]
        if archived:
            raise ConflictError(f"startup(s) archived, no longer assessed: {', '.join(archived[:5])}")
        consented = set(
            (
                await session.scalars(
                    select(Consent.startup_id).where(Consent.bank_id == bank_id, Consent.startup_id.in_(wanted))
                )
            ).all()
        )
        refused = [s for s in wanted if s not in consented]
        if refused:
            raise PermissionDeniedError(
                f"{len(refused)} startup(s) have not consented to assessment by bank {bank_id}: "
                + ", ".join(refused[:5])
            )
        data = await load_dataset(session, tables=("startups", "ip_assets", "loan_products"), startup_ids=wanted)
        decisions = await asyncio.to_thread(
            assess, data, product=product_id, as_of=datetime.now(UTC).date(), model=model, targets=wanted
        )
        rows = [
            Assessment(
                startup_id=d.startup_id,
                bank_id=bank_id,
                product_id=product_id,
                requested_by=principal.key_id,
                eligible=d.eligible,
                policy_version=d.policy_version,
                model_version=d.model_version,
                input_hash=d.input_hash,
                decision=_decision_json(d, bank_id, product_id),
            )
            for d in decisions
        ]
        session.add_all(rows)
        await session.flush()
    return [_read(r) for r in rows]


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
    return DecisionPage(items=[_read(r) for r in rows], total=total, limit=limit, offset=offset)
