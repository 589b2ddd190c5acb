"""Roadshow events: stored in the ``event.json`` shape, scheduled and rescheduled by
``matcher.scheduling`` in jobs on the queue (``api.services.jobs``), exported as JSON, CSV, Excel or iCalendar."""

from __future__ import annotations

import asyncio
import io
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import polars as pl
from numpy.typing import NDArray
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.models import Event, EventParticipant, Investor, Meeting, ScheduleJob, Startup
from api.errors import FieldConflictError, StoredProblem
from api.schemas.events import (
    AgendaRead,
    EventCreate,
    EventRead,
    JobRead,
    MeetingRead,
    RescheduleRequest,
    ScheduleOutcome,
    ScheduleRequest,
)
from api.services import idempotency
from api.services.frames import load_dataset
from api.services.idempotency import IdempotentRequest
from api.services.jobs import JobContext, JobQueue, add_job, new_job, wait_for
from api.services.models import ModelStore
from matcher.errors import ConflictError, InvalidInputError, NotFoundError
from matcher.scheduling import EventProblem, Schedule, parse_changes, parse_event, reschedule, solve, write_exports
from matcher.scheduling.problem import Pair, event_to_dict
from matcher.scheduling.schedule import Meeting as GridMeeting
from matcher.scheduling.schedule import Move

ExportFormat = Literal["json", "csv", "xlsx", "ics"]
SIDES = (("startup", "startups", "startup_id"), ("investor", "investors", "investor_id"))


@dataclass(frozen=True, slots=True)
class Download:
    content: bytes
    media_type: str
    filename: str


# --- storing and reading events ------------------------------------------------------------------


def _raw(event: Event) -> dict[str, Any]:
    """The stored event as an ``event.json`` object."""
    raw: dict[str, Any] = {
        "event_id": event.event_id,
        "name": event.name,
        "tables": event.tables,
        "slots": event.slots,
        "scores": event.scores,
        "requests": event.requests,
        "conflicts": event.conflicts,
    }
    for side, key, id_key in SIDES:
        raw[key] = [
            {
                id_key: p.participant_id,
                "available": p.available,
                "min_meetings": p.min_meetings,
                "max_meetings": p.max_meetings,
            }
            for p in event.participants
            if p.side == side
        ]
    return raw


def _read(event: Event) -> EventRead:
    raw = _raw(event)
    return EventRead(
        event_id=event.event_id,
        name=event.name or event.event_id,
        tables=event.tables,
        slots=raw["slots"],
        startups=raw["startups"],
        investors=raw["investors"],
        requests=raw["requests"],
        conflicts=raw["conflicts"],
        scores_given=len(event.scores),
        summary=event.summary,
        version=event.version,
        created_at=event.created_at,
    )


def _participants(raw: dict[str, Any]) -> list[EventParticipant]:
    return [
        EventParticipant(
            side=side,
            participant_id=p[id_key],
            available=p.get("available"),
            min_meetings=p.get("min_meetings") or 0,
            max_meetings=p.get("max_meetings"),
        )
        for side, key, id_key in SIDES
        for p in raw[key]
    ]


async def _check_known(session: AsyncSession, body: EventCreate) -> None:
    for key, model, column, items in (
        ("startups", Startup, Startup.startup_id, [p.startup_id for p in body.startups]),
        ("investors", Investor, Investor.investor_id, [p.investor_id for p in body.investors]),
    ):
        # Archived participants (they have history but left) can no longer be booked.
        query = select(column).where(column.in_(items), model.archived_at.is_(None))
        known = set((await session.scalars(query)).all())
        for k, pid in enumerate(items):
            if pid not in known:
                raise InvalidInputError(
                    f"no active {model.__tablename__[:-1]} with id {pid}", field=f"{key}[{k}].{key[:-1]}_id"
                )


async def create_event(session: AsyncSession, *, body: EventCreate) -> EventRead:
    raw = msgspec.to_builtins(body)
    parse_event(raw)  # the library's validation: slot times, availability, duplicates, pair references
    async with session.begin():
        existing = await session.get(Event, body.event_id)
        if existing is not None:
            raise FieldConflictError(f"an event with id {body.event_id} already exists", field="event_id")
        await _check_known(session, body)
        event = Event(
            event_id=body.event_id,
            name=body.name,
            tables=body.tables,
            slots=raw["slots"],
            scores=raw["scores"],
            requests=raw["requests"],
            conflicts=raw["conflicts"],
            participants=_participants(raw),
        )
        session.add(event)
        await session.flush()
    return _read(event)


async def _load(session: AsyncSession, event_id: str) -> Event:
    event = await session.get(Event, event_id)
    if event is None or not event.slots:
        raise NotFoundError(f"no roadshow event with id {event_id}")
    return event


async def get_event(session: AsyncSession, *, event_id: str) -> EventRead:
    async with session.begin():
        return _read(await _load(session, event_id))


async def list_events(session: AsyncSession) -> list[EventRead]:
    async with session.begin():
        rows = (await session.scalars(select(Event).where(Event.tables > 0).order_by(Event.event_id))).all()
        return [_read(r) for r in rows]


# --- solving ----------------------------------------------------------------------------------------


async def _problem(session: AsyncSession, store: ModelStore, raw: dict[str, Any]) -> EventProblem:
    """The event with pairs it gives no score for scored by the active ranking model (if any)."""
    models = await store.current()
    if models is None:
        return await asyncio.to_thread(parse_event, raw)
    startup_ids = [p["startup_id"] for p in raw["startups"]]
    data = await load_dataset(session, tables=("startups", "ip_assets"), startup_ids=startup_ids)
    ranking = models.ranking
    known_investors = set(ranking.featurizer_.investor_ids_.tolist())

    def scorer(pairs: list[Pair]) -> NDArray[np.float64]:
        scores = np.full(len(pairs), np.nan)
        usable = [k for k, (_, i) in enumerate(pairs) if i in known_investors]
        if usable:
            frame = pl.DataFrame([pairs[k] for k in usable], schema=["startup_id", "investor_id"], orient="row")
            scores[usable] = ranking.score_pairs(data, frame)
        return scores

    return await asyncio.to_thread(parse_event, raw, pair_scorer=scorer)


def _grid_meetings(rows: Sequence[Meeting]) -> tuple[GridMeeting, ...]:
    return tuple(GridMeeting(m.slot_id, m.table, m.startup_id, m.investor_id, m.score) for m in rows)


async def _store(session: AsyncSession, event_id: str, problem: EventProblem, schedule: Schedule) -> dict[str, Any]:
    """Replace the event's meetings and resolved definition (scores included, so a reschedule uses the
    same scores as the solve it changes)."""
    event = await _load(session, event_id)
    resolved = event_to_dict(problem)
    event.scores, event.requests, event.conflicts = resolved["scores"], resolved["requests"], resolved["conflicts"]
    # Update in place: the participants stay the same people, only their availability and limits change.
    changed = {(p.side, p.participant_id): p for p in _participants(resolved)}
    for row in event.participants:
        new = changed[(row.side, row.participant_id)]
        row.available, row.min_meetings, row.max_meetings = new.available, new.min_meetings, new.max_meetings
    summary = schedule.summary()
    event.summary = summary
    await session.execute(delete(Meeting).where(Meeting.event_id == event_id))
    session.add_all(
        Meeting(
            event_id=event_id,
            slot_id=m.slot_id,
            table=m.table,
            startup_id=m.startup_id,
            investor_id=m.investor_id,
            score=m.score,
        )
        for m in schedule.meetings
    )
    return summary


async def _archived(session: AsyncSession, event: Event) -> list[str]:
    """Participants archived since the event was defined: a re-plan removes them and says so."""
    ids = {side: [p.participant_id for p in event.participants if p.side == side] for side, _, _ in SIDES}
    startups = await session.scalars(
        select(Startup.startup_id).where(Startup.startup_id.in_(ids["startup"]), Startup.archived_at.is_not(None))
    )
    investors = await session.scalars(
        select(Investor.investor_id).where(
            Investor.investor_id.in_(ids["investor"]), Investor.archived_at.is_not(None)
        )
    )
    return sorted([*startups.all(), *investors.all()])


async def _solve_and_store(
    sessions: async_sessionmaker[AsyncSession],
    store: ModelStore,
    *,
    event_id: str,
    kind: str,
    params: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    async with sessions() as session:
        async with session.begin():
            event = await _load(session, event_id)
            raw = _raw(event)
            current = _grid_meetings((await session.scalars(select(Meeting).where(Meeting.event_id == event_id))).all())
            removed = await _archived(session, event) if kind == "reschedule" else []
            problem = await _problem(session, store, raw)
        options = {"mode": params["mode"], "time_limit": params["time_limit"], "progress": progress}
        if kind == "reschedule":
            if not current:
                raise ConflictError(f"event {event_id} has no schedule yet; schedule it before rescheduling")
            raw_changes = dict(params["changes"])
            raw_changes["no_shows"] = list(dict.fromkeys([*raw_changes.get("no_shows", []), *removed]))
            changes = parse_changes(raw_changes, problem)
            problem, schedule = await asyncio.to_thread(reschedule, problem, current, changes, **options)
        else:
            schedule = await asyncio.to_thread(solve, problem, **options)
        async with session.begin():
            summary = await _store(session, event_id, problem, schedule)
            if removed:
                summary = {**summary, "removed": removed}
                (await _load(session, event_id)).summary = summary
            return summary


async def run_solve_job(context: JobContext) -> dict[str, Any]:
    """The queue's handler for ``schedule`` and ``reschedule`` jobs (runs in a worker thread's loop)."""
    assert context.event_id is not None
    return await _solve_and_store(
        context.sessions,
        context.runtime.models,
        event_id=context.event_id,
        kind=context.kind,
        params=context.params,
        progress=context.report,
    )


def _job_read(job: ScheduleJob) -> JobRead:
    return JobRead(
        job_id=job.job_id,
        event_id=job.event_id or "",
        kind=job.kind,
        status=job.status,
        params=job.params,
        result=job.result,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        attempts=job.attempts,
        progress=job.progress,
        started_at=job.started_at,
    )


async def run(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    queue: JobQueue,
    *,
    event_id: str,
    request: ScheduleRequest | RescheduleRequest,
    background_pairs: int,
    idempotent: IdempotentRequest | None = None,
) -> ScheduleOutcome:
    """Schedule (or reschedule) as a job on the queue: one per event at a time (409 naming the running
    one). Small events are waited for and answered at once; large ones, or when asked, answer 202 with
    the job to poll. With ``idempotent``, a retry gets the job of the first request."""
    kind = "reschedule" if isinstance(request, RescheduleRequest) else "schedule"
    params: dict[str, Any] = {"mode": request.mode, "time_limit": request.time_limit}
    if isinstance(request, RescheduleRequest):
        params["changes"] = msgspec.to_builtins(request.changes)
    job: ScheduleJob | None = None
    async with session.begin():
        if idempotent is not None and (replay := await idempotency.recall(session, idempotent)) is not None:
            job = await session.get(ScheduleJob, replay.body["job_id"])
        event = await _load(session, event_id)
        n_startups = sum(1 for p in event.participants if p.side == "startup")
        large = n_startups * (len(event.participants) - n_startups) > background_pairs
    background = request.background if request.background is not None else large
    if job is None:
        job = await add_job(
            session,
            new_job(kind, params, event_id=event_id, lock_key=f"event:{event_id}"),
            remember=idempotent,
        )
        queue.enqueue(job.job_id)
    if not background:
        # The solve's own limit, plus loading and storing.
        job = await wait_for(sessions, job.job_id, request.time_limit + 30.0)
        if job.status == "done":
            return ScheduleOutcome(event_id=event_id, summary=job.result)
        if job.status == "failed" and job.error is not None:
            raise StoredProblem(job.error)
    return ScheduleOutcome(event_id=event_id, job=_job_read(job))


async def get_job(session: AsyncSession, *, job_id: str) -> JobRead:
    async with session.begin():
        job = await session.get(ScheduleJob, job_id)
        if job is None:
            raise NotFoundError(f"no job with id {job_id}")
        return _job_read(job)


# --- reading the schedule -------------------------------------------------------------------------


async def _scheduled(session: AsyncSession, event_id: str) -> tuple[EventProblem, Schedule]:
    async with session.begin():
        event = await _load(session, event_id)
        if event.summary is None:
            raise ConflictError(f"event {event_id} has not been scheduled yet")
        raw, summary = _raw(event), dict(event.summary)
        rows = (
            await session.scalars(
                select(Meeting).where(Meeting.event_id == event_id).order_by(Meeting.slot_id, Meeting.table)
            )
        ).all()
    problem = parse_event(raw)
    moves = tuple(
        Move(m["startup_id"], m["investor_id"], m["from"], m["to"], m["reason"]) for m in summary.get("moved", [])
    )
    schedule = Schedule(
        event_id=event_id,
        meetings=_grid_meetings(rows),
        objective=summary["objective"],
        upper_bound=summary["upper_bound"],
        status=summary["status"],
        solver=summary["solver"],
        mode=summary["mode"],
        seconds=summary["seconds"],
        moves=moves,
        rescheduled=bool(moves),
    )
    return problem, schedule


def _meeting_reads(problem: EventProblem, meetings: Sequence[GridMeeting]) -> list[MeetingRead]:
    slots = {s.slot_id: s for s in problem.slots}
    return [
        MeetingRead(
            slot_id=m.slot_id,
            start=slots[m.slot_id].start.isoformat(timespec="minutes"),
            end=slots[m.slot_id].end.isoformat(timespec="minutes"),
            table=m.table,
            startup_id=m.startup_id,
            investor_id=m.investor_id,
            score=m.score,
        )
        for m in meetings
    ]


def _download(
    problem: EventProblem, schedule: Schedule, fmt: Literal["csv", "xlsx", "ics"], stem: str, side: str | None = None
) -> Download:
    """Write the export with the library into a temporary directory and return its bytes.

    ``side`` picks one participant's calendar (an agenda); otherwise an event's calendars, one per
    participant with its own stable UIDs, come bundled as a zip."""
    with tempfile.TemporaryDirectory(prefix="roadshow-export-") as tmp:
        paths = write_exports(problem, schedule, Path(tmp), formats=[fmt])[fmt]
        if fmt == "csv":
            return Download(paths[0].read_bytes(), "text/csv; charset=utf-8", f"{stem}.csv")
        if fmt == "xlsx":
            return Download(
                paths[0].read_bytes(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                f"{stem}.xlsx",
            )
        if side is not None:
            wanted = [p for p in paths if p.name.startswith(f"{side}-")]
            if not wanted:
                raise NotFoundError("no meetings to put in a calendar")
            return Download(wanted[0].read_bytes(), "text/calendar; charset=utf-8", f"{stem}.ics")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
        return Download(buffer.getvalue(), "application/zip", f"{stem}-ics.zip")


async def meetings(session: AsyncSession, *, event_id: str, fmt: ExportFormat) -> list[MeetingRead] | Download:
    problem, schedule = await _scheduled(session, event_id)
    if fmt == "json":
        return _meeting_reads(problem, schedule.meetings)
    return await asyncio.to_thread(_download, problem, schedule, fmt, f"{event_id}-meetings")


async def agenda(
    session: AsyncSession, *, event_id: str, participant_id: str, fmt: Literal["json", "ics"]
) -> AgendaRead | Download:
    problem, schedule = await _scheduled(session, event_id)
    sides = [side for side, key, _ in SIDES if any(p.participant_id == participant_id for p in getattr(problem, key))]
    if not sides:
        raise NotFoundError(f"{participant_id} does not take part in event {event_id}")
    side = sides[0]
    own = tuple(m for m in schedule.meetings if participant_id in (m.startup_id, m.investor_id))
    if fmt == "json":
        return AgendaRead(
            event_id=event_id, participant_id=participant_id, side=side, meetings=_meeting_reads(problem, own)
        )
    mine = Schedule(
        event_id=schedule.event_id,
        meetings=own,
        objective=schedule.objective,
        upper_bound=schedule.upper_bound,
        status=schedule.status,
        solver=schedule.solver,
        mode=schedule.mode,
        seconds=schedule.seconds,
        moves=tuple(m for m in schedule.moves if participant_id in (m.startup_id, m.investor_id)),
        rescheduled=schedule.rescheduled,
    )

    return await asyncio.to_thread(_download, problem, mine, "ics", f"{event_id}-{participant_id}", side)
