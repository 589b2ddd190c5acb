"""Fit the ranking and eligibility models on the database, judge the new ranking model against the one
serving (``matcher.ranking.champion``) and register it as a new version, activated only when it is not
worse (or when forced). ``roadshow train``, ``POST /api/models/train`` and the retrain that follows
recorded outcomes (a job on the queue, ``run_retrain_job``) all come here.

The fitting runs in a process of its own: a retrain on a large world is tens of seconds of CPU, and in
the embedded setup the job worker shares its process (and its GIL) with the API. That process runs at a
low CPU priority with one thread per native pool, so on a small machine the API keeps its rate. It reads
the database itself too: building the frames of the medium world is seconds of GIL-holding work, which on
the API's process held up its answers (the worst /health p99 of a retrain fell there).
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from threadpoolctl import threadpool_limits

from api.db.engine import create_engine, session_factory
from api.db.models import ModelVersion, utcnow
from api.services.frames import load_dataset
from api.settings import DEFAULT_NICENESS
from matcher.eligibility import default_policy, train_pd_model
from matcher.errors import NotFittedError
from matcher.io import DataSet
from matcher.ranking import MODELS, get_model
from matcher.ranking.champion import DEFAULT_HOLDOUT_SHARE, DEFAULT_TOLERANCE, Champion, Verdict, judge

if TYPE_CHECKING:
    from api.services.jobs import JobContext


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChampionFile:
    """What the child process needs to know of the serving version (picklable)."""

    version: int
    pinned: bool
    trained_as_of: date
    ranking_model: str
    ranking_path: str
    eligibility_path: str | None
    loans_hash: str | None


@dataclass(frozen=True, slots=True)
class Fitted:
    ranking_path: Path
    eligibility_path: Path | None
    verdict: Verdict
    training: dict[str, Any]


def loans_hash(data: DataSet) -> str:
    """A fingerprint of the loan book: the default-risk model is refitted only when it changed."""
    frame = data.loans.sort("loan_id") if "loan_id" in data.loans.columns else data.loans
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()[:16]


def _fit_eligibility(data: DataSet, as_of: date, target: Path) -> Path | None:
    """The PD model on the database's loan book, or None when it is too small (decisions use the prior)."""
    try:
        model = train_pd_model(data.startups, data.ip_assets, data.loans, as_of=as_of, policy=default_policy())
    except NotFittedError:
        return None
    return model.save(target / "eligibility.skops")


def _fit_and_save(data: DataSet, as_of: date, ranking_model: str, path: Path) -> Path:
    get_model(ranking_model).fit(data, as_of).save(path)
    return path


def fit_and_judge(data: DataSet, as_of: date, ranking_model: str, target: Path, *, champion: ChampionFile | None,
                  force: bool, tolerance: float, share: float) -> Fitted:
    """Blocking work (run in a child process): the challenger, its verdict, both models saved under ``target``.

    The version that serves (the recipe fitted on everything before ``as_of``, then saved) does not depend
    on the verdict: it is fitted in a process of its own, then the default-risk model when the loans
    changed, while this one judges (the backtest, a full self-tuned fit, and the champion's refit, which
    keeps the backtest's choice when the recipes are the same), which on two cores halves the job's wall
    time."""
    target.mkdir(parents=True, exist_ok=True)
    judged: Champion | None = None
    if champion is not None:
        recipe = MODELS[champion.ranking_model]
        judged = Champion(champion.version, champion.pinned, champion.trained_as_of,
                          make=lambda: get_model(champion.ranking_model),
                          load=lambda: recipe.load(Path(champion.ranking_path)))
    book = loans_hash(data)
    # Spawned from this child, it inherits its lower priority; _in_background limits its thread pools.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        serving = pool.submit(_in_background, partial(_fit_and_save, data, as_of, ranking_model,
                                                      target / "ranking.skops"), 0)
        # The same loans: the same default-risk model. Else it is fitted after the serving fit in the
        # second process: the judging here (the backtest, then the champion's refit) is the longer side.
        kept = Path(champion.eligibility_path) \
            if champion is not None and champion.loans_hash == book and champion.eligibility_path else None
        eligibility = None if kept else pool.submit(_in_background, partial(_fit_eligibility, data, as_of, target), 0)
        verdict = judge(
            data, as_of, lambda: get_model(ranking_model), judged, force=force, tolerance=tolerance, share=share,
            same_recipe=champion is not None and champion.ranking_model == ranking_model,
        )
        ranking_path = serving.result()
        eligibility_path = kept if eligibility is None else eligibility.result()
    last = data.interactions.filter(pl.col("occurred_on") < as_of)["occurred_on"].max()
    training = {
        "interactions": data.interactions.filter(pl.col("occurred_on") < as_of).height,
        "last_outcome_on": last.isoformat() if isinstance(last, date) else None,
        "loans_hash": book,
    }
    return Fitted(ranking_path, eligibility_path, verdict, training)


def _fit_from_database(database_url: str, as_of: date, ranking_model: str, target: Path, *,
                       champion: ChampionFile | None, force: bool, tolerance: float, share: float) -> Fitted:
    """``fit_and_judge`` on the database as it is now (in the child process, with an engine of its own)."""
    async def read() -> DataSet:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await load_dataset(session)
        finally:
            await engine.dispose()

    return fit_and_judge(asyncio.run(read()), as_of, ranking_model, target, champion=champion, force=force,
                         tolerance=tolerance, share=share)


def _in_background(work: Callable[[], T], niceness: int) -> T:
    """``work`` at a lower CPU priority (``niceness`` more than its parent's), one thread per BLAS and
    OpenMP pool (in the child process)."""
    os.nice(niceness)
    with threadpool_limits(limits=1):
        return work()


def _in_child(work: Callable[[], T], niceness: int = DEFAULT_NICENESS) -> T:
    """Run ``work`` in a child process and wait for it (blocking: called in a thread, never on the loop).

    spawn: a fresh interpreter, never a fork of a process holding an event loop, threads and connections."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_in_background, work, niceness).result()


async def _champion(session: AsyncSession) -> ModelVersion | None:
    return await session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True))
                                .order_by(ModelVersion.version.desc()))


async def train(
    session: AsyncSession,
    *,
    model_dir: Path,
    as_of: date | None = None,
    ranking_model: str = "learned",
    force: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    holdout_share: float = DEFAULT_HOLDOUT_SHARE,
    niceness: int = DEFAULT_NICENESS,
) -> ModelVersion:
    """Fit on everything in the database before ``as_of`` (default today), judge it against the serving
    version and register it; it serves only when the verdict says so (``row.active``)."""
    as_of = as_of or datetime.now(UTC).date()
    get_model(ranking_model)  # an unknown name is refused before any work
    async with session.begin():
        current = await _champion(session)
        champion = None if current is None else ChampionFile(
            current.version, current.pinned, current.trained_as_of, current.ranking_model, current.ranking_path,
            current.eligibility_path, (current.training or {}).get("loans_hash"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = (model_dir / f"{stamp}-{secrets.token_hex(3)}").resolve()
    database_url = session.get_bind().engine.url.render_as_string(hide_password=False)
    work = partial(_fit_from_database, database_url, as_of, ranking_model, target, champion=champion, force=force,
                   tolerance=tolerance, share=holdout_share)
    fitted = await asyncio.to_thread(_in_child, work, niceness)
    verdict = fitted.verdict
    async with session.begin():
        row = ModelVersion(
            ranking_model=ranking_model,
            ranking_path=str(fitted.ranking_path),
            eligibility_path=str(fitted.eligibility_path) if fitted.eligibility_path else None,
            trained_as_of=as_of,
            active=False,
            decision=verdict.decision,
            evaluation=verdict.to_dict(),
            training=fitted.training,
            pinned=False,
        )
        session.add(row)
        await session.flush()
        if verdict.activate:
            await activate_row(session, row)
    return row


async def activate_row(session: AsyncSession, row: ModelVersion, *, remember_replaced: bool = True) -> None:
    """Make ``row`` the one version served (inside the caller's transaction); others stop serving.

    ``remember_replaced`` records the version it replaces, which a rollback goes back to; a rollback
    itself keeps the restored version's own record, so rollbacks walk back through the history."""
    current = await _champion(session)
    if current is not None and current.version == row.version:
        return
    if remember_replaced:
        row.replaced_version = current.version if current is not None else None
    await session.execute(update(ModelVersion).where(ModelVersion.version != row.version)
                          .values(active=False, pinned=False))
    row.active, row.activated_at = True, utcnow()


async def run_retrain_job(context: JobContext) -> dict[str, Any]:
    """The queue's retrain job (``api.services.jobs`` kind ``retrain``)."""
    from api.services.registry import release_lock  # imports this module: a top-level import would be circular

    params = context.params
    async with context.sessions() as session:
        await release_lock(session, context.job_id)
    context.report("fitting", model=params.get("ranking_model", "learned"))
    async with context.sessions() as session:
        row = await train(
            session,
            model_dir=context.settings.model_dir,
            as_of=date.fromisoformat(str(params["as_of"])) if params.get("as_of") else None,
            ranking_model=str(params.get("ranking_model", "learned")),
            force=bool(params.get("force", False)),
            tolerance=context.settings.retrain_tolerance,
            holdout_share=context.settings.retrain_holdout_share,
            niceness=context.settings.retrain_niceness,
        )
        return {"version": row.version, "decision": row.decision, "active": row.active,
                "evaluation": row.evaluation}
