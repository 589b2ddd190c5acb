from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from api.controllers._idempotency import NO_STORE, IdempotencyKey, idempotent_request
from api.controllers._params import EntityId, PageLimit, PageOffset, QueryLabel, TopK
from api.guards.auth import NO_AUTH, Caller, roles
from api.guards.rate_limit import REGISTRATION
from api.schemas.common import ONE_LINE
from api.schemas.ranking import MatchList
from api.schemas.startups import (
    AssessmentSummary,
    ConsentsPut,
    ConsentsRead,
    StartupCreate,
    StartupPage,
    StartupRead,
    StartupRegistered,
    StartupUpdate,
)
from api.services import matches, startups
from api.services.idempotency import Replay
from api.services.keys import Role
from api.services.matches import MatchKind
from api.state import Db, Service
from matcher.domain import Stage


class StartupController(Controller):
    path = "/api/startups"
    tags = ("startups",)

    @post(
        "",
        status_code=HTTP_201_CREATED,
        opt={NO_AUTH: True, REGISTRATION: True},
        security=[],
        summary="Register a startup (no key needed; rate-limited; send an Idempotency-Key to retry safely)",
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[StartupCreate],
        db: Db,
        service: Service,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[StartupRegistered]:
        idempotent = idempotent_request(request, service, idempotency_key, data)
        outcome = await startups.register(db, body=data, secret=service.settings.secret, idempotent=idempotent)
        # The body carries the startup's key: no cache, proxy or browser may keep it.
        if isinstance(outcome, Replay):
            return Response(outcome.body, status_code=outcome.status_code, headers=NO_STORE)
        return Response(outcome, status_code=HTTP_201_CREATED, headers=NO_STORE)

    @delete(
        "/{startup_id:str}",
        summary="Remove a profile: archived when it has history (assessments, consents, meetings), else deleted",
    )
    async def remove(self, startup_id: EntityId, db: Db, principal: Caller, service: Service) -> None:
        await startups.remove(db, principal=principal, startup_id=startup_id)
        service.matches.forget(startup_id)

    @get(
        "",
        guards=[roles(Role.ADMIN, Role.ORGANISER, Role.BANK)],
        summary="List and filter startups (organisers: all; a bank: those consenting to it today)",
    )
    async def list_startups(
        self,
        *,
        db: Db,
        principal: Caller,
        q: Annotated[
            str | None, QueryParameter(max_length=100, pattern=ONE_LINE, description="Any part of the name or id")
        ] = None,
        sector: QueryLabel = None,
        stage: FromQuery[Stage | None] = None,
        tech_sme: FromQuery[bool | None] = None,
        limit: PageLimit = 50,
        offset: PageOffset = 0,
    ) -> StartupPage:
        return await startups.list_startups(
            db, principal=principal, q=q, sector=sector, stage=stage.value if stage else None, tech_sme=tech_sme,
            limit=limit, offset=offset,
        )

    @get("/{startup_id:str}", summary="A startup's profile (itself, organisers, a bank it consents to)")
    async def get_startup(self, startup_id: EntityId, db: Db, principal: Caller) -> StartupRead:
        return await startups.get(db, principal=principal, startup_id=startup_id)

    @patch("/{startup_id:str}", summary="Update a profile; send the version you read (stale → 409)")
    async def update_startup(
        self, startup_id: EntityId, data: JSONBody[StartupUpdate], db: Db, principal: Caller, service: Service
    ) -> StartupRead:
        updated = await startups.update(db, principal=principal, startup_id=startup_id, body=data)
        service.matches.forget(startup_id)  # its matches are recomputed for the new profile version
        return updated

    @put("/{startup_id:str}/consents", summary="Set the banks allowed to assess this startup")
    async def put_consents(
        self, startup_id: EntityId, data: JSONBody[ConsentsPut], db: Db, principal: Caller
    ) -> ConsentsRead:
        return await startups.put_consents(db, principal=principal, startup_id=startup_id, bank_ids=data.bank_ids)

    @delete("/{startup_id:str}/consents/{bank_id:str}", status_code=200,
            summary="Revoke one bank's consent now (kept in the history)")
    async def revoke_consent(self, startup_id: EntityId, bank_id: EntityId, db: Db, principal: Caller) -> ConsentsRead:
        return await startups.revoke_consent(db, principal=principal, startup_id=startup_id, bank_id=bank_id)

    @get("/{startup_id:str}/consents", summary="The banks allowed to assess this startup, with the history")
    async def get_consents(self, startup_id: EntityId, db: Db, principal: Caller) -> ConsentsRead:
        return await startups.get_consents(db, principal=principal, startup_id=startup_id)

    @get("/{startup_id:str}/matches",
         summary="Ranked investors (kind=investor), banks (kind=bank) or both (all) for this startup, with reasons")
    async def matches(
        self,
        startup_id: EntityId,
        *,
        db: Db,
        principal: Caller,
        service: Service,
        k: TopK = 10,
        kind: FromQuery[MatchKind] = "all",
    ) -> MatchList:
        return await matches.for_startup(
            db, service.sessions, service.models, service.matches, principal=principal, startup_id=startup_id, k=k,
            kind=kind,
        )

    @get("/{startup_id:str}/assessments", summary="Which banks assessed this startup, and when")
    async def assessments(self, startup_id: EntityId, db: Db, principal: Caller) -> list[AssessmentSummary]:
        return await startups.assessments_of(db, principal=principal, startup_id=startup_id)
