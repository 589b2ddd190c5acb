"""Each roadshow's results (``matcher.results``) as the API returns them."""

from __future__ import annotations

from datetime import date

from msgspec import Struct


class ResultTotals(Struct):
    roadshows_held: int
    investor_visits: int
    bank_visits: int
    startups: int
    meetings_planned: int
    meetings_held: int
    no_shows: int
    not_recorded: int
    intents: int
    intent_wan: float
    intent_yi: float


class RoadshowResult(Struct):
    event_id: str
    name: str
    held_on: date | None
    city: str | None
    held: bool
    investor_visits: int
    bank_visits: int
    startups: int
    meetings_planned: int
    meetings_held: int
    no_shows: int
    not_recorded: int
    intents: int
    intent_wan: float


class SectorResult(Struct):
    sector: str
    startups: int
    meetings_held: int
    intents: int
    intent_wan: float


class KindResult(Struct):
    kind: str
    kind_zh: str
    kind_en: str
    visits: int
    meetings_held: int
    intents: int
    intent_wan: float


class IntentResult(Struct):
    event_id: str
    event_name: str
    held_on: date | None
    startup_id: str
    startup_name: str | None
    sector: str
    investor_id: str
    investor_name: str | None
    kind: str
    amount_wan: float | None
    signed_on: date | None


class ResultsRead(Struct):
    """One roadshow's results (``scope`` = ``event``) or one year's (``year``)."""

    scope: str
    title: str
    year: int | None
    totals: ResultTotals
    roadshows: list[RoadshowResult]
    by_sector: list[SectorResult]
    by_kind: list[KindResult]
    intents: list[IntentResult]


class YearResults(Struct):
    year: int
    totals: ResultTotals
