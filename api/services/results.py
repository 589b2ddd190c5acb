"""Each roadshow's results from the database's records, through ``matcher.results`` (the one rule set)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Literal

import msgspec
import polars as pl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Event, Interaction, Investor, Meeting, Startup
from api.schemas.results import ResultsRead, YearResults
from matcher import results as library
from matcher.io import empty_frame
from matcher.results import MEDIA_TYPE_XLSX, MEETINGS_SCHEMA, Results
from matcher.scheduling import Download

ResultFormat = Literal["json", "xlsx", "svg"]
SVG_MEDIA_TYPE = "image/svg+xml"
_EVENT_SCHEMA = empty_frame("events").schema


def _today() -> date:
    return datetime.now(UTC).date()


def _event_day(event: Event) -> date | None:
    """``held_on``, or the first slot's day of a roadshow the product scheduled."""
    if event.held_on is not None:
        return event.held_on
    slots = (event.problem or {}).get("slots") or []
    starts = sorted(str(s.get("start", ""))[:10] for s in slots if s.get("start"))
    return date.fromisoformat(starts[0]) if starts else None


async def _events(session: AsyncSession, event_id: str | None) -> pl.DataFrame:
    query = select(Event)
    if event_id is not None:
        query = query.where(Event.event_id == event_id)
    rows = (await session.scalars(query)).all()
    return pl.DataFrame([(e.event_id, e.name, _event_day(e), e.city) for e in rows], schema=_EVENT_SCHEMA,
                        orient="row")


async def _records(session: AsyncSession, event_id: str | None) -> dict[str, pl.DataFrame]:
    events = await _events(session, event_id)
    ids = events["event_id"].to_list()
    interactions = empty_frame("interactions")
    planned = pl.DataFrame(schema=MEETINGS_SCHEMA)
    if ids:
        columns = [getattr(Interaction, c) for c in interactions.columns]
        where = Interaction.event_id == event_id if event_id is not None else Interaction.event_id.is_not(None)
        rows = (await session.execute(select(*columns).where(where).order_by(Interaction.id))).all()
        interactions = pl.DataFrame([tuple(r) for r in rows], schema=interactions.schema, orient="row")
        meeting_query = select(Meeting.event_id, Meeting.startup_id, Meeting.investor_id)
        if event_id is not None:
            meeting_query = meeting_query.where(Meeting.event_id == event_id)
        planned = pl.DataFrame([tuple(r) for r in (await session.execute(meeting_query)).all()],
                               schema=MEETINGS_SCHEMA, orient="row")
    investors = pl.DataFrame(
        [tuple(r) for r in (await session.execute(select(Investor.investor_id, Investor.name, Investor.kind))).all()],
        schema={"investor_id": pl.Utf8, "name": pl.Utf8, "kind": pl.Utf8}, orient="row")
    people = set(interactions["startup_id"].to_list()) | set(planned["startup_id"].to_list())
    startups = pl.DataFrame(schema={"startup_id": pl.Utf8, "name": pl.Utf8, "sector": pl.Utf8})
    if people:
        found = await session.execute(select(Startup.startup_id, Startup.name, Startup.sector)
                                      .where(Startup.startup_id.in_(sorted(people))))
        startups = pl.DataFrame([tuple(r) for r in found.all()], schema=startups.schema, orient="row")
    return {"events": events, "interactions": interactions, "meetings": planned, "investors": investors,
            "startups": startups}


def _results(frames: dict[str, pl.DataFrame], today: date, year: int | None, event_id: str | None) -> Results:
    return library.results(interactions=frames["interactions"], events=frames["events"],
                           investors=frames["investors"], startups=frames["startups"], meetings=frames["meetings"],
                           today=today, year=year, event_id=event_id)


async def compute(session: AsyncSession, *, year: int | None = None, event_id: str | None = None) -> Results:
    """The results of one roadshow or one year (``NotFoundError`` when there is none)."""
    async with session.begin():
        frames = await _records(session, event_id)
    return await asyncio.to_thread(_results, frames, _today(), year, event_id)


def read(res: Results) -> ResultsRead:
    return msgspec.convert(res.to_document(), ResultsRead)


def as_file(res: Results, fmt: Literal["xlsx", "svg"], stem: str) -> Download:
    if fmt == "xlsx":
        return Download(library.workbook(res), MEDIA_TYPE_XLSX, f"{stem}.xlsx")
    return Download(library.chart_svg(res).encode(), SVG_MEDIA_TYPE, f"{stem}.svg")


async def render(res: Results, fmt: ResultFormat, stem: str) -> ResultsRead | Download:
    if fmt == "json":
        return read(res)
    return await asyncio.to_thread(as_file, res, fmt, stem)


async def years(session: AsyncSession) -> list[YearResults]:
    """Every year that has a roadshow, newest first, with its totals."""
    async with session.begin():
        frames = await _records(session, None)
    today = _today()

    def work() -> list[YearResults]:
        return [
            msgspec.convert({"year": y, "totals": _results(frames, today, y, None).totals}, YearResults)
            for y in library.roadshow_years(frames["events"], today=today)
        ]

    return await asyncio.to_thread(work)
