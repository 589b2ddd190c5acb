"""A roadshow's participants' own side: availability, wishes and requests (``matcher.scheduling.wishes``).

Availability is the event's own document (``Event.problem``, what every solve reads); wishes are rows
of ``event_wishes``, honoured by the solver through :func:`stated_wishes` (``api.services.events``).
A participant (a startup key, an investor key) acts only for itself; organisers for anyone, also after
the organiser's ``closes_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Event, EventParticipant, EventWish, Investor, Startup, utcnow
from api.schemas.participants import (
    Counterpart,
    MeRead,
    ParticipantEvent,
    ParticipantRead,
    SlotRead,
    WishItem,
    WishLimitsPut,
    WishLimitsRead,
    WishRead,
)
from api.services.keys import Principal, Role
from matcher.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from matcher.scheduling import EventProblem, parse_event
from matcher.scheduling.wishes import Side, StatedWish, WishLimits

SIDE_KEYS: dict[Side, tuple[str, str]] = {
    "startup": ("startups", "startup_id"),
    "investor": ("investors", "investor_id"),
}


def limits_of(event: Event) -> tuple[WishLimits, datetime | None]:
    raw = event.wish_limits or {}
    default = WishLimits()
    limits = WishLimits(
        must=int(raw.get("max_must", default.must)),
        wish=int(raw.get("max_wish", default.wish)),
        no=int(raw.get("max_no", default.no)),
    )
    closes = raw.get("closes_at")
    return limits, datetime.fromisoformat(closes) if closes else None


def _limits_read(event: Event) -> WishLimitsRead:
    limits, closes = limits_of(event)
    return WishLimitsRead(max_must=limits.must, max_wish=limits.wish, max_no=limits.no, closes_at=closes)


def _is_open(closes: datetime | None) -> bool:
    if closes is None:
        return True
    stamp = closes if closes.tzinfo is not None else closes.replace(tzinfo=UTC)
    return datetime.now(UTC) < stamp


async def _event(session: AsyncSession, event_id: str) -> tuple[Event, EventProblem]:
    event = await session.get(Event, event_id)
    if event is None or event.problem is None:
        raise NotFoundError(f"no roadshow event with id {event_id}")
    return event, parse_event(event.problem)


def side_of(problem: EventProblem, participant_id: str) -> Side:
    if any(p.participant_id == participant_id for p in problem.startups):
        return "startup"
    if any(p.participant_id == participant_id for p in problem.investors):
        return "investor"
    raise NotFoundError(f"{participant_id} does not take part in event {problem.event_id}")


def _may_change(principal: Principal, event: Event) -> None:
    """Participants change their side until the organiser's ``closes_at``; organisers always."""
    _, closes = limits_of(event)
    if not principal.is_staff and not _is_open(closes):
        raise ConflictError(
            f"wishes and availability for event {event.event_id} closed at {closes}; ask the organiser"
        )


async def _rows(session: AsyncSession, event_id: str) -> list[EventWish]:
    query = select(EventWish).where(EventWish.event_id == event_id).order_by(EventWish.id)
    return list((await session.scalars(query)).all())


def _wish_read(row: EventWish, problem: EventProblem) -> WishRead:
    return WishRead(
        startup_id=row.startup_id,
        startup_name=problem.label_of(row.startup_id),
        investor_id=row.investor_id,
        investor_name=problem.label_of(row.investor_id),
        by_side=row.by_side,
        kind=row.kind,
        status=row.status,
        stated_at=row.stated_at,
        answered_at=row.answered_at,
    )


def _mine(row: EventWish, side: Side, participant_id: str) -> bool:
    return row.by_side == side and (row.startup_id if side == "startup" else row.investor_id) == participant_id


def _view(event: Event, problem: EventProblem, rows: Sequence[EventWish], participant_id: str) -> ParticipantRead:
    side = side_of(problem, participant_id)
    me = problem.startup(participant_id) if side == "startup" else problem.investor(participant_id)
    others = problem.investors if side == "startup" else problem.startups
    to_me = [
        r for r in rows
        if r.kind == "must" and r.by_side != side
        and (r.startup_id if side == "startup" else r.investor_id) == participant_id
    ]
    _, closes = limits_of(event)
    return ParticipantRead(
        event_id=event.event_id,
        event_name=problem.name,
        participant_id=participant_id,
        name=me.label,
        side=side,
        slots=[
            SlotRead(s.slot_id, s.start.isoformat(timespec="minutes"), s.end.isoformat(timespec="minutes"))
            for s in problem.slots
        ],
        available=list(me.available),
        limits=_limits_read(event),
        counterparts=[Counterpart(p.participant_id, p.label) for p in others],
        wishes=[_wish_read(r, problem) for r in rows if _mine(r, side, participant_id)],
        requests=[_wish_read(r, problem) for r in to_me],
        open=_is_open(closes),
    )


async def participant(
    session: AsyncSession, *, principal: Principal, event_id: str, participant_id: str
) -> ParticipantRead:
    principal.require_participant(participant_id)
    async with session.begin():
        event, problem = await _event(session, event_id)
        return _view(event, problem, await _rows(session, event_id), participant_id)


async def set_availability(
    session: AsyncSession, *, principal: Principal, event_id: str, participant_id: str, available: list[str]
) -> ParticipantRead:
    """The slots the participant can attend (written into the event's own document, which every solve
    and re-plan reads)."""
    principal.require_participant(participant_id)
    async with session.begin():
        event, problem = await _event(session, event_id)
        side = side_of(problem, participant_id)
        _may_change(principal, event)
        known = set(problem.slot_ids)
        for k, slot_id in enumerate(available):
            if slot_id not in known:
                raise InvalidInputError(f"event {event_id} has no slot {slot_id!r}", field=f"available[{k}]")
        if len(set(available)) != len(available):
            raise InvalidInputError("a slot is listed twice", field="available")
        key, id_key = SIDE_KEYS[side]
        doc: dict[str, Any] = dict(event.problem or {})
        doc[key] = [
            {**p, "available": [s for s in problem.slot_ids if s in set(available)]} if p[id_key] == participant_id
            else p
            for p in doc[key]
        ]
        # The library's own check of the changed event (e.g. more meetings asked for than slots left).
        problem = parse_event(doc)
        event.problem = doc
        await session.flush()
        return _view(event, problem, await _rows(session, event_id), participant_id)


async def set_wishes(
    session: AsyncSession, *, principal: Principal, event_id: str, participant_id: str, wishes: list[WishItem]
) -> ParticipantRead:
    """Replace the participant's wishes at the event. A request (``must``) that stays a request keeps
    its answer; a new or changed one waits for the other side's."""
    principal.require_participant(participant_id)
    async with session.begin():
        event, problem = await _event(session, event_id)
        side = side_of(problem, participant_id)
        _may_change(principal, event)
        others = {p.participant_id for p in (problem.investors if side == "startup" else problem.startups)}
        seen: set[str] = set()
        for k, item in enumerate(wishes):
            if item.counterpart_id not in others:
                other = "investor or bank" if side == "startup" else "startup"
                raise InvalidInputError(
                    f"{item.counterpart_id} is not a{'n' if other[0] == 'i' else ''} {other} at event {event_id}",
                    field=f"wishes[{k}].counterpart_id",
                )
            if item.counterpart_id in seen:
                raise InvalidInputError(
                    f"{item.counterpart_id} is named twice", field=f"wishes[{k}].counterpart_id"
                )
            seen.add(item.counterpart_id)
        limits, _ = limits_of(event)
        limits.check([w.kind for w in wishes], field="wishes")
        rows = await _rows(session, event_id)
        mine = {(r.startup_id, r.investor_id): r for r in rows if _mine(r, side, participant_id)}
        wanted: dict[tuple[str, str], str] = {
            ((participant_id, w.counterpart_id) if side == "startup" else (w.counterpart_id, participant_id)): w.kind
            for w in wishes
        }
        for pair, row in mine.items():
            if pair not in wanted:
                await session.delete(row)
        for pair, kind in wanted.items():
            found = mine.get(pair)
            if found is not None and found.kind == kind:
                continue
            row = found or EventWish(event_id=event_id, startup_id=pair[0], investor_id=pair[1], by_side=side)
            if found is None:
                session.add(row)
            row.kind = kind
            row.status = "pending" if kind == "must" else None
            row.stated_by = principal.key_id
            row.stated_at = utcnow()
            row.answered_by = None
            row.answered_at = None
        await session.flush()
        return _view(event, problem, await _rows(session, event_id), participant_id)


async def answer_request(
    session: AsyncSession,
    *,
    principal: Principal,
    event_id: str,
    participant_id: str,
    counterpart_id: str,
    answer: str,
) -> ParticipantRead:
    """The participant accepts or declines the meeting request ``counterpart_id`` sent it."""
    principal.require_participant(participant_id)
    async with session.begin():
        event, problem = await _event(session, event_id)
        side = side_of(problem, participant_id)
        _may_change(principal, event)
        pair = (participant_id, counterpart_id) if side == "startup" else (counterpart_id, participant_id)
        row = await session.scalar(
            select(EventWish).where(
                EventWish.event_id == event_id,
                EventWish.startup_id == pair[0],
                EventWish.investor_id == pair[1],
                EventWish.by_side != side,
                EventWish.kind == "must",
            )
        )
        if row is None:
            raise NotFoundError(f"{counterpart_id} has sent {participant_id} no meeting request at event {event_id}")
        row.status = answer
        row.answered_by = principal.key_id
        row.answered_at = utcnow()
        await session.flush()
        return _view(event, problem, await _rows(session, event_id), participant_id)


async def all_wishes(session: AsyncSession, *, event_id: str) -> list[WishRead]:
    """Every wish and request at the event (what the organiser sees)."""
    async with session.begin():
        _, problem = await _event(session, event_id)
        return [_wish_read(r, problem) for r in await _rows(session, event_id)]


async def limits(session: AsyncSession, *, event_id: str) -> WishLimitsRead:
    async with session.begin():
        event, _ = await _event(session, event_id)
        return _limits_read(event)


async def set_limits(session: AsyncSession, *, event_id: str, body: WishLimitsPut) -> WishLimitsRead:
    async with session.begin():
        event, _ = await _event(session, event_id)
        event.wish_limits = {
            "max_must": body.max_must,
            "max_wish": body.max_wish,
            "max_no": body.max_no,
            "closes_at": body.closes_at.isoformat() if body.closes_at is not None else None,
        }
        await session.flush()
        return _limits_read(event)


async def stated_wishes(session: AsyncSession, event_id: str) -> list[StatedWish]:
    """The event's wishes as the library reads them (in the caller's transaction)."""
    return [
        StatedWish(
            startup_id=r.startup_id,
            investor_id=r.investor_id,
            by="startup" if r.by_side == "startup" else "investor",
            kind="must" if r.kind == "must" else "wish" if r.kind == "wish" else "no",
            answer="accepted" if r.status == "accepted" else "declined" if r.status == "declined" else
            "pending" if r.status == "pending" else None,
        )
        for r in await _rows(session, event_id)
    ]


async def me(session: AsyncSession, *, principal: Principal) -> MeRead:
    """The caller: its role, its own record's name and the roadshows it takes part in (newest first)."""
    pid = principal.participant_id
    async with session.begin():
        name: str | None = None
        events: list[ParticipantEvent] = []
        if pid is not None:
            record = (
                await session.get(Startup, pid) if principal.role is Role.STARTUP else await session.get(Investor, pid)
            )
            if record is None:
                raise PermissionDeniedError(f"the record {pid} this key stands for no longer exists")
            name = record.name
            side = "startup" if principal.role is Role.STARTUP else "investor"
            query = (
                select(Event)
                .join(EventParticipant, EventParticipant.event_id == Event.event_id)
                .where(EventParticipant.side == side, EventParticipant.participant_id == pid)
                .where(Event.problem.is_not(None))
                .order_by(Event.event_id.desc())
            )
            for event in (await session.scalars(query)).all():
                slots = (event.problem or {}).get("slots") or [{}]
                events.append(
                    ParticipantEvent(
                        event_id=event.event_id,
                        name=event.name or event.event_id,
                        side=side,
                        starts=str(slots[0].get("start", "")),
                        scheduled=event.schedule is not None,
                    )
                )
        return MeRead(
            key_id=principal.key_id, role=principal.role.value, participant_id=pid, name=name, events=events
        )
