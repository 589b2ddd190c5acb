"""Results: each year's roadshows and each roadshow's (visits, meetings, intents by sector and kind), the
chart and the workbook. Every page calls ``api.services.results``, the service behind ``/api/results``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from api.console.pages import STAFF, need, redirect, render
from api.console.session import Viewer
from api.services import results
from api.state import Db
from matcher.results import Results, chart_svg

EventId = Annotated[str, PathParameter(max_length=64)]
Year = Annotated[int, PathParameter(ge=1900, le=2999)]


def _page(request: Request[Any, Any, Any], viewer: Any, found: Results, years: list[int], xlsx: str) -> Template:
    # The chart is built by the library from escaped text: the template places it inline as it is.
    return render(request, viewer, "results.html", res=found, totals=found.totals, years=years,
                  chart=chart_svg(found), download=xlsx,
                  roadshows=found.roadshows.to_dicts(), by_sector=found.by_sector.to_dicts(),
                  by_kind=found.by_kind.to_dicts(), intents=found.intents.to_dicts())


async def _years(db: Db) -> list[int]:
    return [y.year for y in await results.years(db)]


@get("/console/results", include_in_schema=False)
async def results_home(db: Db, viewer: Viewer) -> Redirect:
    need(viewer, *STAFF)
    years = await _years(db)
    return redirect(f"/console/results/{years[0]}" if years else "/console/events")


@get("/console/results/{year:int}", include_in_schema=False)
async def year_page(request: Request[Any, Any, Any], year: Year, db: Db, viewer: Viewer) -> Template:
    need(viewer, *STAFF)
    found = await results.compute(db, year=year)
    return _page(request, viewer, found, await _years(db), f"/console/results/{year}/download.xlsx")


@get("/console/results/events/{event_id:str}", include_in_schema=False)
async def event_page(request: Request[Any, Any, Any], event_id: EventId, db: Db, viewer: Viewer) -> Template:
    need(viewer, *STAFF)
    found = await results.compute(db, event_id=event_id)
    return _page(request, viewer, found, await _years(db), f"/console/results/events/{event_id}/download.xlsx")


def _file(found: Results, stem: str) -> Response[bytes]:
    file = results.as_file(found, "xlsx", stem)
    return Response(file.content, media_type=file.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{file.filename}"'})


@get("/console/results/{year:int}/download.xlsx", include_in_schema=False)
async def year_workbook(year: Year, db: Db, viewer: Viewer) -> Response[bytes]:
    need(viewer, *STAFF)
    return _file(await results.compute(db, year=year), f"roadshows-{year}")


@get("/console/results/events/{event_id:str}/download.xlsx", include_in_schema=False)
async def event_workbook(event_id: EventId, db: Db, viewer: Viewer) -> Response[bytes]:
    need(viewer, *STAFF)
    return _file(await results.compute(db, event_id=event_id), f"{event_id}-results")


HANDLERS = [results_home, year_page, event_page, year_workbook, event_workbook]
