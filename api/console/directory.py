"""Startups and investors: search, profiles and their best counterparts (the API's own services)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import FromQuery, PathParameter, QueryParameter
from litestar.response import Template

from api.console.pages import STAFF, need, render
from api.console.session import Viewer
from api.schemas.ranking import MatchItem
from api.services import investors, matches, startups
from api.services.keys import Role
from api.state import Db, Service
from matcher.domain import Stage
from matcher.errors import MatcherError, NotFittedError
from matcher.taxonomy import SECTORS

PAGE = 20
SHOWN = 10
Text = Annotated[str | None, QueryParameter(max_length=100)]


@get("/console/startups", include_in_schema=False)
async def startup_list(
    *,
    request: Request[Any, Any, Any],
    db: Db,
    viewer: Viewer,
    q: Text = None,
    sector: Text = None,
    stage: Annotated[str | None, QueryParameter(max_length=16)] = None,
    tech_sme: Annotated[str | None, QueryParameter(max_length=5)] = None,
    offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
) -> Template:
    need(viewer, *STAFF)
    stage_value = stage if stage in {s.value for s in Stage} else None
    qualified = {"yes": True, "no": False}.get(tech_sme or "")
    page = await startups.list_startups(
        db, q=q or None, sector=sector or None, stage=stage_value, tech_sme=qualified, limit=PAGE, offset=offset
    )
    return render(
        request, viewer, "startups.html", page=page, q=q or "", sector=sector or "", stage=stage_value or "",
        tech_sme=tech_sme or "", sectors=[s.zh for s in SECTORS], stages=[s.value for s in Stage], step=PAGE,
    )


@get("/console/startups/{startup_id:str}", include_in_schema=False)
async def startup_page(
    request: Request[Any, Any, Any],
    startup_id: Annotated[str, PathParameter(max_length=64)],
    db: Db,
    service: Service,
    viewer: Viewer,
) -> Template:
    who = need(viewer, *STAFF, Role.STARTUP)
    profile = await startups.get(db, principal=who, startup_id=startup_id)
    problem = None
    best_investors: list[MatchItem] = []
    best_banks: list[MatchItem] = []
    try:
        # Two lists, each ranked within its kind: the best investors and the best banks.
        best_investors, best_banks = [
            (await matches.for_startup(db, service.sessions, service.models, service.matches, principal=who,
                                       startup_id=startup_id, k=SHOWN, kind=kind)).items
            for kind in ("investor", "bank")
        ]
    except NotFittedError:
        problem = "no_model"
    return render(
        request, viewer, "startup.html", startup=profile, best_investors=best_investors, best_banks=best_banks,
        match_problem=problem, assessments=await startups.assessments_of(db, principal=who, startup_id=startup_id),
        consents=(await startups.get_consents(db, principal=who, startup_id=startup_id)).bank_ids,
    )


@get("/console/investors", include_in_schema=False)
async def investor_list(
    request: Request[Any, Any, Any],
    db: Db,
    viewer: Viewer,
    banks: FromQuery[bool] = False,
    offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
) -> Template:
    need(viewer, *STAFF)
    page = await investors.list_investors(db, bank=banks, limit=PAGE, offset=offset)
    return render(request, viewer, "investors.html", page=page, banks=banks, step=PAGE)


@get("/console/investors/{investor_id:str}", include_in_schema=False)
async def investor_page(
    request: Request[Any, Any, Any],
    investor_id: Annotated[str, PathParameter(max_length=64)],
    db: Db,
    service: Service,
    viewer: Viewer,
) -> Template:
    need(viewer, *STAFF)
    profile = await investors.get_investor(db, investor_id=investor_id, bank=None)
    problem: str | None = None
    best: list[MatchItem] = []
    try:
        best = (await matches.for_investor(service.sessions, service.models, service.matches,
                                           investor_id=investor_id, k=SHOWN)).items
    except MatcherError as exc:  # no model yet
        problem = str(exc)
    return render(request, viewer, "investor.html", investor=profile, best=best, match_problem=problem)


HANDLERS = [startup_list, startup_page, investor_list, investor_page]
