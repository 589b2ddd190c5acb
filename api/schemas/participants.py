"""A roadshow's participants' own side: availability, wishes and requests, the organiser's limits,
and meeting outcomes (``matcher.scheduling.wishes``, ``matcher.outcomes``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from api.schemas.common import Id, SmallCount, Wan

WishKindName = Literal["must", "wish", "no"]
AnswerName = Literal["accepted", "declined"]
OutcomeName = Literal["held", "no_show", "declined", "interested", "intent_signed", "invested"]
AbsentName = Literal["startup", "investor", "both"]
MAX_ITEMS = 500
# A whole roadshow's outcomes at once (a large roadshow plans a few hundred meetings).
MAX_OUTCOMES = 5000


class WishLimitsPut(Struct, forbid_unknown_fields=True):
    """How many wishes of each kind one participant may state; after ``closes_at`` only organisers
    change wishes and availability."""

    max_must: SmallCount = 3
    max_wish: SmallCount = 10
    max_no: SmallCount = 5
    closes_at: datetime | None = None


class WishLimitsRead(Struct):
    max_must: int
    max_wish: int
    max_no: int
    closes_at: datetime | None


class AvailabilityPut(Struct, forbid_unknown_fields=True):
    available: Annotated[list[Id], Meta(max_length=MAX_ITEMS)]


class WishItem(Struct, forbid_unknown_fields=True):
    counterpart_id: Id
    kind: WishKindName


class WishesPut(Struct, forbid_unknown_fields=True):
    """The participant's whole set of wishes at the event (replaces the previous set)."""

    wishes: Annotated[list[WishItem], Meta(max_length=MAX_ITEMS)]


class AnswerPut(Struct, forbid_unknown_fields=True):
    answer: AnswerName


class WishRead(Struct):
    startup_id: str
    startup_name: str
    investor_id: str
    investor_name: str
    by_side: str
    kind: str
    # Requests (kind must): pending, accepted or declined by the other side; None for wish and no.
    status: str | None
    stated_at: datetime
    answered_at: datetime | None


class SlotRead(Struct):
    slot_id: str
    start: str
    end: str


class Counterpart(Struct):
    participant_id: str
    name: str


class ParticipantRead(Struct):
    """One participant's side of one roadshow: its slots, wishes, the requests it received."""

    event_id: str
    event_name: str
    participant_id: str
    name: str
    side: str
    slots: list[SlotRead]
    available: list[str]
    limits: WishLimitsRead
    counterparts: list[Counterpart]
    wishes: list[WishRead]
    requests: list[WishRead]
    open: bool


class ParticipantEvent(Struct):
    event_id: str
    name: str
    side: str
    starts: str
    scheduled: bool


class MeRead(Struct):
    """Who the key stands for: its role, its own record and the roadshows it takes part in."""

    key_id: str
    role: str
    participant_id: str | None
    name: str | None
    events: list[ParticipantEvent]


class OutcomeCreate(Struct, forbid_unknown_fields=True):
    """What happened at a meeting: ``no_show`` names who did not come; ``amount_wan`` (万元) and ``on``
    (the signing or investment date; default the roadshow's day) go with intent_signed and invested."""

    startup_id: Id
    investor_id: Id
    outcome: OutcomeName
    no_show: AbsentName | None = None
    amount_wan: Wan | None = None
    on: date | None = None


class OutcomeBatch(Struct, forbid_unknown_fields=True):
    items: Annotated[list[OutcomeCreate], Meta(min_length=1, max_length=MAX_OUTCOMES)]


class InteractionRead(Struct):
    """An ``interactions`` row (what ranking, exports and training read) standing for a report."""

    startup_id: str
    investor_id: str
    occurred_on: date
    outcome: str
    amount_wan: float | None
    event_id: str | None


class OutcomeRead(Struct):
    id: int
    event_id: str
    startup_id: str
    startup_name: str
    investor_id: str
    investor_name: str
    outcome: str
    no_show: str | None
    amount_wan: float | None
    on: date | None
    scheduled: bool
    recorded_by: str
    recorded_role: str
    recorded_at: datetime
    # The pair's latest report: what its interactions say now.
    current: bool = True
    interactions: list[InteractionRead] = msgspec.field(default_factory=list)
