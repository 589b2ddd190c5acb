"""The model registry behind ``/api/models``, the console's models page and ``roadshow models``: list the
versions with their evaluations, pin one, unpin, roll back, and ask for a retrain (one per burst of
recorded outcomes, on the queue)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import ModelVersion, ScheduleJob, utcnow
from api.schemas.models import ModelVersionRead, RetrainRequest
from api.services.jobs import ACTIVE, JobQueue, add_job, new_job
from api.services.training import activate_row
from api.settings import Settings
from matcher.errors import ConflictError, NotFoundError

RETRAIN_LOCK = "retrain"


def _read(row: ModelVersion) -> ModelVersionRead:
    return ModelVersionRead(
        version=row.version, ranking_model=row.ranking_model, trained_as_of=row.trained_as_of, active=row.active,
        pinned=row.pinned, decision=row.decision, evaluation=row.evaluation, training=row.training,
        created_at=row.created_at, activated_at=row.activated_at, replaced_version=row.replaced_version,
        default_risk_model=row.eligibility_path is not None,
    )


async def list_versions(session: AsyncSession) -> list[ModelVersionRead]:
    """Every version, newest first."""
    async with session.begin():
        rows = (await session.scalars(select(ModelVersion).order_by(ModelVersion.version.desc()))).all()
        return [_read(r) for r in rows]


async def _get(session: AsyncSession, version: int) -> ModelVersion:
    row = await session.get(ModelVersion, version)
    if row is None:
        raise NotFoundError(f"no model version {version}")
    return row


async def _active(session: AsyncSession) -> ModelVersion:
    row = await session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True))
                               .order_by(ModelVersion.version.desc()))
    if row is None:
        raise ConflictError("no model version is serving yet; run `roadshow train`")
    return row


async def pin(session: AsyncSession, version: int) -> ModelVersionRead:
    """Serve ``version`` and keep it: retrains are still evaluated and kept, but do not replace it."""
    async with session.begin():
        row = await _get(session, version)
        await activate_row(session, row)
        row.pinned = True
        return _read(row)


async def unpin(session: AsyncSession) -> ModelVersionRead:
    """Let retrains replace the serving version again (when they are not worse)."""
    async with session.begin():
        await session.execute(update(ModelVersion).values(pinned=False))
        return _read(await _active(session))


async def rollback(session: AsyncSession) -> ModelVersionRead:
    """Serve again the version the serving one replaced, pinned (so the next retrain does not undo it)."""
    async with session.begin():
        current = await _active(session)
        if current.replaced_version is None:
            raise ConflictError(f"version {current.version} replaced no earlier version: nothing to roll back to")
        previous = await _get(session, current.replaced_version)
        await activate_row(session, previous, remember_replaced=False)
        previous.pinned = True
        return _read(previous)


async def request_retrain(
    session: AsyncSession, queue: JobQueue, settings: Settings, *, body: RetrainRequest | None = None,
    delay: float | None = None,
) -> ScheduleJob:
    """A retrain job on the queue, after ``delay`` seconds (default: at once for a request, the debounce
    for recorded outcomes). While one is queued, asking again returns it: one retrain per burst. Once it
    runs, the next request queues the next one (it will see the outcomes recorded meanwhile)."""
    body = body or RetrainRequest()
    async with session.begin():
        waiting = await session.scalar(select(ScheduleJob).where(
            ScheduleJob.lock_key == RETRAIN_LOCK, ScheduleJob.status.in_(ACTIVE)))
    if waiting is not None:
        return waiting
    params = {"ranking_model": body.ranking_model, "force": body.force,
              "as_of": body.as_of.isoformat() if body.as_of else None}
    job = new_job("retrain", params, lock_key=RETRAIN_LOCK)
    if delay:
        # The sweeper requeues a queued job only after its heartbeat is a minute old: not before it is due.
        job.heartbeat_at = utcnow() + timedelta(seconds=delay)
    try:
        job = await add_job(session, job)
    except ConflictError:  # another request of the same burst won the race: that job holds the lock
        async with session.begin():
            found = await session.scalar(select(ScheduleJob).where(
                ScheduleJob.lock_key == RETRAIN_LOCK, ScheduleJob.status.in_(ACTIVE)))
        if found is None:
            raise
        return found
    queue.enqueue(job.job_id, delay=delay)
    return job


async def outcomes_recorded(session: AsyncSession, queue: JobQueue, settings: Settings) -> ScheduleJob | None:
    """Call after outcomes are written: one debounced retrain for the burst (none when
    ``retrain_on_outcomes`` is off)."""
    if not settings.retrain_on_outcomes:
        return None
    return await request_retrain(session, queue, settings, delay=settings.retrain_debounce_seconds)


async def release_lock(session: AsyncSession, job_id: str) -> None:
    """A running retrain frees the burst's lock, so outcomes recorded while it runs queue the next one."""
    async with session.begin():
        await session.execute(update(ScheduleJob).where(ScheduleJob.job_id == job_id)
                              .values(lock_key=f"{RETRAIN_LOCK}:{job_id}"))
