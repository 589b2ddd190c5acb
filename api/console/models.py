"""Models: every version of the ranking model with its evaluation, which one serves, and the organiser's
levers (retrain now, pin, unpin, roll back). Every action calls ``api.services.registry``, the service
behind ``/api/models``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from api.console.pages import STAFF, need, redirect, render
from api.console.session import Viewer
from api.schemas.models import RetrainRequest
from api.services import registry
from api.state import Db, Service

Version = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]


@get("/console/models", include_in_schema=False)
async def models_page(request: Request[Any, Any, Any], db: Db, viewer: Viewer) -> Template:
    need(viewer, *STAFF)
    versions = await registry.list_versions(db)
    return render(request, viewer, "models.html", versions=versions,
                  serving=next((v for v in versions if v.active), None))


@post("/console/models/train", include_in_schema=False)
async def retrain(request: Request[Any, Any, Any], db: Db, service: Service, viewer: Viewer) -> Redirect:
    need(viewer, *STAFF)
    form = await request.form()
    await registry.request_retrain(db, service.queue, service.settings,
                                   body=RetrainRequest(force=form.get("force") == "1"))
    return redirect("/console/models")


@post("/console/models/{version:int}/pin", include_in_schema=False)
async def pin(version: Version, db: Db, viewer: Viewer) -> Redirect:
    need(viewer, *STAFF)
    await registry.pin(db, version)
    return redirect("/console/models")


@post("/console/models/unpin", include_in_schema=False)
async def unpin(db: Db, viewer: Viewer) -> Redirect:
    need(viewer, *STAFF)
    await registry.unpin(db)
    return redirect("/console/models")


@post("/console/models/rollback", include_in_schema=False)
async def rollback(db: Db, viewer: Viewer) -> Redirect:
    need(viewer, *STAFF)
    await registry.rollback(db)
    return redirect("/console/models")


HANDLERS = [models_page, retrain, pin, unpin, rollback]
