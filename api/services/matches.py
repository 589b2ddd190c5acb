"""Ranked counterparts with reasons, from the active ranking model.

Per request only the target's own rows are read (one startup and its IP assets); the investors and
the history come from the fitted model, so the cost does not grow with the size of the database.
A startup's matches depend only on the model version and the startup's own profile (whose ``version``
changes with every edit, IP assets included), so they are kept in a ``MatchBook`` under that key. When a
model version is loaded, ``warm`` ranks every startup in vectorised batches (a few ms per startup
instead of tens one at a time), so requests are mostly a key lookup.
"""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.models import Investor, Startup, utcnow
from api.schemas.ranking import MatchItem, MatchList
from api.services.cache import ResultCache
from api.services.frames import load_dataset
from api.services.keys import Principal
from api.services.models import ActiveModels, ModelStore
from matcher.errors import InvalidInputError, NotFoundError

# Every startup's top MAX_K is computed (and cached) once; a request for k ≤ MAX_K takes a prefix.
MAX_K = 50
WARM_CHUNK = 200


def _items(frame: pl.DataFrame, names: dict[str, tuple[str, str | None]], side: str) -> list[MatchItem]:
    key = "investor_id" if side == "investors" else "startup_id"
    return [
        MatchItem(
            startup_id=row["startup_id"],
            investor_id=row["investor_id"],
            name=names.get(row[key], (row[key], None))[0],
            kind=names.get(row[key], (row[key], None))[1],
            rank=row["rank"],
            score=round(row["score"], 6),
            reasons=row["reasons"] or [],
            reasons_en=row["reasons_en"] or [],
        )
        for row in frame.iter_rows(named=True)
    ]


class MatchBook:
    """Each startup's ranked investors under (model version, startup, profile version).

    The key changes whenever the model or the profile does, so an entry is never stale in what it
    ranks; the time-to-live bounds how long a renamed or deleted investor can still be shown.

    ``versions`` mirrors every profile's version so a request needs no database round trip. ``sync``
    refreshes it at most every ``sync_seconds`` with one indexed query for the profiles updated since
    the last sync (minus a margin for clock skew and late commits): an edit made through this process
    is seen at once (``forget``), one made by another process within about ``sync_seconds``.
    """

    SKEW = timedelta(seconds=10)

    def __init__(self, max_startups: int = 20_000, ttl_seconds: float = 600.0, sync_seconds: float = 1.0) -> None:
        self.entries: ResultCache[tuple[MatchItem, ...]] = ResultCache(max_startups, ttl_seconds)
        self.versions: dict[str, int] = {}
        self.sync_seconds = sync_seconds
        self.warmed_version: int | None = None
        self._watermark: datetime | None = None
        self._synced_at = float("-inf")
        self._syncing = False

    def get(self, version: int, startup_id: str, profile_version: int) -> tuple[MatchItem, ...] | None:
        return self.entries.get((version, startup_id, profile_version))

    def put(self, version: int, startup_id: str, profile_version: int, items: tuple[MatchItem, ...]) -> None:
        self.entries.put((version, startup_id, profile_version), items)

    def forget(self, startup_id: str) -> None:
        """The profile changed: look its version up again on the next request."""
        self.versions.pop(startup_id, None)

    async def sync(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        if self._syncing or time.monotonic() - self._synced_at < self.sync_seconds:
            return
        self._syncing = True
        try:
            query = select(Startup.startup_id, Startup.version, Startup.updated_at)
            if self._watermark is not None:
                query = query.where(Startup.updated_at >= self._watermark - self.SKEW)
            async with sessions() as session, session.begin():
                rows = (await session.execute(query)).all()
            for row in rows:
                self.versions[row.startup_id] = row.version
                if self._watermark is None or row.updated_at > self._watermark:
                    self._watermark = row.updated_at
            if self._watermark is None:
                self._watermark = utcnow()
            self._synced_at = time.monotonic()
        finally:
            self._syncing = False


async def _investor_names(session: AsyncSession, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    rows = (
        await session.execute(
            select(Investor.investor_id, Investor.name, Investor.kind).where(
                Investor.investor_id.in_(ids), Investor.archived_at.is_(None)
            )
        )
    ).all()
    return {r.investor_id: (r.name, r.kind) for r in rows}


def _by_startup(ranked: pl.DataFrame, names: dict[str, tuple[str, str | None]]) -> dict[str, tuple[MatchItem, ...]]:
    # An investor deleted since the model was trained is not offered.
    ranked = ranked.filter(pl.col("investor_id").is_in(list(names)))
    grouped: dict[str, list[MatchItem]] = {}
    for item in _items(ranked, names, "investors"):
        grouped.setdefault(item.startup_id, []).append(item)
    return {sid: tuple(items) for sid, items in grouped.items()}


async def for_startup(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    store: ModelStore,
    book: MatchBook,
    *,
    principal: Principal,
    startup_id: str,
    k: int,
) -> MatchList:
    principal.require_startup_access(startup_id)
    models = await store.require()
    await book.sync(sessions)
    profile_version = book.versions.get(startup_id)
    items = book.get(models.version, startup_id, profile_version) if profile_version is not None else None
    if items is not None:
        return MatchList(target_id=startup_id, side="investors", model_version=models.version, items=list(items[:k]))
    async with session.begin():
        profile_version = await session.scalar(select(Startup.version).where(Startup.startup_id == startup_id))
        if profile_version is None:
            raise NotFoundError(f"no startup with id {startup_id}")
        book.versions[startup_id] = profile_version
        items = book.get(models.version, startup_id, profile_version)
        if items is None:
            data = await load_dataset(session, tables=("startups", "ip_assets"), startup_ids=[startup_id])
            # Tens of milliseconds of numpy work: off the event loop, so other requests keep flowing.
            ranked = await asyncio.to_thread(models.ranking.recommend, data, [startup_id], k=MAX_K, side="investors")
            names = await _investor_names(session, ranked["investor_id"].unique().to_list())
            items = _by_startup(ranked, names).get(startup_id, ())
            book.put(models.version, startup_id, profile_version, items)
    return MatchList(target_id=startup_id, side="investors", model_version=models.version, items=list(items[:k]))


async def warm(sessions: async_sessionmaker[AsyncSession], book: MatchBook, models: ActiveModels) -> None:
    """Rank every startup with a newly loaded model in batches (vectorised, in a worker thread), so
    requests are answered from the book instead of scoring one startup at a time."""
    async with sessions() as session, session.begin():
        data = await load_dataset(session, tables=("startups", "ip_assets"))
        rows = (await session.execute(select(Startup.startup_id, Startup.version))).all()
        versions = {r.startup_id: r.version for r in rows}
        names = await _investor_names(session, models.ranking.featurizer_.investor_ids_.tolist())
    book.versions.update(versions)
    ids = [sid for sid in data.startups["startup_id"].to_list() if sid in versions][: book.entries.max_entries]
    for start in range(0, len(ids), WARM_CHUNK):
        chunk = ids[start : start + WARM_CHUNK]
        ranked = await asyncio.to_thread(models.ranking.recommend, data, chunk, k=MAX_K, side="investors")
        for sid, items in _by_startup(ranked, names).items():
            book.put(models.version, sid, versions[sid], items)
    book.warmed_version = models.version
    # The book holds hundreds of thousands of long-lived objects; leave them out of the cyclic
    # collector's full passes, which otherwise stall every request for tens of milliseconds.
    gc.freeze()


async def for_investor(session: AsyncSession, store: ModelStore, *, investor_id: str, k: int) -> MatchList:
    models = await store.require()
    async with session.begin():
        if await session.get(Investor, investor_id) is None:
            raise NotFoundError(f"no investor or bank with id {investor_id}")
        if investor_id not in set(models.ranking.featurizer_.investor_ids_.tolist()):
            raise InvalidInputError(
                f"{investor_id} was added after model version {models.version} was trained; run `roadshow train`",
                field="investor_id",
            )
        data = await load_dataset(session, tables=("startups", "ip_assets"))
        ranked = await asyncio.to_thread(models.ranking.recommend, data, [investor_id], k=k, side="startups")
        ids = ranked["startup_id"].to_list()
        rows = (
            await session.execute(
                select(Startup.startup_id, Startup.name).where(
                    Startup.startup_id.in_(ids), Startup.archived_at.is_(None)
                )
            )
        ).all()
    names: dict[str, tuple[str, str | None]] = {r.startup_id: (r.name, None) for r in rows}
    # Archived startups are not offered.
    ranked = ranked.filter(pl.col("startup_id").is_in(list(names))).with_columns(
        rank=pl.int_range(1, pl.len() + 1)
    )
    return MatchList(
        target_id=investor_id, side="startups", model_version=models.version, items=_items(ranked, names, "startups")
    )
