from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from api.guards.auth import staff_only
from api.schemas.events import JobRead
from api.schemas.models import ModelVersionRead, RetrainRequest
from api.services import registry
from api.services.events import job_read
from api.state import Db, Service

Version = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]


class ModelController(Controller):
    """The model registry (organisers and admins): versions and their evaluations, retrain, pin, roll back."""

    path = "/api/models"
    tags = ("models",)
    guards = (staff_only,)

    @get("", summary="Every model version, newest first, with its evaluation against the champion it challenged")
    async def list_versions(self, db: Db) -> list[ModelVersionRead]:
        return await registry.list_versions(db)

    @post("/train", summary="Retrain as a job on the queue (202 + job); activated only if not worse, or forced",
          status_code=HTTP_202_ACCEPTED)
    async def train(self, data: JSONBody[RetrainRequest], db: Db, service: Service) -> JobRead:
        job = await registry.request_retrain(db, service.queue, service.settings, body=data)
        return job_read(job)

    @post("/{version:int}/pin", summary="Serve this version and keep it (retrains do not replace it)",
          status_code=HTTP_200_OK)
    async def pin(self, version: Version, db: Db) -> ModelVersionRead:
        return await registry.pin(db, version)

    @post("/unpin", summary="Let retrains replace the serving version again", status_code=HTTP_200_OK)
    async def unpin(self, db: Db) -> ModelVersionRead:
        return await registry.unpin(db)

    @post("/rollback", summary="Serve again the version the serving one replaced (pinned)", status_code=HTTP_200_OK)
    async def rollback(self, db: Db) -> ModelVersionRead:
        return await registry.rollback(db)
