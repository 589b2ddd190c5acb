"""Which banks a startup allows to assess it (consents.csv in the database), with history.

A consent holds on a day when ``granted_on <= day < revoked_on`` (no ``revoked_on``: still granted).
Revoking fills ``revoked_on`` with today, so it takes effect at once, and keeps the row: the record of
who could see the startup when stays. Every check of a bank's access goes through ``holds``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import BindParameter, ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.db.models import Consent, Investor
from api.schemas.startups import ConsentRecord
from matcher.errors import InvalidInputError


def today() -> date:
    return datetime.now(UTC).date()


def holds(day: date | BindParameter[date] | None = None) -> ColumnElement[bool]:
    """The SQL condition of a consent row in force on ``day`` (default today; a bound parameter for a
    statement built once)."""
    on = today() if day is None else day
    return and_(Consent.granted_on <= on, or_(Consent.revoked_on.is_(None), Consent.revoked_on > on))


async def check_banks(session: AsyncSession, bank_ids: Sequence[str], field: str) -> list[str]:
    """The distinct ids, each an investor of kind bank, or an error naming ``field[i]``."""
    wanted = list(dict.fromkeys(bank_ids))
    if not wanted:
        return wanted
    found = set(
        (
            await session.scalars(
                # An archived bank keeps its history but takes no new consent.
                select(Investor.investor_id).where(
                    Investor.investor_id.in_(wanted), Investor.kind == "bank", Investor.archived_at.is_(None)
                )
            )
        ).all()
    )
    for i, bank_id in enumerate(wanted):
        if bank_id not in found:
            raise InvalidInputError(f"no active bank with id {bank_id}", field=f"{field}[{i}]")
    return wanted


async def current_banks(session: AsyncSession, startup_id: str) -> list[str]:
    rows = await session.scalars(
        select(Consent.bank_id).where(Consent.startup_id == startup_id, holds()).distinct().order_by(Consent.bank_id)
    )
    return list(rows.all())


def in_force(
    bank_id: str | BindParameter[str], startup_id: InstrumentedAttribute[str], day: BindParameter[date] | None = None
) -> ColumnElement[bool]:
    """The SQL condition that a consent of ``startup_id`` to ``bank_id`` holds on ``day`` (default today)
    (a column of the caller's query, so the check rides along in it)."""
    return (
        select(Consent.id).where(Consent.bank_id == bank_id, Consent.startup_id == startup_id, holds(day)).exists()
    )


async def consenting(session: AsyncSession, bank_id: str, startup_ids: Iterable[str]) -> set[str]:
    """Those of ``startup_ids`` whose consent to ``bank_id`` holds today."""
    ids = list(startup_ids)
    if not ids:
        return set()
    rows = await session.scalars(
        select(Consent.startup_id).where(Consent.bank_id == bank_id, Consent.startup_id.in_(ids), holds())
    )
    return set(rows.all())


def grant(session: AsyncSession, startup_id: str, bank_ids: Iterable[str]) -> None:
    session.add_all(Consent(startup_id=startup_id, bank_id=b, granted_on=today()) for b in bank_ids)


async def revoke(session: AsyncSession, startup_id: str, bank_ids: Iterable[str], *, by: str | None) -> None:
    """End the consents in force to these banks today; the rows stay as the record."""
    ids = list(bank_ids)
    if not ids:
        return
    await session.execute(
        update(Consent)
        .where(Consent.startup_id == startup_id, Consent.bank_id.in_(ids), holds())
        .values(revoked_on=today(), revoked_at=datetime.now(UTC), revoked_by=by)
        .execution_options(synchronize_session=False)
    )


async def set_banks(session: AsyncSession, startup_id: str, bank_ids: Sequence[str], *, by: str | None) -> list[str]:
    """Make exactly ``bank_ids`` the banks in force: grant the new ones, revoke the dropped ones."""
    wanted = await check_banks(session, bank_ids, "bank_ids")
    current = set(await current_banks(session, startup_id))
    await revoke(session, startup_id, sorted(current - set(wanted)), by=by)
    grant(session, startup_id, [b for b in wanted if b not in current])
    return sorted(wanted)


async def history(session: AsyncSession, startup_id: str) -> list[ConsentRecord]:
    rows = await session.execute(
        select(Consent, Investor.name)
        .join(Investor, Investor.investor_id == Consent.bank_id)
        .where(Consent.startup_id == startup_id)
        .order_by(Consent.granted_on, Consent.id)
    )
    return [
        ConsentRecord(bank_id=c.bank_id, bank_name=name, granted_on=c.granted_on, revoked_on=c.revoked_on)
        for c, name in rows.all()
    ]
