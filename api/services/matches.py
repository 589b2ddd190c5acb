"""Ranked counterparts with reasons, from the active ranking model.

Per request only the target's own rows are read (one startup and its IP assets); the investors and
the history come from the fitted model, so the cost does not grow with the size of the database.
A startup's matches depend only on the model version, the roster of investors and the startup's own
profile (whose ``version`` changes with every edit, IP assets included), so they are kept in a
``MatchBook`` under that key. When a model version is loaded, ``warm`` ranks every startup in vectorised
batches (a few ms per startup instead of tens one at a time), so requests are mostly a key lookup.

Investors and banks created after the last ``roadshow train`` are served at once: when the roster
changes, the book derives a serving model with ``PairRecommender.with_current`` (the investor side as of
the model's date, the model itself unchanged). An investor's own list ranks every startup, encoded once
per (serving model, startup profiles) in a ``StartupPool``; a pool is rebuilt in the background when
profiles change, the previous one serving meanwhile, so a request never waits on re-encoding 20,000
startups. Every piece of CPU work runs in a worker thread, so the event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.models import Investor, Startup, utcnow
from api.schemas.ranking import MatchItem, MatchList
from api.services.cache import ResultCache
from api.services.frames import load_dataset
from api.services.keys import Principal
from api.services.models import ActiveModels, ModelStore
from matcher.errors import InvalidInputError, NotFoundError
from matcher.io import DataSet
from matcher.ranking import PairRecommender
from matcher.ranking.base import StartupPool

# Every startup's top MAX_K is computed (and cached) once; a request for k ≤ MAX_K takes a prefix.
MAX_K = 50
WARM_CHUNK = 200
MatchKind = Literal["investor", "bank", "all"]
"""``matcher.ranking.base.KINDS``: a startup's investors (every kind but bank), its banks, or both."""
T = TypeVar("T")
Roster = tuple[int, datetime | None]  # (investors and banks not archived, the latest created_at)


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
    """Each startup's ranked investors under (model version, roster, startup, profile version, kind),
    the serving model for the current roster, and the startup pool for investors' lists.

    The key changes whenever the model, the roster or the profile does, so an entry is never stale in
    what it ranks; the time-to-live bounds how long a renamed or deleted investor can still be shown.

    ``versions`` mirrors every profile's version so a request needs no database round trip. ``sync``
    refreshes it (and the roster) at most every ``sync_seconds`` with one indexed query for the profiles
    updated since the last sync (minus a margin for clock skew and late commits): an edit made through
    this process is seen at once (``forget``, ``roster_changed``), one made by another process within
    about ``sync_seconds``.
    """

    SKEW = timedelta(seconds=10)

    def __init__(self, max_startups: int = 20_000, ttl_seconds: float = 600.0, sync_seconds: float = 1.0) -> None:
        self.entries: ResultCache[tuple[MatchItem, ...]] = ResultCache(3 * max_startups, ttl_seconds)
        self.max_startups = max_startups
        self.versions: dict[str, int] = {}
        self.sync_seconds = sync_seconds
        self.warmed_version: int | None = None
        self.roster: Roster | None = None
        self._watermark: datetime | None = None
        self._synced_at = float("-inf")
        self._syncing = False
        self._serving: tuple[tuple[int, Roster | None], PairRecommender] | None = None
        self._serving_lock = asyncio.Lock()
        self._pool: tuple[tuple[object, ...], StartupPool] | None = None
        self._pool_lock = asyncio.Lock()
        self._rebuild: asyncio.Task[None] | None = None
        # One ranking at a time per process: numpy releases the GIL only in its larger operations, and
        # several threads ranking at once would starve the event loop of it (health checks, cached lists).
        self.cpu = asyncio.Semaphore(1)

    async def off_loop(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn`` in a worker thread, one at a time (see ``cpu``)."""
        async with self.cpu:
            return await asyncio.to_thread(fn, *args, **kwargs)

    def get(self, version: int, startup_id: str, profile_version: int, kind: MatchKind = "all"
            ) -> tuple[MatchItem, ...] | None:
        return self.entries.get((version, self.roster, startup_id, profile_version, kind))

    def put(self, version: int, startup_id: str, profile_version: int, items: tuple[MatchItem, ...],
            kind: MatchKind = "all") -> None:
        self.entries.put((version, self.roster, startup_id, profile_version, kind), items)

    def forget(self, startup_id: str) -> None:
        """The profile changed: look its version up again on the next request."""
        self.versions.pop(startup_id, None)

    def roster_changed(self) -> None:
        """An investor or bank was created or removed here: re-read the roster on the next request."""
        self._synced_at = float("-inf")

    async def sync(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        if self._syncing or time.monotonic() - self._synced_at < self.sync_seconds:
            return
        self._syncing = True
        try:
            query = select(Startup.startup_id, Startup.version, Startup.updated_at)
            if self._watermark is not None:
                query = query.where(Startup.updated_at >= self._watermark - self.SKEW)
            roster_query = select(func.count(Investor.investor_id), func.max(Investor.created_at)).where(
                Investor.archived_at.is_(None))
            async with sessions() as session, session.begin():
                rows = (await session.execute(query)).all()
                count, latest = (await session.execute(roster_query)).one()
            for row in rows:
                self.versions[row.startup_id] = row.version
                if self._watermark is None or row.updated_at > self._watermark:
                    self._watermark = row.updated_at
            if self._watermark is None:
                self._watermark = utcnow()
            self.roster = (int(count or 0), latest)
            self._synced_at = time.monotonic()
        finally:
            self._syncing = False

    async def serving(self, sessions: async_sessionmaker[AsyncSession], models: ActiveModels) -> PairRecommender:
        """The active model, extended to investors and banks created since it was trained."""
        key = (models.version, self.roster)
        if self._serving is not None and self._serving[0] == key:
            return self._serving[1]
        async with self._serving_lock:
            if self._serving is not None and self._serving[0] == key:
                return self._serving[1]
            known = set(models.ranking.featurizer_.investor_ids_.tolist())
            async with sessions() as session, session.begin():
                ids = (await session.scalars(select(Investor.investor_id).where(Investor.archived_at.is_(None)))).all()
                # What the investor side is derived from (PairFeaturizer.fit), loan products included.
                tables = ("startups", "ip_assets", "investors", "interactions", "loan_products", "loans")
                data = await load_dataset(session, tables=tables) if set(ids) - known else None
            model = models.ranking if data is None else await self.off_loop(models.ranking.with_current, data)
            self._serving = (key, model)
            return model

    async def pool(self, sessions: async_sessionmaker[AsyncSession], model: PairRecommender) -> StartupPool:
        """Every startup encoded for ``model``: built when the model changes; when only the profiles
        changed, the current pool keeps serving while a new one is built in the background."""
        profiles = (self._watermark, len(self.versions))
        current = self._pool
        if current is not None and current[1].featurizer is model.featurizer_:
            if current[0] != profiles and (self._rebuild is None or self._rebuild.done()):
                self._rebuild = asyncio.create_task(self._build_pool(sessions, model, profiles))
            return current[1]
        await self._build_pool(sessions, model, profiles)
        assert self._pool is not None
        return self._pool[1]

    async def _build_pool(self, sessions: async_sessionmaker[AsyncSession], model: PairRecommender,
                          profiles: tuple[object, ...]) -> None:
        async with self._pool_lock:
            if self._pool is not None and self._pool[0] == profiles and self._pool[1].featurizer is model.featurizer_:
                return
            async with sessions() as session, session.begin():
                data = await load_dataset(session, tables=("startups", "ip_assets"))
            self._pool = (profiles, await self.off_loop(model.prepare, data))


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
    kind: MatchKind = "all",
) -> MatchList:
    principal.require_startup_access(startup_id)
    models = await store.require()
    await book.sync(sessions)
    model = await book.serving(sessions, models)
    profile_version = book.versions.get(startup_id)
    items = book.get(models.version, startup_id, profile_version, kind) if profile_version is not None else None
    if items is not None:
        return MatchList(target_id=startup_id, side="investors", kind=kind, model_version=models.version,
                         items=list(items[:k]))
    async with session.begin():
        profile_version = await session.scalar(select(Startup.version).where(Startup.startup_id == startup_id))
        if profile_version is None:
            raise NotFoundError(f"no startup with id {startup_id}")
        book.versions[startup_id] = profile_version
        items = book.get(models.version, startup_id, profile_version, kind)
        if items is None:
            data = await load_dataset(session, tables=("startups", "ip_assets"), startup_ids=[startup_id])
            # Tens of milliseconds of numpy work: off the event loop, so other requests keep flowing.
            ranked = await book.off_loop(model.recommend, data, [startup_id], k=MAX_K, side="investors",
                                             kind=kind)
            names = await _investor_names(session, ranked["investor_id"].unique().to_list())
            items = _by_startup(ranked, names).get(startup_id, ())
            book.put(models.version, startup_id, profile_version, items, kind)
    return MatchList(target_id=startup_id, side="investors", kind=kind, model_version=models.version,
                     items=list(items[:k]))


async def warm(sessions: async_sessionmaker[AsyncSession], book: MatchBook, models: ActiveModels) -> None:
    """Rank every startup with a newly loaded model in batches (vectorised, in a worker thread), so
    requests are answered from the book instead of scoring one startup at a time."""
    book.roster_changed()
    await book.sync(sessions)
    model = await book.serving(sessions, models)
    async with sessions() as session, session.begin():
        data = await load_dataset(session, tables=("startups", "ip_assets"))
        rows = (await session.execute(select(Startup.startup_id, Startup.version))).all()
        versions = {r.startup_id: r.version for r in rows}
        names = await _investor_names(session, model.featurizer_.investor_ids_.tolist())
    book.versions.update(versions)
    ids = [sid for sid in data.startups["startup_id"].to_list() if sid in versions][: book.max_startups]
    for start in range(0, len(ids), WARM_CHUNK):
        chunk = ids[start : start + WARM_CHUNK]
        ranked = await book.off_loop(model.recommend, data, chunk, k=MAX_K, side="investors")
        for sid, items in _by_startup(ranked, names).items():
            book.put(models.version, sid, versions[sid], items)
    book.warmed_version = models.version
    # The book holds hundreds of thousands of long-lived objects; leave them out of the cyclic
    # collector's full passes, which otherwise stall every request for tens of milliseconds.
    gc.freeze()


async def for_investor(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    store: ModelStore,
    book: MatchBook,
    *,
    investor_id: str,
    k: int,
) -> MatchList:
    models = await store.require()
    async with session.begin():
        if await session.get(Investor, investor_id) is None:
            raise NotFoundError(f"no investor or bank with id {investor_id}")
    await book.sync(sessions)
    model = await book.serving(sessions, models)
    if investor_id not in model.featurizer_.investor_index_:
        # Created a moment ago by another process: read the roster now rather than at the next sync.
        book.roster_changed()
        await book.sync(sessions)
        model = await book.serving(sessions, models)
    if investor_id not in model.featurizer_.investor_index_:
        raise InvalidInputError(f"{investor_id} is archived", field="investor_id")
    pool = await book.pool(sessions, model)
    # A few more than k cover startups archived or deleted since the pool was built.
    ranked = await book.off_loop(model.recommend, DataSet(), [investor_id], k=k + 10, side="startups", pool=pool)
    async with session.begin():
        rows = (await session.execute(select(Startup.startup_id, Startup.name).where(
            Startup.startup_id.in_(ranked["startup_id"].to_list()), Startup.archived_at.is_(None)))).all()
    names: dict[str, tuple[str, str | None]] = {r.startup_id: (r.name, None) for r in rows}
    ranked = ranked.filter(pl.col("startup_id").is_in(list(names))).head(k).with_columns(
        rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    return MatchList(target_id=investor_id, side="startups", kind="all", model_version=models.version,
                     items=_items(ranked, names, "startups"))
