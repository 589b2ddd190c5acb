"""Investors, banks (investors of kind ``bank``) and banks' loan products."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Investor, LoanProduct
from api.schemas.investors import (
    BankCreate,
    InvestorCreate,
    InvestorPage,
    InvestorRead,
    InvestorUpdate,
    ProductCreate,
    ProductRead,
    ProductUpdate,
)
from api.services import archive
from matcher.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from matcher.io import TABLES
from matcher.plausibility import check_record

BANK = "bank"


def investor_read(row: Investor) -> InvestorRead:
    return InvestorRead(
        investor_id=row.investor_id,
        name=row.name,
        kind=row.kind,
        sectors=list(row.sectors or []),
        stages=list(row.stages or []),
        regions=list(row.regions or []),
        ticket_min_wan=row.ticket_min_wan,
        ticket_max_wan=row.ticket_max_wan,
        description=row.description,
        version=row.version,
        created_at=row.created_at,
        archived_at=row.archived_at,
    )


def product_read(row: LoanProduct) -> ProductRead:
    return ProductRead(
        product_id=row.product_id,
        bank_id=row.bank_id,
        kind=row.kind,
        name=row.name,
        max_amount_wan=row.max_amount_wan,
        max_term_months=row.max_term_months,
        min_grade=row.min_grade,
        sectors=list(row.sectors or []),
        version=row.version,
    )


def _changes(body: msgspec.Struct) -> dict[str, Any]:
    return {f: v for f, v in msgspec.structs.asdict(body).items() if v is not msgspec.UNSET and f != "version"}


def _check_ticket(low: float | None, high: float | None) -> None:
    # The plausibility rules validate/import apply (matcher.plausibility), named by JSON field.
    check_record("investors", {"ticket_min_wan": low, "ticket_max_wan": high}, TABLES["investors"].schema)


def _check_version(kind: str, key: str, stored: int, sent: int) -> None:
    if stored != sent:
        raise ConflictError(f"{kind} {key} is at version {stored}, not {sent}; reload and retry", field="version")


async def _load_investor(session: AsyncSession, investor_id: str, *, bank: bool | None) -> Investor:
    row = await session.get(Investor, investor_id)
    if row is None or (bank is True and row.kind != BANK) or (bank is False and row.kind == BANK):
        what = "bank" if bank else "investor"
        raise NotFoundError(f"no {what} with id {investor_id}")
    return row


async def create_investor(session: AsyncSession, *, body: InvestorCreate | BankCreate) -> InvestorRead:
    kind = BANK if isinstance(body, BankCreate) else body.kind.value
    _check_ticket(body.ticket_min_wan, body.ticket_max_wan)
    values = {f: v for f, v in msgspec.structs.asdict(body).items() if f not in ("investor_id", "kind")}
    prefix = "bk_" if kind == BANK else "iv_"
    investor_id = body.investor_id or prefix + secrets.token_hex(6)
    async with session.begin():
        if await session.get(Investor, investor_id) is not None:
            raise ConflictError(f"id {investor_id} is already taken", field="investor_id")
        row = Investor(investor_id=investor_id, kind=kind, **values)
        session.add(row)
        await session.flush()
    return investor_read(row)


async def get_investor(session: AsyncSession, *, investor_id: str, bank: bool | None) -> InvestorRead:
    async with session.begin():
        return investor_read(await _load_investor(session, investor_id, bank=bank))


async def list_investors(
    session: AsyncSession, *, bank: bool, kind: str | None = None, limit: int = 50, offset: int = 0
) -> InvestorPage:
    query = select(Investor).where(
        Investor.kind == BANK if bank else Investor.kind != BANK, Investor.archived_at.is_(None)
    )
    if kind is not None:
        query = query.where(Investor.kind == kind)
    async with session.begin():
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (await session.scalars(query.order_by(Investor.investor_id).limit(limit).offset(offset))).all()
    return InvestorPage(items=[investor_read(r) for r in rows], total=total, limit=limit, offset=offset)


async def update_investor(session: AsyncSession, *, investor_id: str, body: InvestorUpdate, bank: bool) -> InvestorRead:
    changes = _changes(body)
    async with session.begin():
        row = await _load_investor(session, investor_id, bank=bank)
        archive.refuse_archived(row, "bank" if bank else "investor", investor_id)
        _check_version("investor", investor_id, row.version, body.version)
        _check_ticket(
            changes.get("ticket_min_wan", row.ticket_min_wan), changes.get("ticket_max_wan", row.ticket_max_wan)
        )
        for name, value in changes.items():
            setattr(row, name, value)
        await session.flush()
    return investor_read(row)


async def delete_investor(session: AsyncSession, *, investor_id: str, bank: bool) -> bool:
    """Archive the investor or bank when it has history, delete it otherwise; True when archived."""
    async with session.begin():
        row = await _load_investor(session, investor_id, bank=bank)
        return await archive.remove(session, row)


async def create_product(session: AsyncSession, *, body: ProductCreate) -> ProductRead:
    product_id = body.product_id or "lp_" + secrets.token_hex(6)
    values = {f: v for f, v in msgspec.structs.asdict(body).items() if f != "product_id"}
    async with session.begin():
        bank = await session.get(Investor, body.bank_id)
        if bank is None or bank.kind != BANK or bank.archived_at is not None:
            raise InvalidInputError(f"no active bank with id {body.bank_id}", field="bank_id")
        if await session.get(LoanProduct, product_id) is not None:
            raise ConflictError(f"id {product_id} is already taken", field="product_id")
        row = LoanProduct(product_id=product_id, **values)
        session.add(row)
        await session.flush()
    return product_read(row)


async def _load_product(session: AsyncSession, product_id: str) -> LoanProduct:
    row = await session.get(LoanProduct, product_id)
    if row is None:
        raise NotFoundError(f"no loan product with id {product_id}")
    return row


async def get_product(session: AsyncSession, *, product_id: str, bank_id: str | None = None) -> ProductRead:
    """One product; a bank (``bank_id`` given) sees only its own."""
    async with session.begin():
        row = await _load_product(session, product_id)
    if bank_id is not None and row.bank_id != bank_id:
        raise NotFoundError(f"no loan product with id {product_id} at bank {bank_id}")
    return product_read(row)


async def list_products(session: AsyncSession, *, bank_id: str | None = None) -> list[ProductRead]:
    query = select(LoanProduct).order_by(LoanProduct.product_id)
    if bank_id is not None:
        query = query.where(LoanProduct.bank_id == bank_id)
    async with session.begin():
        return [product_read(r) for r in (await session.scalars(query)).all()]


async def update_product(
    session: AsyncSession, *, product_id: str, body: ProductUpdate, bank_id: str | None = None
) -> ProductRead:
    """Change a product's terms; a bank (``bank_id`` given) changes only its own products."""
    changes = _changes(body)
    async with session.begin():
        row = await _load_product(session, product_id)
        if bank_id is not None and row.bank_id != bank_id:
            raise PermissionDeniedError(f"loan product {product_id} belongs to another bank")
        _check_version("product", product_id, row.version, body.version)
        for name, value in changes.items():
            setattr(row, name, value)
        await session.flush()
    return product_read(row)


async def delete_product(session: AsyncSession, *, product_id: str) -> None:
    async with session.begin():
        await session.delete(await _load_product(session, product_id))
