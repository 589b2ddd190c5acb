"""A roadshow's participants' own side over HTTP: the caller, its availability, wishes and requests,
the organiser's view and limits, and meeting outcomes."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from api.controllers._idempotency import IdempotencyKey, idempotent_request
from api.controllers._params import EntityId
from api.guards.auth import Caller, staff_only, staff_or_participant
from api.schemas.participants import (
    AnswerPut,
    AvailabilityPut,
    MeRead,
    OutcomeBatch,
    OutcomeCreate,
    OutcomeRead,
    ParticipantRead,
    WishesPut,
    WishLimitsPut,
    WishLimitsRead,
    WishRead,
)
from api.services import outcomes, participants
from api.services.idempotency import Replay
from api.state import Db, Service


class MeController(Controller):
    path = "/api/me"
    tags = ("participants",)

    @get("", summary="The caller: role, own record and the roadshows it takes part in")
    async def me(self, db: Db, principal: Caller) -> MeRead:
        return await participants.me(db, principal=principal)


class ParticipantController(Controller):
    """One participant's side of one roadshow (the participant's own key, or an organiser)."""

    path = "/api/events/{event_id:str}/participants/{participant_id:str}"
    tags = ("participants",)
    guards = (staff_or_participant,)

    @get("", summary="Its slots and availability, its wishes, the requests it received, the limits")
    async def view(self, event_id: EntityId, participant_id: EntityId, db: Db, principal: Caller) -> ParticipantRead:
        return await participants.participant(db, principal=principal, event_id=event_id, participant_id=participant_id)

    @put("/availability", summary="The slots it can attend")
    async def availability(
        self, event_id: EntityId, participant_id: EntityId, data: JSONBody[AvailabilityPut], db: Db, principal: Caller
    ) -> ParticipantRead:
        return await participants.set_availability(
            db, principal=principal, event_id=event_id, participant_id=participant_id, available=data.available
        )

    @put("/wishes", summary="Its whole set of wishes: must (a request), wish, no (never meet)")
    async def wishes(
        self, event_id: EntityId, participant_id: EntityId, data: JSONBody[WishesPut], db: Db, principal: Caller
    ) -> ParticipantRead:
        return await participants.set_wishes(
            db, principal=principal, event_id=event_id, participant_id=participant_id, wishes=data.wishes
        )

    @put("/requests/{counterpart_id:str}", summary="Accept or decline the meeting request a counterpart sent")
    async def answer(
        self,
        *,
        event_id: EntityId,
        participant_id: EntityId,
        counterpart_id: EntityId,
        data: JSONBody[AnswerPut],
        db: Db,
        principal: Caller,
    ) -> ParticipantRead:
        return await participants.answer_request(
            db,
            principal=principal,
            event_id=event_id,
            participant_id=participant_id,
            counterpart_id=counterpart_id,
            answer=data.answer,
        )


class EventWishesController(Controller):
    """The organiser's view of every wish and request at a roadshow, and the limits on them."""

    path = "/api/events/{event_id:str}"
    tags = ("participants",)
    guards = (staff_only,)

    @get("/wishes", summary="Every wish and request at the event, with names and answers")
    async def wishes(self, event_id: EntityId, db: Db) -> list[WishRead]:
        return await participants.all_wishes(db, event_id=event_id)

    @put("/wish-limits", summary="How many must / wish / no one participant may state; when wishes close")
    async def limits(self, event_id: EntityId, data: JSONBody[WishLimitsPut], db: Db) -> WishLimitsRead:
        return await participants.set_limits(db, event_id=event_id, body=data)


class OutcomeController(Controller):
    """Meeting outcomes: either side of a meeting or an organiser; corrections are new reports."""

    path = "/api/events/{event_id:str}/outcomes"
    tags = ("outcomes",)
    guards = (staff_or_participant,)

    @post("", status_code=HTTP_201_CREATED, summary="Report a meeting's outcome (send an Idempotency-Key to retry)")
    async def create(
        self,
        *,
        request: Request[Any, Any, Any],
        event_id: EntityId,
        data: JSONBody[OutcomeCreate],
        db: Db,
        service: Service,
        principal: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OutcomeRead]:
        result = await outcomes.record(
            db,
            principal=principal,
            event_id=event_id,
            items=[data],
            idempotent=idempotent_request(request, service, idempotency_key, data),
            retrain=(service.queue, service.settings),
        )
        if isinstance(result, Replay):
            return Response(result.body, status_code=result.status_code)
        return Response(result[0], status_code=HTTP_201_CREATED)

    @post("/batch", status_code=HTTP_201_CREATED, summary="Report many outcomes at once, all or none")
    async def batch(
        self,
        *,
        request: Request[Any, Any, Any],
        event_id: EntityId,
        data: JSONBody[OutcomeBatch],
        db: Db,
        service: Service,
        principal: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[list[OutcomeRead]]:
        result = await outcomes.record(
            db,
            principal=principal,
            event_id=event_id,
            items=data.items,
            batch=True,
            idempotent=idempotent_request(request, service, idempotency_key, data),
            retrain=(service.queue, service.settings),
        )
        if isinstance(result, Replay):
            return Response(result.body, status_code=result.status_code)
        return Response(result, status_code=HTTP_201_CREATED)

    @get("", summary="Each meeting's current outcome (history=true: every report, with who and when)")
    async def list_outcomes(
        self, event_id: EntityId, db: Db, principal: Caller, history: FromQuery[bool] = False
    ) -> list[OutcomeRead]:
        return await outcomes.list_outcomes(db, principal=principal, event_id=event_id, history=history)
