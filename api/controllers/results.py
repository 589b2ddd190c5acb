from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import FromQuery, PathParameter

from api.controllers._params import EntityId
from api.guards.auth import staff_only
from api.schemas.results import ResultsRead, YearResults
from api.services import results
from api.state import Db
from matcher.scheduling import Download

Year = Annotated[int, PathParameter(ge=1900, le=2999)]


def _answer(result: ResultsRead | Download) -> Response[ResultsRead] | Response[bytes]:
    if isinstance(result, Download):
        return Response(result.content, media_type=result.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{result.filename}"'})
    return Response(result)


class ResultsController(Controller):
    """Each roadshow's results, per year (organisers and admins)."""

    path = "/api/results"
    tags = ("results",)
    guards = (staff_only,)

    @get("", summary="Every year with roadshows, newest first, with its totals")
    async def list_years(self, db: Db) -> list[YearResults]:
        return await results.years(db)

    @get("/{year:int}", summary="A year's roadshows: visits, meetings, intents, by sector and kind (json, xlsx, svg)")
    async def year(
        self, year: Year, db: Db, format: FromQuery[results.ResultFormat] = "json"
    ) -> Response[ResultsRead] | Response[bytes]:
        found = await results.compute(db, year=year)
        return _answer(await results.render(found, format, f"roadshows-{year}"))


class EventResultsController(Controller):
    """One roadshow's results (organisers and admins)."""

    path = "/api/events/{event_id:str}/results"
    tags = ("results",)
    guards = (staff_only,)

    @get("", summary="One roadshow's visits, meetings and intents, by sector and kind (json, xlsx, svg)")
    async def event(
        self, event_id: EntityId, db: Db, format: FromQuery[results.ResultFormat] = "json"
    ) -> Response[ResultsRead] | Response[bytes]:
        found = await results.compute(db, event_id=event_id)
        return _answer(await results.render(found, format, f"{event_id}-results"))
