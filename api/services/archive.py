"""History is never erased: a startup, investor or bank with history is archived, not deleted.

History is anything another record or a decision refers to: interactions, loans, eligibility decisions,
consents, event participation and meetings. An archived record disappears from lists, matches and new
events and can no longer be assessed or edited; it stays readable, and so does everything that refers to
it (decisions are immutable). A record without history is deleted for real.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import (
    Assessment,
    Consent,
    EventParticipant,
    Interaction,
    Investor,
    Loan,
    Meeting,
    Startup,
    utcnow,
)
from matcher.errors import ConflictError


def _any(*conditions: ColumnElement[bool]) -> Any:
    return select(or_(*conditions))


async def startup_has_history(session: AsyncSession, startup_id: str) -> bool:
    query = _any(
        exists().where(Interaction.startup_id == startup_id),
        exists().where(Loan.startup_id == startup_id),
        exists().where(Assessment.startup_id == startup_id),
        exists().where(Consent.startup_id == startup_id),
        exists().where(EventParticipant.side == "startup", EventParticipant.participant_id == startup_id),
        exists().where(Meeting.startup_id == startup_id),
    )
    return bool(await session.scalar(query))


async def investor_has_history(session: AsyncSession, investor_id: str) -> bool:
    query = _any(
        exists().where(Interaction.investor_id == investor_id),
        exists().where(Loan.bank_id == investor_id),
        exists().where(Assessment.bank_id == investor_id),
        exists().where(Consent.bank_id == investor_id),
        exists().where(EventParticipant.side == "investor", EventParticipant.participant_id == investor_id),
        exists().where(Meeting.investor_id == investor_id),
    )
    return bool(await session.scalar(query))


async def remove(session: AsyncSession, row: Startup | Investor) -> bool:
    """Archive ``row`` when it has history, delete it otherwise; True when it was archived."""
    if row.archived_at is not None:
        return True
    if isinstance(row, Startup):
        keep = await startup_has_history(session, row.startup_id)
    else:
        keep = await investor_has_history(session, row.investor_id)
    if keep:
        row.archived_at = utcnow()
        await session.flush()
    else:
        await session.delete(row)
    return keep


def refuse_archived(row: Startup | Investor, what: str, key: str) -> None:
    if row.archived_at is not None:
        raise ConflictError(f"{what} {key} is archived: its history stays readable, but it can no longer change")
