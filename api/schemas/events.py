"""Roadshow events in the ``event.json`` shape of DATA_FORMAT.md, with the service's limits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from api.schemas.common import Id, Name

SlotCount = Annotated[int, Meta(ge=0, le=500)]
Stamp = Annotated[str, Meta(min_length=16, max_length=32)]
SlotIds = Annotated[list[Id], Meta(max_length=500)]


class SlotIn(Struct, forbid_unknown_fields=True):
    slot_id: Id
    start: Stamp
    end: Stamp


class StartupAtEvent(Struct, forbid_unknown_fields=True):
    startup_id: Id
    available: SlotIds | None = None
    min_meetings: SlotCount = 0
    max_meetings: SlotCount | None = None


class InvestorAtEvent(Struct, forbid_unknown_fields=True):
    investor_id: Id
    available: SlotIds | None = None
    min_meetings: SlotCount = 0
    max_meetings: SlotCount | None = None


class PairScore(Struct, forbid_unknown_fields=True):
    startup_id: Id
    investor_id: Id
    score: Annotated[float, Meta(ge=0, le=1_000)]


class PairRequest(Struct, forbid_unknown_fields=True):
    startup_id: Id
    investor_id: Id
    kind: Literal["must", "wish"]


class Pair(Struct, forbid_unknown_fields=True):
    startup_id: Id
    investor_id: Id


class EventCreate(Struct, forbid_unknown_fields=True):
    """``event.json``; participants are startups and investors (or banks) already in the database."""

    event_id: Id
    name: Name
    tables: Annotated[int, Meta(ge=1, le=1_000)]
    slots: Annotated[list[SlotIn], Meta(min_length=1, max_length=500)]
    startups: Annotated[list[StartupAtEvent], Meta(min_length=1, max_length=5_000)]
    investors: Annotated[list[InvestorAtEvent], Meta(min_length=1, max_length=2_000)]
    scores: Annotated[list[PairScore], Meta(max_length=500_000)] = msgspec.field(default_factory=list)
    requests: Annotated[list[PairRequest], Meta(max_length=20_000)] = msgspec.field(default_factory=list)
    conflicts: Annotated[list[Pair], Meta(max_length=20_000)] = msgspec.field(default_factory=list)
    # Where the meetings are held (calendar LOCATION); default: the deployment's ROADSHOW_VENUE.
    venue: Name | None = None


class EventRead(Struct):
    event_id: str
    name: str
    venue: str | None
    tables: int
    slots: list[dict[str, Any]]
    startups: list[dict[str, Any]]
    investors: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    scores_given: int
    summary: dict[str, Any] | None
    version: int
    created_at: datetime


ModeName = Literal["balanced", "total", "fair"]


class ScheduleRequest(Struct, forbid_unknown_fields=True):
    """``mode``: balanced (default: as many meetings for the worst-off startup as possible, then the best
    total), total, or fair (also lifts the worst-off startup's score total)."""

    mode: ModeName | None = None
    time_limit: Annotated[float, Meta(gt=0, le=600)] = 30.0
    # None: the service decides (large events run in the background).
    background: bool | None = None


class Changes(Struct, forbid_unknown_fields=True):
    """What happened since the schedule was made (the ``--changes`` file of ``roadshow schedule``)."""

    cancellations: Annotated[list[Pair], Meta(max_length=20_000)] = msgspec.field(default_factory=list)
    late_arrivals: Annotated[list[dict[str, Any]], Meta(max_length=7_000)] = msgspec.field(default_factory=list)
    no_shows: Annotated[list[Id], Meta(max_length=7_000)] = msgspec.field(default_factory=list)
    must: Annotated[list[Pair], Meta(max_length=20_000)] = msgspec.field(default_factory=list)


class RescheduleRequest(Struct, forbid_unknown_fields=True):
    """``mode`` left out keeps the mode the schedule was made in."""

    changes: Changes
    mode: ModeName | None = None
    time_limit: Annotated[float, Meta(gt=0, le=600)] = 30.0
    background: bool | None = None


class MeetingRead(Struct):
    slot_id: str
    start: str
    end: str
    table: int
    startup_id: str
    startup_name: str
    investor_id: str
    investor_name: str
    score: float


class JobRead(Struct):
    job_id: str
    event_id: str
    kind: str
    status: str  # queued, running, done, failed
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
    # Tries so far (a job whose worker was killed is retried once); what the worker is doing now.
    attempts: int = 0
    progress: dict[str, Any] | None = None
    started_at: datetime | None = None


class ScheduleOutcome(Struct):
    """A finished solve (``summary``) or, for a background one, the job to poll (``job``)."""

    event_id: str
    summary: dict[str, Any] | None = None
    job: JobRead | None = None


class AgendaRead(Struct):
    event_id: str
    participant_id: str
    name: str
    side: str
    meetings: list[MeetingRead]
