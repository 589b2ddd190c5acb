from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from api.controllers._idempotency import IdempotencyKey, idempotent_request
from api.controllers._params import EntityId
from api.guards.auth import Caller, staff_only, staff_or_participant
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
from api.services import events
from api.state import Db, Service
from matcher.scheduling import Download

EVENT_MAX_BODY_BYTES = 32_000_000


def _file(download: Download) -> Response[bytes]:
    return Response(
        download.content,
        media_type=download.media_type,
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


async def _solve(
    *,
    request: Request[Any, Any, Any],
    db: Db,
    service: Service,
    event_id: str,
    body: ScheduleRequest | RescheduleRequest,
    idempotency_key: str | None,
) -> Response[ScheduleOutcome]:
    """Schedule or reschedule: 200 with the result, or 202 with a job for a large event."""
    outcome = await events.run(
        db,
        service.sessions,
        service.queue,
        event_id=event_id,
        request=body,
        background_pairs=service.settings.background_schedule_pairs,
        idempotent=idempotent_request(request, service, idempotency_key, body),
    )
    return Response(outcome, status_code=HTTP_202_ACCEPTED if outcome.job is not None else HTTP_200_OK)


class EventController(Controller):
    """Roadshows (organisers and admins): define, schedule, reschedule, export; a participant reads its
    own agenda."""

    path = "/api/events"
    tags = ("events",)

    # An event may carry a score for every pair: it gets a larger body limit than the rest of the API.
    @post(
        "",
        status_code=HTTP_201_CREATED,
        summary="Create a roadshow from the event.json shape",
        request_max_body_size=EVENT_MAX_BODY_BYTES,
        guards=[staff_only],
    )
    async def create(self, data: JSONBody[EventCreate], db: Db, service: Service) -> EventRead:
        return await events.create_event(db, service.models, body=data, default_venue=service.settings.default_venue)

    @get("", guards=[staff_only])
    async def list_events(self, db: Db) -> list[EventRead]:
        return await events.list_events(db)

    @get("/{event_id:str}", guards=[staff_only])
    async def get_event(self, event_id: EntityId, db: Db) -> EventRead:
        return await events.get_event(db, event_id=event_id)

    @post(
        "/{event_id:str}/schedule", summary="Solve the meeting grid (202 + job for large events)", guards=[staff_only]
    )
    async def schedule(
        self,
        *,
        request: Request[Any, Any, Any],
        event_id: EntityId,
        data: JSONBody[ScheduleRequest],
        db: Db,
        service: Service,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ScheduleOutcome]:
        return await _solve(
            request=request, db=db, service=service, event_id=event_id, body=data, idempotency_key=idempotency_key
        )

    @post(
        "/{event_id:str}/reschedule",
        summary="Re-solve after cancellations, late arrivals, no-shows",
        guards=[staff_only],
    )
    async def reschedule(
        self,
        *,
        request: Request[Any, Any, Any],
        event_id: EntityId,
        data: JSONBody[RescheduleRequest],
        db: Db,
        service: Service,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ScheduleOutcome]:
        return await _solve(
            request=request, db=db, service=service, event_id=event_id, body=data, idempotency_key=idempotency_key
        )

    @get(
        "/{event_id:str}/meetings",
        summary="The meetings as JSON, CSV, Excel, iCalendar (zip) or the printable agenda (html), with names",
        guards=[staff_only],
    )
    async def meetings(
        self,
        event_id: EntityId,
        db: Db,
        service: Service,
        format: FromQuery[events.ExportFormat] = "json",
    ) -> Response[list[MeetingRead]] | Response[bytes]:
        result = await events.meetings(db, event_id=event_id, fmt=format, organiser=service.settings.organiser())
        return _file(result) if isinstance(result, Download) else Response(result)

    @get(
        "/{event_id:str}/agenda/{participant_id:str}",
        summary="One participant's meetings (JSON or .ics); a participant's own key reads its own",
        guards=[staff_or_participant],
    )
    async def agenda(
        self,
        *,
        event_id: EntityId,
        participant_id: EntityId,
        db: Db,
        service: Service,
        principal: Caller,
        format: FromQuery[Literal["json", "ics"]] = "json",
    ) -> Response[AgendaRead] | Response[bytes]:
        principal.require_participant(participant_id)
        result = await events.agenda(
            db, event_id=event_id, participant_id=participant_id, fmt=format, organiser=service.settings.organiser()
        )
        return _file(result) if isinstance(result, Download) else Response(result)


class JobController(Controller):
    path = "/api/jobs"
    tags = ("events",)
    guards = (staff_only,)

    @get("/{job_id:str}", summary="Status of a background scheduling job")
    async def get_job(self, job_id: EntityId, db: Db) -> JobRead:
        return await events.get_job(db, job_id=job_id)
