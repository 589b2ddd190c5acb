"""Meeting outcomes reported where they happen (``matcher.outcomes``): by either side of a meeting or by
an organiser, who may also record an intent signed outside the schedule's meetings.

Every report is a new ``outcome_records`` row (who, when, what); nothing is overwritten. The pair's
current outcome, its latest report, stands in ``interactions`` with the event's id (the rows carry the
report's id), so ranking, training, exports and each roadshow's results read it like any other
interaction: a correction replaces those rows, while every report stays in ``outcome_records``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Event, Interaction, Meeting, OutcomeRecord, Startup
from api.schemas.participants import InteractionRead, OutcomeCreate, OutcomeRead
from api.services import idempotency
from api.services.idempotency import IdempotentRequest, Replay
from api.services.keys import Principal
from api.settings import Settings
from matcher.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from matcher.outcomes import SIGNED, OutcomeReport, check_report, current_outcomes, meeting_interactions
from matcher.scheduling import EventProblem, parse_event
from matcher.scheduling.handout import DEFAULT_TZ

if TYPE_CHECKING:
    from api.services.jobs import JobQueue

Pair = tuple[str, str]


def today() -> date:
    """The zone's date (an outcome dated after it is in the future)."""
    return datetime.now(ZoneInfo(DEFAULT_TZ)).date()


def _event_day(event: Event, problem: EventProblem) -> date:
    return event.held_on or problem.slots[0].start.date()


async def _load(session: AsyncSession, event_id: str) -> tuple[Event, EventProblem]:
    event = await session.get(Event, event_id)
    if event is None or event.problem is None:
        raise NotFoundError(f"no roadshow event with id {event_id}")
    return event, parse_event(event.problem)


async def _meetings(session: AsyncSession, event_id: str) -> set[Pair]:
    rows = await session.execute(select(Meeting.startup_id, Meeting.investor_id).where(Meeting.event_id == event_id))
    return {(r[0], r[1]) for r in rows.all()}


def _report(item: OutcomeCreate) -> OutcomeReport:
    return OutcomeReport(
        startup_id=item.startup_id,
        investor_id=item.investor_id,
        outcome=item.outcome,
        no_show=item.no_show,
        amount_wan=item.amount_wan,
        on=item.on,
    )


def _authorise(
    principal: Principal, problem: EventProblem, meetings: set[Pair], report: OutcomeReport, where: str
) -> bool:
    """Whether the pair is a scheduled meeting; refuses what the caller may not report."""
    at = f"{where}." if where else ""
    pair = (report.startup_id, report.investor_id)
    if not principal.is_staff and principal.participant_id not in pair:
        raise PermissionDeniedError(f"this key may report only its own meetings, not {pair[0]}–{pair[1]}")
    if pair in meetings:
        return True
    startups = {p.participant_id for p in problem.startups}
    investors = {p.participant_id for p in problem.investors}
    if pair[0] not in startups:
        raise InvalidInputError(f"{pair[0]} is not a startup at event {problem.event_id}", field=f"{at}startup_id")
    if pair[1] not in investors:
        raise InvalidInputError(
            f"{pair[1]} is not an investor or bank at event {problem.event_id}", field=f"{at}investor_id"
        )
    if not principal.is_staff or report.outcome not in SIGNED:
        raise InvalidInputError(
            f"{pair[0]} and {pair[1]} have no scheduled meeting at event {problem.event_id}; "
            "only an organiser records an intent (intent_signed or invested) outside the schedule",
            field=f"{at}investor_id",
        )
    return False


async def _project(session: AsyncSession, event: Event, problem: EventProblem, pairs: set[Pair]) -> None:
    """Rewrite the interactions standing for the pairs' reports from their latest report."""
    for startup_id, investor_id in sorted(pairs):
        records = (
            await session.scalars(
                select(OutcomeRecord)
                .where(
                    OutcomeRecord.event_id == event.event_id,
                    OutcomeRecord.startup_id == startup_id,
                    OutcomeRecord.investor_id == investor_id,
                )
                .order_by(OutcomeRecord.id)
            )
        ).all()
        await session.execute(
            delete(Interaction).where(
                Interaction.event_id == event.event_id,
                Interaction.startup_id == startup_id,
                Interaction.investor_id == investor_id,
                Interaction.outcome_record_id.is_not(None),
            )
        )
        startup = await session.get(Startup, startup_id)
        day = _event_day(event, problem)
        frame = current_outcomes(
            [_as_report(r) for r in records], event_day=day, stages={startup_id: startup.stage if startup else None}
        )
        rows = meeting_interactions(frame, day, event_id=event.event_id)
        session.add_all(
            Interaction(
                startup_id=row["startup_id"],
                investor_id=row["investor_id"],
                occurred_on=row["occurred_on"],
                outcome=row["outcome"],
                stage=row["stage"],
                amount_wan=row["amount_wan"],
                event_id=row["event_id"],
                outcome_record_id=records[-1].id,
            )
            for row in rows.iter_rows(named=True)
        )


def _as_report(row: OutcomeRecord) -> OutcomeReport:
    return OutcomeReport(
        startup_id=row.startup_id,
        investor_id=row.investor_id,
        outcome=row.outcome,  # type: ignore[arg-type]  # stored only after check_report
        no_show=row.no_show,  # type: ignore[arg-type]
        amount_wan=row.amount_wan,
        on=row.occurred_on,
    )


async def _interactions(session: AsyncSession, record_ids: Sequence[int]) -> dict[int, list[InteractionRead]]:
    rows = (
        await session.scalars(
            select(Interaction).where(Interaction.outcome_record_id.in_(record_ids)).order_by(Interaction.id)
        )
    ).all()
    out: dict[int, list[InteractionRead]] = {}
    for r in rows:
        out.setdefault(r.outcome_record_id or 0, []).append(
            InteractionRead(r.startup_id, r.investor_id, r.occurred_on, r.outcome, r.amount_wan, r.event_id)
        )
    return out


def _read(row: OutcomeRecord, problem: EventProblem, *, current: bool,
          interactions: list[InteractionRead]) -> OutcomeRead:
    return OutcomeRead(
        id=row.id,
        event_id=row.event_id,
        startup_id=row.startup_id,
        startup_name=problem.label_of(row.startup_id),
        investor_id=row.investor_id,
        investor_name=problem.label_of(row.investor_id),
        outcome=row.outcome,
        no_show=row.no_show,
        amount_wan=row.amount_wan,
        on=row.occurred_on,
        scheduled=row.scheduled,
        recorded_by=row.recorded_by,
        recorded_role=row.recorded_role,
        recorded_at=row.recorded_at,
        current=current,
        interactions=interactions,
    )


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    event_id: str,
    items: Sequence[OutcomeCreate],
    batch: bool = False,
    idempotent: IdempotentRequest | None = None,
    retrain: tuple[JobQueue, Settings] | None = None,
) -> list[OutcomeRead] | Replay:
    """Record reports (all or none, in one transaction); errors name the field (``items[k].…`` in a
    batch). With ``idempotent``, a retry of the same request replays the first response. With
    ``retrain`` (the queue and settings), new outcomes start the burst's one retrain (``registry``)."""
    async with session.begin():
        if idempotent is not None and (replay := await idempotency.recall(session, idempotent)) is not None:
            return replay
        event, problem = await _load(session, event_id)
        meetings = await _meetings(session, event_id)
        day = _event_day(event, problem)
        rows: list[OutcomeRecord] = []
        for k, item in enumerate(items):
            where = f"items[{k}]" if batch else ""
            report = check_report(_report(item), event_day=day, today=today(), where=where)
            scheduled = _authorise(principal, problem, meetings, report, where)
            row = OutcomeRecord(
                event_id=event_id,
                startup_id=report.startup_id,
                investor_id=report.investor_id,
                outcome=report.outcome,
                no_show=report.no_show,
                amount_wan=report.amount_wan,
                occurred_on=report.on,
                scheduled=scheduled,
                recorded_by=principal.key_id,
                recorded_role=principal.role.value,
            )
            session.add(row)
            rows.append(row)
        await session.flush()
        await _project(session, event, problem, {(r.startup_id, r.investor_id) for r in rows})
        await session.flush()
        linked = await _interactions(session, [r.id for r in rows])
        last = {(r.startup_id, r.investor_id): r.id for r in rows}
        result = [
            _read(r, problem, current=last[(r.startup_id, r.investor_id)] == r.id, interactions=linked.get(r.id, []))
            for r in rows
        ]
        if idempotent is not None:
            await idempotency.remember(session, idempotent, 201, result[0] if not batch else result)
    if retrain is not None:
        from api.services.registry import outcomes_recorded  # the registry imports the job queue and training

        await outcomes_recorded(session, *retrain)
    return result


async def list_outcomes(
    session: AsyncSession, *, principal: Principal, event_id: str, history: bool = False
) -> list[OutcomeRead]:
    """The event's reports: each pair's current one (or, with ``history``, every report, oldest first);
    a participant sees only its own meetings'."""
    async with session.begin():
        _, problem = await _load(session, event_id)
        query = select(OutcomeRecord).where(OutcomeRecord.event_id == event_id).order_by(OutcomeRecord.id)
        if not principal.is_staff:
            pid = principal.participant_id or ""
            query = query.where((OutcomeRecord.startup_id == pid) | (OutcomeRecord.investor_id == pid))
        rows = (await session.scalars(query)).all()
        last: dict[Pair, int] = {(r.startup_id, r.investor_id): r.id for r in rows}
        shown = [r for r in rows if history or last[(r.startup_id, r.investor_id)] == r.id]
        linked = await _interactions(session, [r.id for r in shown])
        return [
            _read(r, problem, current=last[(r.startup_id, r.investor_id)] == r.id, interactions=linked.get(r.id, []))
            for r in shown
        ]
