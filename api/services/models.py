"""The models a process serves: loaded once, checked against the registry every few seconds and
swapped atomically when ``roadshow train`` registers a newer version (no restart needed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.models import ModelVersion
from matcher.eligibility import PDModel, load_pd_model
from matcher.errors import InvalidInputError, NotFittedError
from matcher.io import from_frames
from matcher.ranking import MODELS, PairRecommender


@dataclass(frozen=True, slots=True)
class ActiveModels:
    version: int
    ranking_name: str
    ranking: PairRecommender
    # None when the database held too few loans to train on: decisions then use the documented prior.
    eligibility: PDModel | None
    trained_as_of: date
    problem: str | None = None


def load_registered(row: ModelVersion) -> ActiveModels:
    """Read the files of one registry row (blocking: call in a worker thread)."""
    model_class = MODELS.get(row.ranking_model)
    if model_class is None:
        raise InvalidInputError(f"registry names unknown ranking model {row.ranking_model!r}", field="ranking_model")
    ranking = model_class.load(Path(row.ranking_path))
    _probe(ranking, row.version)
    eligibility, problem = None, None
    if row.eligibility_path:
        try:
            eligibility = load_pd_model(Path(row.eligibility_path))
        except Exception as exc:  # a corrupt or foreign file fails in many ways
            # Matches still work; decisions fall back to the documented prior and health says why.
            problem = f"default-risk model of version {row.version} failed to load ({exc}); using the prior"
    return ActiveModels(row.version, row.ranking_model, ranking, eligibility, row.trained_as_of, problem)


def _probe(ranking: PairRecommender, version: int) -> None:
    """Rank one made-up startup: a file written by an older library version can load and still fail
    on first use, and that must surface here (health reports it, the previous version keeps serving)
    rather than as an error on every matches request."""
    probe = from_frames(startups=pl.DataFrame({"startup_id": ["__probe__"], "name": ["probe"]}))
    try:
        ranking.recommend(probe, ["__probe__"], k=1)
    except Exception as exc:  # any failure means the file does not fit this library
        raise InvalidInputError(
            f"ranking model of version {version} does not work with this library version ({exc!r}); "
            "run `roadshow train`",
            field="ranking_model",
        ) from None


class ModelStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, refresh_seconds: float = 5.0) -> None:
        self._sessions = sessions
        self.refresh_seconds = refresh_seconds
        self._active: ActiveModels | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self.last_error: str | None = None
        self._failed_version: int | None = None
        # Called (on the event loop) with each newly loaded version, e.g. to precompute matches.
        self.on_swap: Callable[[ActiveModels], None] | None = None

    @property
    def active(self) -> ActiveModels | None:
        return self._active

    async def current(self, *, force: bool = False) -> ActiveModels | None:
        """The newest active version, re-checking the registry at most every ``refresh_seconds``."""
        if not force and time.monotonic() - self._checked_at < self.refresh_seconds:
            return self._active
        if not force and self._lock.locked() and self._active is not None:
            # Another request is already checking: serve the current version rather than queue behind it.
            return self._active
        async with self._lock:
            if not force and time.monotonic() - self._checked_at < self.refresh_seconds:
                return self._active
            async with self._sessions() as session, session.begin():
                row = await session.scalar(
                    select(ModelVersion).where(ModelVersion.active.is_(True)).order_by(ModelVersion.version.desc())
                )
            if row is None:
                self._active = None
            elif row.version != self._failed_version and (self._active is None or self._active.version != row.version):
                try:
                    loaded = await asyncio.to_thread(load_registered, row)
                except Exception as exc:  # a corrupt or foreign file fails in many ways
                    # Keep serving the previous version; health reports the failure.
                    self.last_error = f"model version {row.version} failed to load: {exc}"
                    # Not retried until a newer version is registered (loading is expensive).
                    self._failed_version = row.version
                else:
                    self._active, self.last_error = loaded, loaded.problem
                    if self.on_swap is not None:
                        self.on_swap(loaded)
            self._checked_at = time.monotonic()
        return self._active

    async def require(self) -> ActiveModels:
        models = await self.current()
        if models is None:
            raise NotFittedError("no trained model is registered yet; run `roadshow train`")
        return models


async def has_registered_model(session: AsyncSession) -> bool:
    async with session.begin():
        return await session.scalar(select(ModelVersion.version).limit(1)) is not None
