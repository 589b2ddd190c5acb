"""Roadshows: the list, a form to create one, and the event page (solve with live progress, the grid with
names, the spread per startup, agendas, re-plans, downloads). Every action calls ``api.services.events``,
the service behind ``/api/events``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromPath, PathParameter
from litestar.response import Redirect, Template

from api.console.pages import STAFF, field_errors, need, redirect, render
from api.console.session import Viewer
from api.controllers.events import EVENT_MAX_BODY_BYTES
from api.schemas.events import EventCreate, RescheduleRequest, ScheduleRequest
from api.services import events, investors, startups
from api.state import Db, Service
from matcher.errors import InvalidInputError, MatcherError, NotFoundError
from matcher.scheduling import DEFAULT_MODE, MODES, Download, meetings_per_startup
from matcher.scheduling.handout import DEFAULT_TZ, agendas, local_times
from matcher.scheduling.schedule import CHANGE_KINDS

EventId = Annotated[str, PathParameter(max_length=64)]
PICK_LIMIT = 2_000
_SLOT_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]+(\d{1,2}:\d{2})\s*[-–~至]\s*(\d{1,2}:\d{2})$")
_AVAILABILITY_LINE = re.compile(r"^([^:：\s]+)\s*[:：]\s*(.+)$")


def default_slots(day: date) -> str:
    start = datetime(day.year, day.month, day.day, 14, 0)
    spans = [(start + timedelta(minutes=20 * k), start + timedelta(minutes=20 * (k + 1))) for k in range(12)]
    return "\n".join(f"{a:%Y-%m-%d %H:%M}-{b:%H:%M}" for a, b in spans)


def parse_slots(text: str) -> list[dict[str, str]]:
    """``2026-01-15 14:00-14:20`` per line → event.json slots s01, s02, …"""
    slots: list[dict[str, str]] = []
    for line_no, line in enumerate((x.strip() for x in text.splitlines()), start=1):
        if not line:
            continue
        found = _SLOT_LINE.match(line)
        if found is None:
            raise InvalidInputError(f"line {line_no}: {line!r} is not 'YYYY-MM-DD HH:MM-HH:MM'", field="slots")
        day, start, end = found.groups()
        k = len(slots) + 1
        slots.append({"slot_id": f"s{k:02d}", "start": f"{day}T{start.zfill(5)}", "end": f"{day}T{end.zfill(5)}"})
    return slots


def parse_availability(text: str, slot_ids: list[str]) -> dict[str, list[str]]:
    """``ID: s01-s06`` or ``ID: s01 s03 s05`` per line → each participant's available slots."""
    out: dict[str, list[str]] = {}
    for line_no, line in enumerate((x.strip() for x in text.splitlines()), start=1):
        if not line:
            continue
        found = _AVAILABILITY_LINE.match(line)
        if found is None:
            raise InvalidInputError(f"line {line_no}: {line!r} is not 'ID: s01-s06'", field="availability")
        pid, spec = found.groups()
        wanted: list[str] = []
        for part in re.split(r"[\s,，]+", spec.strip()):
            first, _, last = part.partition("-")
            if first not in slot_ids or (last and last not in slot_ids):
                raise InvalidInputError(f"line {line_no}: unknown slot in {part!r}", field="availability")
            lo, hi = slot_ids.index(first), slot_ids.index(last or first)
            wanted += slot_ids[min(lo, hi) : max(lo, hi) + 1]
        out[pid] = wanted
    return out


def _number(form: FormMultiDict, key: str, default: int | None) -> int | None:
    value = str(form.get(key) or "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise InvalidInputError("must be a whole number", field=key)
    return int(value)


def event_body(form: FormMultiDict) -> EventCreate:
    """The console's form as the API's ``EventCreate`` (same schema, same limits)."""
    slots = parse_slots(str(form.get("slots") or ""))
    slot_ids = [s["slot_id"] for s in slots]
    availability = parse_availability(str(form.get("availability") or ""), slot_ids)
    lo, hi, inv_hi = _number(form, "min_meetings", 0), _number(form, "max_meetings", None), _number(
        form, "investor_max", None
    )
    chosen_startups = [str(x) for x in form.getall("startups", [])]
    chosen_investors = [str(x) for x in form.getall("investors", [])]
    unknown = sorted(set(availability) - set(chosen_startups) - set(chosen_investors))
    if unknown:
        raise InvalidInputError(f"{unknown[0]} is not taking part in this roadshow", field="availability")

    def entry(id_key: str, pid: str, limits: dict[str, int | None]) -> dict[str, Any]:
        out: dict[str, Any] = {id_key: pid, **{k: v for k, v in limits.items() if v is not None}}
        if pid in availability:
            out["available"] = availability[pid]
        return out

    raw = {
        "event_id": str(form.get("event_id") or "").strip(),
        "name": str(form.get("name") or "").strip(),
        "venue": str(form.get("venue") or "").strip() or None,
        "tables": _number(form, "tables", 0),
        "slots": slots,
        "startups": [entry("startup_id", s, {"min_meetings": lo, "max_meetings": hi}) for s in chosen_startups],
        "investors": [entry("investor_id", i, {"max_meetings": inv_hi}) for i in chosen_investors],
    }
    try:
        return msgspec.convert(raw, EventCreate)
    except msgspec.ValidationError as exc:
        raise InvalidInputError(str(exc), field=field_of_schema_error(str(exc))) from None


def field_of_schema_error(message: str) -> str:
    found = re.search(r"at `\$\.([A-Za-z_]+)", message)
    return found.group(1) if found else "_form"


_FORM_FIELDS = {"startups": "startups", "investors": "investors", "slots": "slots"}


async def _pickers(db: Any) -> dict[str, Any]:
    """Registered startups, investors and banks to choose from."""
    return {
        "all_startups": (await startups.list_startups(db, limit=PICK_LIMIT)).items,
        "all_investors": (await investors.list_investors(db, bank=False, limit=PICK_LIMIT)).items,
        "all_banks": (await investors.list_investors(db, bank=True, limit=PICK_LIMIT)).items,
    }


@get("/console/events", include_in_schema=False)
async def event_list(request: Request[Any, Any, Any], db: Db, viewer: Viewer) -> Template:
    need(viewer, *STAFF)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    values = {"slots": default_slots(tomorrow), "tables": "8", "min_meetings": "2", "max_meetings": "6"}
    return render(request, viewer, "events.html", events=await events.list_events(db), values=values, errors={},
                  import_errors={}, chosen=set(), **await _pickers(db))


@post("/console/events", include_in_schema=False)
async def create_event(request: Request[Any, Any, Any], db: Db, service: Service, viewer: Viewer) -> Response[Any]:
    need(viewer, *STAFF)
    form = await request.form()
    try:
        body = event_body(form)
        created = await events.create_event(db, service.models, body=body, default_venue=service.settings.default_venue)
    except MatcherError as exc:
        errors = field_errors(exc, _FORM_FIELDS)
        values = {k: str(form.get(k) or "") for k in form}
        chosen = {str(x) for x in (*form.getall("startups", []), *form.getall("investors", []))}
        return render(request, viewer, "events.html", events=await events.list_events(db),
                      values=values, errors=errors, import_errors={}, chosen=chosen, **await _pickers(db))
    return redirect(f"/console/events/{created.event_id}")


@post("/console/events/import", include_in_schema=False, request_max_body_size=EVENT_MAX_BODY_BYTES)
async def import_event(request: Request[Any, Any, Any], db: Db, service: Service, viewer: Viewer) -> Response[Any]:
    """Upload an event.json (DATA_FORMAT.md), as ``POST /api/events`` takes it."""
    need(viewer, *STAFF)
    form = await request.form()
    upload = form.get("event")
    try:
        content = await upload.read() if isinstance(upload, UploadFile) else b""
        if not content:
            raise InvalidInputError("choose an event.json file", field="event_file")
        try:
            body = msgspec.json.decode(content, type=EventCreate)
        except msgspec.DecodeError as exc:
            raise InvalidInputError(f"not a valid event.json: {exc}", field="event_file") from None
        created = await events.create_event(db, service.models, body=body, default_venue=service.settings.default_venue)
    except MatcherError as exc:
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        return render(request, viewer, "events.html", events=await events.list_events(db), errors={},
                      import_errors={"event_file": str(exc)}, values={"slots": default_slots(tomorrow)},
                      chosen=set(), **await _pickers(db))
    return redirect(f"/console/events/{created.event_id}")


def _grid(problem: Any, schedule: Any) -> list[dict[str, Any]]:
    times = local_times(problem, DEFAULT_TZ)
    cell_of = {(m.slot_id, m.table): m for m in schedule.meetings} if schedule else {}
    return [
        {
            "slot": s,
            "start": times[s.slot_id][0],
            "end": times[s.slot_id][1],
            "cells": [cell_of.get((s.slot_id, t)) for t in range(1, problem.tables + 1)],
        }
        for s in problem.slots
    ]


@get("/console/events/{event_id:str}", include_in_schema=False)
async def event_page(request: Request[Any, Any, Any], event_id: EventId, db: Db, viewer: Viewer) -> Template:
    need(viewer, *STAFF)
    found = await events.scheduled(db, event_id=event_id)
    problem, schedule = found.problem, found.schedule
    job = await events.latest_job(db, event_id=event_id)
    counts = meetings_per_startup(problem, schedule.meetings) if schedule else {}
    summary = schedule.summary(problem) if schedule else None
    times = local_times(problem, DEFAULT_TZ)
    return render(
        request, viewer, "event.html",
        problem=problem, schedule=schedule, summary=summary, job=job,
        job_elapsed=_elapsed(job), grid=_grid(problem, schedule), times=times,
        spread=sorted(((problem.label_of(s), n) for s, n in counts.items()), key=lambda x: (x[1], x[0])),
        most=max(counts.values(), default=0),
        agendas=agendas(problem, schedule.meetings, DEFAULT_TZ) if schedule else [],
        modes=MODES, default_mode=schedule.mode if schedule else DEFAULT_MODE,
        changes=[(kind, schedule.changes(kind)) for kind in CHANGE_KINDS] if schedule else [],
    )


def _elapsed(job: Any) -> int:
    if job is None:
        return 0
    end = job.finished_at or datetime.now(UTC)
    return max(int((end - job.created_at).total_seconds()), 0)


@get("/console/events/{event_id:str}/jobs/{job_id:str}", include_in_schema=False)
async def job_fragment(
    request: Request[Any, Any, Any], event_id: EventId, job_id: EventId, db: Db, viewer: Viewer
) -> Template:
    """The live progress of a solve: the event page polls this fragment until the job is done."""
    need(viewer, *STAFF)
    job = await events.get_job(db, job_id=job_id)
    if job.event_id != event_id:
        raise NotFoundError(f"no job {job_id} for event {event_id}")
    return render(request, viewer, "job.html", job=job, job_elapsed=_elapsed(job))


async def _start(db: Any, service: Any, event_id: str, request_body: ScheduleRequest | RescheduleRequest) -> None:
    await events.run(
        db, service.sessions, service.queue, event_id=event_id, request=request_body,
        background_pairs=service.settings.background_schedule_pairs,
    )


@post("/console/events/{event_id:str}/solve", include_in_schema=False)
async def solve_event(
    request: Request[Any, Any, Any], event_id: EventId, db: Db, service: Service, viewer: Viewer
) -> Redirect:
    need(viewer, *STAFF)
    form = await request.form()
    try:
        body = msgspec.convert(
            {"mode": form.get("mode") or None, "time_limit": float(str(form.get("time_limit") or 30)),
             "background": True},
            ScheduleRequest,
        )
    except (ValueError, msgspec.ValidationError) as exc:
        raise InvalidInputError(str(exc), field="time_limit") from None
    await _start(db, service, event_id, body)
    return redirect(f"/console/events/{event_id}")


@post("/console/events/{event_id:str}/replan", include_in_schema=False)
async def replan_event(
    request: Request[Any, Any, Any], event_id: EventId, db: Db, service: Service, viewer: Viewer
) -> Redirect:
    """Cancel a meeting, mark a no-show or add a late arrival, then re-plan (keeping the schedule's mode)."""
    need(viewer, *STAFF)
    form = await request.form()
    action = str(form.get("action") or "")
    changes: dict[str, Any] = {}
    if action == "cancel":
        startup_id, _, investor_id = str(form.get("meeting") or "").partition("|")
        changes["cancellations"] = [{"startup_id": startup_id, "investor_id": investor_id}]
    elif action == "no_show":
        changes["no_shows"] = [str(form.get("participant") or "")]
    elif action == "late":
        problem = (await events.scheduled(db, event_id=event_id)).problem
        slot_ids = list(problem.slot_ids)
        first = str(form.get("from_slot") or "")
        if first not in slot_ids:
            raise InvalidInputError(f"unknown slot {first!r}", field="from_slot")
        changes["late_arrivals"] = [
            {"participant_id": str(form.get("participant") or ""), "available": slot_ids[slot_ids.index(first) :]}
        ]
    else:
        raise InvalidInputError("choose cancel, no_show or late", field="action")
    try:
        body = msgspec.convert({"changes": changes, "background": True}, RescheduleRequest)
    except msgspec.ValidationError as exc:
        raise InvalidInputError(str(exc), field="changes") from None
    await _start(db, service, event_id, body)
    return redirect(f"/console/events/{event_id}")


@get("/console/events/{event_id:str}/download/{fmt:str}", include_in_schema=False)
async def download(
    event_id: EventId, fmt: FromPath[Literal["xlsx", "csv", "ics", "html"]], db: Db, service: Service, viewer: Viewer
) -> Response[bytes]:
    need(viewer, *STAFF)
    file = await events.meetings(db, event_id=event_id, fmt=fmt, organiser=service.settings.organiser())
    assert not isinstance(file, list)  # every format but json is a file
    return Response(file.content, media_type=file.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{file.filename}"'})


@get("/console/events/{event_id:str}/calendar/{participant_id:str}", include_in_schema=False)
async def participant_calendar(
    event_id: EventId, participant_id: EventId, db: Db, service: Service, viewer: Viewer
) -> Response[bytes]:
    need(viewer, *STAFF)
    file = await events.agenda(db, event_id=event_id, participant_id=participant_id, fmt="ics",
                               organiser=service.settings.organiser())
    assert isinstance(file, Download)
    return Response(file.content, media_type=file.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{file.filename}"'})


HANDLERS = [event_list, create_event, import_event, event_page, job_fragment, solve_event, replan_event, download,
            participant_calendar]
