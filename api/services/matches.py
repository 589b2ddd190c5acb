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
startups. Every piece of ranking work runs in a worker process (``api.services.compute``) that keeps the
serving model and the pool between requests, so the event loop keeps its GIL and keeps answering.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import polars as pl
from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.models import Investor, Startup, utcnow
from api.schemas.ranking import MatchItem, MatchList
from api.services.cache import ResultCache
from api.services.compute import Compute, Key, Ref, call_method, same
from api.services.frames import load_dataset
from api.services.keys import Principal
from api.services.models import ActiveModels, ModelStore
from matcher.errors import InvalidInputError, NotFoundError
from matcher.io import DataSet
from matcher.ranking.base import PairRecommender, StartupPool

# Every startup's top MAX_K is computed (and cached) once; a request for k ≤ MAX_K takes a prefix.
MAX_K = 50
WARM_CHUNK = 200
MatchKind = Literal["investor", "bank", "all"]
"""``matcher.ranking.base.KINDS``: a startup's investors (every kind but bank), its banks, or both."""
Roster = tuple[int, datetime | None]  # (investors and banks not archived, the latest created_at)


def _items(frame: pl.DataFrame, names: dict[str, tuple[str, str | None]]) -> list[MatchItem]:
    """A startup's ranked investors (``recommend(side="investors")``) as items named from ``names``."""
    return [
        MatchItem(
            startup_id=row["startup_id"],
            investor_id=row["investor_id"],
            name=names.get(row["investor_id"], (row["investor_id"], None))[0],
            kind=names.get(row["investor_id"], (row["investor_id"], None))[1],
            rank=row["rank"],
            score=round(row["score"], 6),
            reasons=row["reasons"] or [],
            reasons_en=row["reasons_en"] or [],
        )
        for row in frame.iter_rows(named=True)
    ]


@dataclass(frozen=True, slots=True)
class Serving:
    """The active model extended to the current roster, as the compute workers hold it."""

    key: tuple[int, Roster | None]  # (model version, roster)
    model: Ref
    investors: frozenset[str]  # whom it ranks (its featurizer's investors)


class MatchBook:
    """Each startup's ranked investors under (model version, roster, startup, profile version, kind),
    the serving model for the current roster, and the startup pool for investors' lists.

    The key changes whenever the model, the roster or the profile does, so an entry is never stale in
    what it ranks; the time-to-live bounds how long a renamed or deleted investor can still be shown.

    ``versions`` mirrors every profile's version, ``startups`` every startup's name (None once archived)
    and ``investors`` whether each investor or bank is archived, so a request needs no database round trip
    (on an investor's list that round trip was most of the event loop's work, bench/results/lists.md).
    ``sync`` refreshes them at most every ``sync_seconds`` with one indexed query for the profiles updated
    since the last sync began (minus a margin for clock skew and late commits), a count of the startups
    (a deleted row has no update to find: a count below what is mirrored re-reads them all) and the roster,
    whose ids are re-read when it changes: an edit made through this process is seen at once (``forget``,
    ``roster_changed``), one made by another process within about ``sync_seconds``.
    """

    SKEW = timedelta(seconds=10)
    # Earlier pools of the same serving model that may answer while the newest is built.
    STALE_POOLS = 2

    def __init__(self, compute: Compute, max_startups: int = 20_000, ttl_seconds: float = 600.0,
                 sync_seconds: float = 1.0) -> None:
        self.compute = compute
        self.entries: ResultCache[tuple[MatchItem, ...]] = ResultCache(3 * max_startups, ttl_seconds)
        self.max_startups = max_startups
        self.versions: dict[str, int] = {}
        self.startups: dict[str, str | None] = {}
        self.investors: dict[str, bool] = {}
        self._roster_read = False
        self.sync_seconds = sync_seconds
        self.warmed_version: int | None = None
        self.roster: Roster | None = None
        self._watermark: datetime | None = None  # the latest update seen (a pool is encoded as of it)
        # Every profile updated before this is in ``versions``. Not the watermark less the margin: after
        # an import that stamped 20,000 profiles within seconds, that re-read them all on every sync (a
        # tenth of the event loop's time while investors' lists were requested, bench/lists.py).
        self._complete_before: datetime | None = None
        self._synced_at = float("-inf")
        self._syncing: asyncio.Future[None] | None = None
        self._serving: Serving | None = None
        self._serving_lock = asyncio.Lock()
        self._pools: list[Key] = []  # the serving model's pools, newest first
        self._pool_lock = asyncio.Lock()
        self._rebuild: asyncio.Task[None] | None = None

    def get(self, version: int, startup_id: str, profile_version: int, kind: MatchKind = "all"
            ) -> tuple[MatchItem, ...] | None:
        return self.entries.get((version, self.roster, startup_id, profile_version, kind))

    def put(self, version: int, startup_id: str, profile_version: int, items: tuple[MatchItem, ...],
            kind: MatchKind = "all") -> None:
        self.entries.put((version, self.roster, startup_id, profile_version, kind), items)

    def forget(self, startup_id: str) -> None:
        """The profile changed or went: look its version up again, and sync names, on the next request."""
        self.versions.pop(startup_id, None)
        self._synced_at = float("-inf")

    def roster_changed(self) -> None:
        """An investor or bank was created or removed here: re-read the roster on the next request."""
        self._synced_at = float("-inf")
        self._roster_read = False

    async def sync(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        if self._syncing is not None:
            # Wait for the sync in flight rather than answer from an older mirror (at start: an empty one).
            await asyncio.shield(self._syncing)
            return
        if time.monotonic() - self._synced_at < self.sync_seconds:
            return
        self._syncing = asyncio.ensure_future(self._sync(sessions))
        try:
            await asyncio.shield(self._syncing)
        finally:
            self._syncing = None

    async def _sync(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        # A profile stamped more than SKEW before this query began is committed by then (the margin's
        # assumption), so this query sees it: the next one need not look further back than that.
        started = utcnow()
        profiles = select(Startup.startup_id, Startup.version, Startup.updated_at, Startup.name, Startup.archived_at)
        query = profiles if self._complete_before is None else profiles.where(
            Startup.updated_at >= self._complete_before)
        roster_query = select(func.count(Investor.investor_id), func.max(Investor.created_at)).where(
            Investor.archived_at.is_(None))
        async with sessions() as session, session.begin():
            # Counted first: a startup the count sees is committed, so the read below sees it too.
            total = await session.scalar(select(func.count(Startup.startup_id)))
            self._mirror((await session.execute(query)).all())
            if len(self.startups) != total:  # deleted since the last sync (by any process)
                rows = (await session.execute(profiles)).all()
                present = {row.startup_id for row in rows}
                self.startups = {}
                self.versions = {sid: v for sid, v in self.versions.items() if sid in present}
                self._mirror(rows)
            count, latest = (await session.execute(roster_query)).one()
            roster = (int(count or 0), latest)
            if roster != self.roster or not self._roster_read:
                ids = await session.execute(select(Investor.investor_id, Investor.archived_at))
                self.investors = {row.investor_id: row.archived_at is not None for row in ids}
                self._roster_read = True
        if self._watermark is None:
            self._watermark = utcnow()
        self.roster = roster
        self._complete_before = started - self.SKEW
        self._synced_at = time.monotonic()

    def _mirror(self, rows: Sequence[Row[str, int, datetime, str, datetime | None]]) -> None:
        for row in rows:
            self.versions[row.startup_id] = row.version
            self.startups[row.startup_id] = row.name if row.archived_at is None else None
            if self._watermark is None or row.updated_at > self._watermark:
                self._watermark = row.updated_at

    async def serving(self, sessions: async_sessionmaker[AsyncSession], models: ActiveModels) -> Serving:
        """The active model, extended to investors and banks created since it was trained."""
        key = (models.version, self.roster)
        if self._serving is not None and self._serving.key == key:
            return self._serving
        async with self._serving_lock:
            if self._serving is not None and self._serving.key == key:
                return self._serving
            base = ("model", models.version)
            # Sent to each worker once (pickled there by the executor), not per request.
            ref = self.compute.define(base, same, models.ranking)
            known = set(models.ranking.featurizer_.investor_ids_.tolist())
            investors = frozenset(known)
            # The roster mirrored by the sync this key comes from: investors and banks the model has not seen.
            if {i for i, archived in self.investors.items() if not archived} - known:
                async with sessions() as session, session.begin():
                    # What the investor side is derived from (PairFeaturizer.fit), loan products included.
                    tables = ("startups", "ip_assets", "investors", "interactions", "loan_products", "loans")
                    data = await load_dataset(session, tables=tables)
                ref = self.compute.define(("serving", *key), call_method, ref, "with_current", data)
                investors = frozenset((await self.compute.get(ref, "featurizer_", "investor_ids_")).tolist())
            self._serving = Serving(key, ref, investors)
            # What older versions and rosters defined goes (it holds their models and data sets).
            self.compute.forget(lambda k: k[1] == models.version and (k[0] != "serving" or k == ref.key))
            return self._serving

    async def pool(self, sessions: async_sessionmaker[AsyncSession], serving: Serving) -> Ref:
        """Every startup encoded for the serving model: built when the model changes; when only the
        profiles changed, earlier pools keep serving while the newest is built (in the worker)."""
        profiles = (self._watermark, len(self.versions))
        key = ("pool", serving.key[0], serving.model.key, profiles)
        if self._pools and self._pools[0][:3] == key[:3]:
            if self._pools[0] != key and (self._rebuild is None or self._rebuild.done()):
                self._rebuild = asyncio.create_task(self._define_pool(sessions, serving, key))
            return Ref(self._pools[0], stale=tuple(self._pools[1:]))
        await self._define_pool(sessions, serving, key)
        return Ref(self._pools[0])

    async def _define_pool(self, sessions: async_sessionmaker[AsyncSession], serving: Serving,
                           key: Key) -> None:
        async with self._pool_lock:
            if self._pools and self._pools[0] == key:
                return
            async with sessions() as session, session.begin():
                data = await load_dataset(session, tables=("startups", "ip_assets"))
            self.compute.define(key, call_method, serving.model, "prepare", data)
            # Only pools of the same serving model may stand in (a pool fits the model it was encoded for).
            self._pools = [key, *[k for k in self._pools if k[:3] == key[:3]][: self.STALE_POOLS]]
            pools = set(self._pools)
            self.compute.forget(lambda k: k[0] != "pool" or k in pools)


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
    for item in _items(ranked, names):
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
    serving = await book.serving(sessions, models)
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
            # Tens of milliseconds of numpy work: in a worker process, so other requests keep flowing.
            ranked = await book.compute.call(serving.model, "recommend", data, [startup_id], k=MAX_K,
                                             side="investors", kind=kind)
            names = await _investor_names(session, ranked["investor_id"].unique().to_list())
            items = _by_startup(ranked, names).get(startup_id, ())
            book.put(models.version, startup_id, profile_version, items, kind)
    return MatchList(target_id=startup_id, side="investors", kind=kind, model_version=models.version,
                     items=list(items[:k]))


async def warm(sessions: async_sessionmaker[AsyncSession], book: MatchBook, models: ActiveModels) -> None:
    """Rank every startup with a newly loaded model in batches (vectorised, in a worker process), so
    requests are answered from the book instead of scoring one startup at a time."""
    book.roster_changed()
    await book.sync(sessions)
    serving = await book.serving(sessions, models)
    async with sessions() as session, session.begin():
        data = await load_dataset(session, tables=("startups", "ip_assets"))
        rows = (await session.execute(select(Startup.startup_id, Startup.version))).all()
        versions = {r.startup_id: r.version for r in rows}
        names = await _investor_names(session, sorted(serving.investors))
    book.versions.update(versions)
    # The profiles go to each worker once; each batch then sends only its startup ids.
    profiles = book.compute.define(("warm", models.version), same, data)
    ids = [sid for sid in data.startups["startup_id"].to_list() if sid in versions][: book.max_startups]
    for start in range(0, len(ids), WARM_CHUNK):
        chunk = ids[start : start + WARM_CHUNK]
        ranked = await book.compute.call(serving.model, "recommend", profiles, chunk, k=MAX_K, side="investors")
        for sid, items in _by_startup(ranked, names).items():
            book.put(models.version, sid, versions[sid], items)
    book.compute.forget(lambda k: k != profiles.key)
    book.warmed_version = models.version
    # The book holds hundreds of thousands of long-lived objects; leave them out of the cyclic
    # collector's full passes, which otherwise stall every request for tens of milliseconds.
    gc.freeze()


async def for_investor(
    sessions: async_sessionmaker[AsyncSession],
    store: ModelStore,
    book: MatchBook,
    *,
    investor_id: str,
    k: int,
) -> MatchList:
    models = await store.require()
    await book.sync(sessions)
    if investor_id not in book.investors:
        # Created a moment ago by another process: read the roster now rather than at the next sync.
        book.roster_changed()
        await book.sync(sessions)
    if investor_id not in book.investors:
        raise NotFoundError(f"no investor or bank with id {investor_id}")
    serving = await book.serving(sessions, models)
    if book.investors[investor_id] or investor_id not in serving.investors:
        raise InvalidInputError(f"{investor_id} is archived", field="investor_id")
    pool = await book.pool(sessions, serving)
    # A few more than k cover startups archived or deleted since the pool was built.
    ranked = await book.compute.run(startup_list, serving.model, pool, investor_id, k + 10)
    items: list[MatchItem] = []
    for sid, score, reasons, reasons_en in ranked:
        name = book.startups.get(sid)
        if name is not None and len(items) < k:
            items.append(MatchItem(startup_id=sid, investor_id=investor_id, name=name, kind=None, rank=len(items) + 1,
                                   score=round(score, 6), reasons=reasons or [], reasons_en=reasons_en or []))
    return MatchList(target_id=investor_id, side="startups", kind="all", model_version=models.version, items=items)


def startup_list(model: PairRecommender, pool: StartupPool, investor_id: str, k: int
                 ) -> list[tuple[str, float, list[str] | None, list[str] | None]]:
    """In a worker: an investor's best ``k`` startups as (startup id, score, reasons, English reasons).
    Plain tuples, not a frame: the event loop unpickles what comes back, and builds the items from it."""
    ranked = model.recommend(DataSet(), [investor_id], k=k, side="startups", pool=pool)
    return list(zip(ranked["startup_id"].to_list(), ranked["score"].to_list(), ranked["reasons"].to_list(),
                    ranked["reasons_en"].to_list(), strict=True))
