"""Roadshow events: orchestration only. ``matcher.scheduling`` parses the event once into its problem (named
from the database, unscored pairs scored by the active ranking model), solves and re-plans it and writes
every export; this module stores the problem and the schedule as the library's own documents, runs large
solves and re-plans as jobs on the queue (``api.services.jobs``), and reads them back for the API and the console."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.models import Event, EventParticipant, Investor, Meeting, ScheduleJob, Startup
from api.errors import StoredProblem
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
from api.services import idempotency, participants
from api.services.frames import load_dataset
from api.services.idempotency import IdempotentRequest
from api.services.jobs import JobContext, JobQueue, add_job, new_job, wait_for
from api.services.models import ModelStore
from matcher.errors import ConflictError, InvalidInputError, NotFoundError
from matcher.scheduling import (
    DEFAULT_MODE,
    DEFAULT_ORGANISER,
    MODES,
    Download,
    EventProblem,
    Mode,
    Organiser,
    Schedule,
    download,
    event_to_dict,
    parse_changes,
    parse_event,
    reschedule,
    score_unscored,
    solve,
)
from matcher.scheduling import Meeting as GridMeeting
from matcher.scheduling.calendar import MEDIA_TYPE as CALENDAR_MEDIA_TYPE
from matcher.scheduling.calendar import calendar_name, calendars
from matcher.scheduling.scoring import model_pair_scorer
from matcher.scheduling.wishes import honour_wishes, without_wishes

ExportFormat = Literal["json", "csv", "xlsx", "ics", "html"]
SIDES = (("startup", "startups", "startup_id"), ("investor", "investors", "investor_id"))


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """An event as the library sees it, with its latest schedule (None before the first solve)."""

    problem: EventProblem
    schedule: Schedule | None


# --- storing and reading events ------------------------------------------------------------------


def _read(event: Event) -> EventRead:
    doc = event.problem or {}
    problem = parse_event(doc)
    schedule = _schedule_of(event, ())
    return EventRead(
        event_id=event.event_id,
        name=problem.name,
        venue=problem.venue,
        tables=problem.tables,
        slots=doc["slots"],
        startups=doc["startups"],
        investors=doc["investors"],
        requests=doc.get("requests", []),
        conflicts=doc.get("conflicts", []),
        scores_given=len(problem.scores),
        summary=schedule.summary(problem) if schedule is not None else None,
        version=event.version,
        created_at=event.created_at,
    )


def _schedule_of(event: Event, rows: tuple[GridMeeting, ...]) -> Schedule | None:
    """The stored schedule document with its meetings (kept as rows) put back."""
    if event.schedule is None:
        return None
    return replace(Schedule.from_document({**event.schedule, "meetings": []}), meetings=rows)


def _index(problem: EventProblem) -> list[EventParticipant]:
    return [
        EventParticipant(side=side, participant_id=p.participant_id)
        for side, key, _ in SIDES
        for p in getattr(problem, key)
    ]


async def _names(session: AsyncSession, body: EventCreate) -> dict[str, str]:
    """Names of the event's participants, checking each is registered (errors name the entry)."""
    names: dict[str, str] = {}
    for key, model, column, items in (
        ("startups", Startup, Startup.startup_id, [p.startup_id for p in body.startups]),
        ("investors", Investor, Investor.investor_id, [p.investor_id for p in body.investors]),
    ):
        # Archived participants (they have history but left) can no longer be booked.
        query = select(column, model.name).where(column.in_(items), model.archived_at.is_(None))
        found = {r[0]: r[1] for r in (await session.execute(query)).all()}
        for k, pid in enumerate(items):
            if pid not in found:
                raise InvalidInputError(
                    f"no active {model.__tablename__[:-1]} with id {pid}", field=f"{key}[{k}].{key[:-1]}_id"
                )
        names.update(found)
    return names


async def _scored(session: AsyncSession, store: ModelStore, problem: EventProblem) -> EventProblem:
    """The event with the pairs it leaves unscored scored by the active ranking model (if there is one)."""
    models = await store.current()
    if models is None or not problem.unscored():
        return problem
    startup_ids = [p.participant_id for p in problem.startups]
    data = await load_dataset(session, tables=("startups", "ip_assets"), startup_ids=startup_ids)
    return await asyncio.to_thread(score_unscored, problem, model_pair_scorer(models.ranking, data))


async def create_event(
    session: AsyncSession, store: ModelStore, *, body: EventCreate, default_venue: str | None = None
) -> EventRead:
    """Parse the event once, named from the database (the library's validation: slots, availability,
    duplicates, pairs), score it, and store it as one document."""
    async with session.begin():
        if await session.get(Event, body.event_id) is not None:
            raise ConflictError(f"an event with id {body.event_id} already exists", field="event_id")
        problem = parse_event(msgspec.to_builtins(body), names=await _names(session, body))
        problem = await _scored(session, store, replace(problem, venue=problem.venue or default_venue))
        event = Event(
            event_id=problem.event_id,
            name=problem.name,
            held_on=problem.slots[0].start.date(),
            tables=problem.tables,
            problem=event_to_dict(problem),
            participants=_index(problem),
        )
        session.add(event)
        await session.flush()
        return _read(event)


async def _load(session: AsyncSession, event_id: str) -> Event:
    event = await session.get(Event, event_id)
    if event is None or event.problem is None:
        raise NotFoundError(f"no roadshow event with id {event_id}")
    return event


async def get_event(session: AsyncSession, *, event_id: str) -> EventRead:
    async with session.begin():
        return _read(await _load(session, event_id))


async def list_events(session: AsyncSession) -> list[EventRead]:
    async with session.begin():
        rows = (
            await session.scalars(select(Event).where(Event.problem.is_not(None)).order_by(Event.event_id.desc()))
        ).all()
        return [_read(r) for r in rows]


async def _meeting_rows(session: AsyncSession, event_id: str) -> tuple[GridMeeting, ...]:
    rows = (
        await session.scalars(
            select(Meeting).where(Meeting.event_id == event_id).order_by(Meeting.slot_id, Meeting.table)
        )
    ).all()
    return tuple(GridMeeting(m.slot_id, m.table, m.startup_id, m.investor_id, m.score) for m in rows)


async def scheduled(session: AsyncSession, *, event_id: str) -> ScheduledEvent:
    """The stored event and its schedule, read back as the library's objects."""
    async with session.begin():
        event = await _load(session, event_id)
        rows = await _meeting_rows(session, event_id) if event.schedule is not None else ()
        return ScheduledEvent(parse_event(event.problem), _schedule_of(event, rows))


# --- solving ----------------------------------------------------------------------------------------


def _mode(requested: str | None, current: Schedule | None) -> Mode:
    wanted = requested or (current.mode if current is not None else DEFAULT_MODE)
    return next((m for m in MODES if m == wanted), DEFAULT_MODE)


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
            read_version = event.version
            rows = await _meeting_rows(session, event_id) if event.schedule is not None else ()
            current = _schedule_of(event, rows)
            removed = await _archived(session, event) if kind == "reschedule" else []
            # Participants' wishes and answered requests join the event here, the one way into the solver.
            honoured = honour_wishes(parse_event(event.problem), await participants.stated_wishes(session, event_id))
            problem = await _scored(session, store, honoured.problem)
        mode = _mode(params.get("mode"), current)
        if kind == "reschedule":
            if current is None:
                raise ConflictError(f"event {event_id} has no schedule yet; schedule it before rescheduling")
            raw_changes = dict(params["changes"])
            raw_changes["no_shows"] = list(dict.fromkeys([*raw_changes.get("no_shows", []), *removed]))
            changes = parse_changes(raw_changes, problem)
            problem, schedule = await asyncio.to_thread(
                reschedule, problem, current, changes, mode=mode, time_limit=params["time_limit"], progress=progress
            )
        else:
            schedule = await asyncio.to_thread(
                solve, problem, mode=mode, time_limit=params["time_limit"], progress=progress
            )
        async with session.begin():
            # The stored event stays the organiser's own: the wishes are honoured afresh by every solve.
            await _store(
                session, event_id, without_wishes(problem, honoured), schedule,
                # A solve changes nothing in the event but its scores: an edit made meanwhile (a
                # participant's availability) is kept rather than overwritten by the document read before.
                replace_document=kind == "reschedule",
                read_version=read_version,
            )
        summary = schedule.summary(problem)
        return {**summary, "removed": removed} if removed else summary


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


async def _store(
    session: AsyncSession,
    event_id: str,
    problem: EventProblem,
    schedule: Schedule,
    *,
    replace_document: bool = True,
    read_version: int | None = None,
) -> None:
    """Replace the event's document (a re-plan changes availability, conflicts and requests; scores stay
    the ones the schedule was made with) and its schedule, meetings as rows. Without
    ``replace_document`` the document is replaced only if still at ``read_version``."""
    event = await _load(session, event_id)
    await session.refresh(event)
    if replace_document or event.version == read_version:
        event.problem = event_to_dict(problem)
    document = schedule.to_document()
    document.pop("meetings")
    event.schedule = document
    await session.execute(delete(Meeting).where(Meeting.event_id == event_id))
    session.add_all(
        Meeting(event_id=event_id, slot_id=m.slot_id, table=m.table, startup_id=m.startup_id,
                investor_id=m.investor_id, score=m.score)
        for m in schedule.meetings
    )


def job_read(job: ScheduleJob) -> JobRead:
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
        problem = event.problem or {}
        large = len(problem.get("startups", ())) * len(problem.get("investors", ())) > background_pairs
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
    return ScheduleOutcome(event_id=event_id, job=job_read(job))


async def get_job(session: AsyncSession, *, job_id: str) -> JobRead:
    async with session.begin():
        job = await session.get(ScheduleJob, job_id)
        if job is None:
            raise NotFoundError(f"no job with id {job_id}")
        return job_read(job)


async def latest_job(session: AsyncSession, *, event_id: str) -> JobRead | None:
    """The event's most recent job (what the console shows while a solve runs)."""
    async with session.begin():
        job = await session.scalar(
            select(ScheduleJob).where(ScheduleJob.event_id == event_id).order_by(ScheduleJob.created_at.desc())
        )
        return job_read(job) if job is not None else None


# --- reading the schedule -------------------------------------------------------------------------


async def _solved(session: AsyncSession, event_id: str) -> tuple[EventProblem, Schedule]:
    found = await scheduled(session, event_id=event_id)
    if found.schedule is None:
        raise ConflictError(f"event {event_id} has not been scheduled yet")
    return found.problem, found.schedule


def _meeting_reads(problem: EventProblem, meetings: tuple[GridMeeting, ...]) -> list[MeetingRead]:
    slots = {s.slot_id: s for s in problem.slots}
    return [
        MeetingRead(
            slot_id=m.slot_id,
            start=slots[m.slot_id].start.isoformat(timespec="minutes"),
            end=slots[m.slot_id].end.isoformat(timespec="minutes"),
            table=m.table,
            startup_id=m.startup_id,
            startup_name=problem.label_of(m.startup_id),
            investor_id=m.investor_id,
            investor_name=problem.label_of(m.investor_id),
            score=m.score,
        )
        for m in meetings
    ]


async def meetings(
    session: AsyncSession, *, event_id: str, fmt: ExportFormat, organiser: Organiser = DEFAULT_ORGANISER
) -> list[MeetingRead] | Download:
    problem, schedule = await _solved(session, event_id)
    if fmt == "json":
        return _meeting_reads(problem, schedule.meetings)
    return await asyncio.to_thread(
        download, problem, schedule, fmt, stem=f"{event_id}-meetings", organiser=organiser
    )


async def agenda(
    session: AsyncSession,
    *,
    event_id: str,
    participant_id: str,
    fmt: Literal["json", "ics"],
    organiser: Organiser = DEFAULT_ORGANISER,
) -> AgendaRead | Download:
    problem, schedule = await _solved(session, event_id)
    sides = [side for side, key, _ in SIDES if any(p.participant_id == participant_id for p in getattr(problem, key))]
    if not sides:
        raise NotFoundError(f"{participant_id} does not take part in event {event_id}")
    mine = schedule.only(participant_id)
    if fmt == "json":
        return AgendaRead(
            event_id=event_id,
            participant_id=participant_id,
            name=problem.label_of(participant_id),
            side=sides[0],
            meetings=_meeting_reads(problem, mine.meetings),
        )
    files = await asyncio.to_thread(calendars, problem, mine, organiser=organiser)
    content = files.get(calendar_name(sides[0], participant_id))
    if content is None:
        raise NotFoundError(f"{participant_id} has no meetings to put in a calendar")
    return Download(content, CALENDAR_MEDIA_TYPE, f"{event_id}-{participant_id}.ics")
