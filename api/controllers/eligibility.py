from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.controllers._params import PageLimit, PageOffset, QueryId
from api.guards.auth import Caller, bank_only
from api.schemas.eligibility import BatchRead, DecisionPage, DecisionRead, EligibilityBatchRequest, EligibilityRequest
from api.services import eligibility
from api.state import Db, Service


class EligibilityController(Controller):
    """Banks: decisions on their own products for startups whose consent to them holds."""

    path = "/api/eligibility"
    tags = ("eligibility",)
    guards = (bank_only,)

    @post("", status_code=HTTP_200_OK, summary="Assess one startup for one of the bank's products")
    async def assess_one(
        self, data: JSONBody[EligibilityRequest], db: Db, service: Service, principal: Caller
    ) -> DecisionRead:
        return await eligibility.decide_one(
            db, service.models, principal=principal, product_id=data.product_id, startup_id=data.startup_id
        )

    @post("/batch", status_code=HTTP_200_OK,
          summary="Assess many startups for one product: a decision or a 403/404 entry per startup")
    async def assess_batch(
        self, data: JSONBody[EligibilityBatchRequest], db: Db, service: Service, principal: Caller
    ) -> BatchRead:
        return await eligibility.decide_batch(
            db, service.models, principal=principal, product_id=data.product_id, startup_ids=data.startup_ids
        )

    @get("", summary="The bank's own past decisions, newest first")
    async def history(
        self,
        db: Db,
        principal: Caller,
        startup_id: QueryId = None,
        limit: PageLimit = 50,
        offset: PageOffset = 0,
    ) -> DecisionPage:
        return await eligibility.history(db, principal=principal, startup_id=startup_id, limit=limit, offset=offset)
