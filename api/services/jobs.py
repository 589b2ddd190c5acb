"""Long work (solves, re-plans, and any later job kind) as jobs on a queue, run by worker threads.

Why huey: it is the one existing queue with both a Redis and a SQLite backend, so the scaled setup
(PostgreSQL + Redis, API processes and ``roadshow worker`` processes apart) and the embedded default (no
Redis: a SQLite queue file beside the database, the same worker code running inside ``serve``) are one
code path that differs only in settings. Its tasks run in threads of a consumer, never on the API's
event loop. (saq and arq need Redis; procrastinate needs PostgreSQL.)

The queue only carries job ids; the ``schedule_jobs`` table is the record: status, attempts, progress,
result or error, readable by every process (``GET /api/jobs/{id}``). That makes the guarantees ours:

- one job per ``lock_key`` (``event:<id>``) at a time: a partial unique index, so a second solve of an
  event is refused with 409 naming the running job, by construction, in every process;
- a worker claims a job with one conditional UPDATE (queued → running), so a message delivered twice
  runs once;
- a running job beats its heartbeat every few seconds; the sweeper (in every API process and worker)
  puts a job whose heartbeat stopped (its worker was killed) back on the queue, or fails it with the
  reason after ``MAX_ATTEMPTS``: never "running" forever;
- a job committed as queued but never put on the queue (a crash in between) is put on it by the sweeper.

Job kinds are named in ``KINDS`` (kind → ``module:function``), imported when a job of that kind runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.db.models import ScheduleJob, utcnow
from api.errors import domain_body, problem_body
from api.services import idempotency
from api.services.idempotency import IdempotentRequest
from api.settings import Settings
from matcher.errors import ConflictError, MatcherError

logger = logging.getLogger("api.jobs")

KINDS: dict[str, str] = {
    "schedule": "api.services.events:run_solve_job",
    "reschedule": "api.services.events:run_solve_job",
    "retrain": "api.services.training:run_retrain_job",
}
MAX_ATTEMPTS = 2
# Beats per lease: a job is declared lost only after this many missed heartbeats.
BEATS_PER_LEASE = 6
# A queued job not picked up for this long is put on the queue again (a duplicate message is harmless).
REQUEUE_SECONDS = 60.0
SWEEP_SECONDS = 2.0
ACTIVE = ("queued", "running")


@dataclass(slots=True)
class JobContext:
    """What a job handler gets: the job, a database, the models, and a way to report progress."""

    job_id: str
    kind: str
    event_id: str | None
    params: dict[str, Any]
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    runtime: WorkerRuntime
    progress: dict[str, Any] = field(default_factory=dict)

    def report(self, stage: str, **details: Any) -> None:
        """Record what the job is doing; written with the next heartbeat (callable from any thread)."""
        self.progress = {"stage": stage, **details}


JobHandler = Callable[[JobContext], Awaitable[dict[str, Any]]]


def handler_for(kind: str) -> JobHandler:
    module, _, name = KINDS[kind].partition(":")
    handler: JobHandler = getattr(importlib.import_module(module), name)
    return handler


def new_job(
    kind: str, params: dict[str, Any], *, event_id: str | None = None, lock_key: str | None = None
) -> ScheduleJob:
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    return ScheduleJob(
        job_id="job_" + secrets.token_hex(6),
        event_id=event_id,
        kind=kind,
        status="queued",
        params=params,
        lock_key=lock_key,
        attempts=0,
        heartbeat_at=utcnow(),
    )


async def add_job(session: AsyncSession, job: ScheduleJob, *, remember: IdempotentRequest | None = None) -> ScheduleJob:
    """Insert ``job`` in its own transaction; 409 naming the active job that holds the same lock.

    With ``remember``, the job id is stored for the idempotency key in the same transaction."""
    try:
        async with session.begin():
            session.add(job)
            if remember is not None:
                await idempotency.remember(session, remember, 202, {"job_id": job.job_id})
    except IntegrityError:
        async with session.begin():
            holder = await session.scalar(
                select(ScheduleJob).where(ScheduleJob.lock_key == job.lock_key, ScheduleJob.status.in_(ACTIVE))
            )
        if holder is None:
            raise
        raise ActiveJobError(holder.job_id, holder.kind, holder.status) from None
    return job


class ActiveJobError(ConflictError):
    """Another job holds the lock (one solve or re-plan per event at a time)."""

    def __init__(self, job_id: str, kind: str, status: str) -> None:
        super().__init__(
            f"{kind} job {job_id} is {status} for this event; wait for it (GET /api/jobs/{job_id}) and retry"
        )
        self.job_id = job_id


# --- the queue -----------------------------------------------------------------------------------


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        # One queue per database: job ids mean nothing to the workers of another deployment's database.
        database = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
        return RedisHuey(name=f"{settings.redis_prefix}:jobs:{database}", url=settings.redis_url, results=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name="roadshow-jobs", filename=str(Path(settings.data_dir) / "queue.db"), results=False)


class _QuietConsumer(Consumer):  # type: ignore[misc]  # huey is untyped
    """A consumer that leaves signal handling to its host (uvicorn, or ``roadshow worker``'s main thread)."""

    def _set_signal_handlers(self) -> None:
        return None


class JobQueue:
    """The queue of one process: put job ids on it, and (in a worker) run them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.huey = make_huey(settings)
        self._task = self.huey.task(name="roadshow.run_job")(self._run)
        self._consumer: Consumer | None = None
        self._runtimes = threading.local()
        self._all_runtimes: list[WorkerRuntime] = []
        self._lock = threading.Lock()

    def enqueue(self, job_id: str, *, delay: float | None = None) -> None:
        """Put the job on the queue, to run at once or after ``delay`` seconds (huey's schedule)."""
        if delay:
            self._task.schedule(args=(job_id,), delay=delay)
        else:
            self._task(job_id)

    # Worker side: a huey task runs in a consumer thread; each thread keeps one event loop and engine.
    def _runtime(self) -> WorkerRuntime:
        runtime: WorkerRuntime | None = getattr(self._runtimes, "value", None)
        if runtime is None:
            runtime = WorkerRuntime(self.settings)
            self._runtimes.value = runtime
            with self._lock:
                self._all_runtimes.append(runtime)
        return runtime

    def _run(self, job_id: str) -> None:
        self._runtime().run(job_id)

    def consumer(self, threads: int) -> Consumer:
        return _QuietConsumer(self.huey, workers=threads, worker_type="thread", periodic=False, initial_delay=0.05,
                              max_delay=0.5, backoff=1.5, check_worker_health=True)

    def start_embedded(self, threads: int) -> None:
        """Run the worker inside this process (the embedded default of ``serve``)."""
        self._consumer = self.consumer(threads)
        self._consumer.start()

    def stop_embedded(self) -> None:
        """Stop taking jobs. A job still running is left to its daemon thread: the process is ending, and
        the sweeper of a surviving process puts the job back on the queue when its heartbeat stops."""
        if self._consumer is not None:
            self._consumer.stop(graceful=False)
            for _, thread in self._consumer.worker_threads:
                thread.join(timeout=2.0)
            self._consumer = None
        with self._lock:
            idle = [r for r in self._all_runtimes if not r.thread.is_alive()]
            self._all_runtimes = [r for r in self._all_runtimes if r.thread.is_alive()]
        for runtime in idle:
            runtime.close()


def run_worker(settings: Settings, threads: int) -> None:
    """``roadshow worker``: run jobs until SIGINT or SIGTERM (blocking; the caller's main thread)."""
    queue = JobQueue(settings)
    sweeper = threading.Thread(target=_sweep_in_thread, args=(settings, queue), name="job-sweeper", daemon=True)
    sweeper.start()
    consumer = Consumer(queue.huey, workers=threads, worker_type="thread", periodic=False, initial_delay=0.05,
                        max_delay=0.5, backoff=1.5)
    try:
        consumer.run()
    finally:
        queue.stop_embedded()


def _sweep_in_thread(settings: Settings, queue: JobQueue) -> None:
    from api.db.engine import engine_for, session_factory

    async def main() -> None:
        engine = engine_for(settings)
        try:
            await sweep_forever(session_factory(engine), queue)
        finally:
            await engine.dispose()

    asyncio.run(main())


class WorkerRuntime:
    """One worker thread's event loop, engine and loaded models, reused from job to job."""

    def __init__(self, settings: Settings) -> None:
        from api.db.engine import engine_for, session_factory
        from api.services.models import ModelStore

        self.settings = settings
        self.thread = threading.current_thread()
        self.runner = asyncio.Runner()
        self.engine: AsyncEngine = engine_for(settings)
        self.sessions = session_factory(self.engine)
        self.models = ModelStore(self.sessions, refresh_seconds=settings.model_refresh_seconds)

    def run(self, job_id: str) -> None:
        self.runner.run(execute(job_id, self))

    def close(self) -> None:
        try:
            self.runner.run(self.engine.dispose())
        finally:
            self.runner.close()


async def _claim(sessions: async_sessionmaker[AsyncSession], job_id: str) -> ScheduleJob | None:
    async with sessions() as session, session.begin():
        now = utcnow()
        claimed = await session.execute(
            update(ScheduleJob)
            .where(ScheduleJob.job_id == job_id, ScheduleJob.status == "queued")
            .values(status="running", attempts=ScheduleJob.attempts + 1, started_at=now, heartbeat_at=now,
                    progress={"stage": "starting"})
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # done, failed, or running elsewhere: a duplicate message
        return await session.get(ScheduleJob, job_id)


async def _beat(sessions: async_sessionmaker[AsyncSession], context: JobContext) -> None:
    while True:
        await asyncio.sleep(context.settings.job_lease_seconds / BEATS_PER_LEASE)
        try:
            async with sessions() as session, session.begin():
                await session.execute(
                    update(ScheduleJob)
                    .where(ScheduleJob.job_id == context.job_id, ScheduleJob.status == "running")
                    .values(heartbeat_at=utcnow(), progress=dict(context.progress))
                )
        except Exception:  # a missed beat is retried; the lease is several beats long
            logger.warning("heartbeat of job %s failed", context.job_id, exc_info=True)


async def finish(
    sessions: async_sessionmaker[AsyncSession], job_id: str, result: dict[str, Any] | None, error: dict[str, Any] | None
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(ScheduleJob)
            .where(ScheduleJob.job_id == job_id, ScheduleJob.status == "running")
            .values(status="done" if error is None else "failed", result=result, error=error,
                    finished_at=utcnow(), progress={"stage": "done" if error is None else "failed"})
        )


async def execute(job_id: str, runtime: WorkerRuntime) -> None:
    """Claim the job, run its handler with a heartbeat, record the outcome."""
    job = await _claim(runtime.sessions, job_id)
    if job is None:
        return
    context = JobContext(job.job_id, job.kind, job.event_id, dict(job.params), runtime.sessions, runtime.settings,
                         runtime)
    beat = asyncio.get_running_loop().create_task(_beat(runtime.sessions, context))
    try:
        result = await handler_for(job.kind)(context)
    except MatcherError as exc:
        await finish(runtime.sessions, job_id, None, domain_body(exc)[1])
    except Exception:
        logger.exception("job %s (%s) failed", job_id, job.kind)
        await finish(runtime.sessions, job_id, None, problem_body(500, "Internal error", "internal", "the job failed"))
    else:
        await finish(runtime.sessions, job_id, result, None)
    finally:
        beat.cancel()


# --- the sweeper ---------------------------------------------------------------------------------


async def sweep(sessions: async_sessionmaker[AsyncSession], queue: JobQueue) -> dict[str, int]:
    """Requeue or fail jobs whose worker died; requeue queued jobs the queue may never have seen."""
    now = utcnow()
    lost_before = now - timedelta(seconds=queue.settings.job_lease_seconds)
    requeue_before = now - timedelta(seconds=REQUEUE_SECONDS)
    counts = {"retried": 0, "failed": 0, "requeued": 0}
    async with sessions() as session, session.begin():
        rows = (
            await session.scalars(
                select(ScheduleJob).where(
                    or_(
                        and_(ScheduleJob.status == "running", ScheduleJob.heartbeat_at < lost_before),
                        and_(ScheduleJob.status == "queued", ScheduleJob.heartbeat_at < requeue_before),
                    )
                )
            )
        ).all()
        wake: list[str] = []
        for job in rows:
            if job.status == "queued":
                job.heartbeat_at = now
                counts["requeued"] += 1
                wake.append(job.job_id)
            elif job.attempts < MAX_ATTEMPTS:
                job.status, job.heartbeat_at = "queued", now
                job.progress = {"stage": "retrying", "reason": "the worker stopped during the job"}
                counts["retried"] += 1
                wake.append(job.job_id)
            else:
                job.status, job.finished_at = "failed", now
                job.error = problem_body(
                    503,
                    "Interrupted",
                    "interrupted",
                    f"the worker stopped during the job, {job.attempts} time(s); run it again",
                )
                counts["failed"] += 1
    for job_id in wake:
        queue.enqueue(job_id)
    if any(counts.values()):
        logger.warning("job sweep: %s", counts)
    return counts


async def sweep_forever(sessions: async_sessionmaker[AsyncSession], queue: JobQueue) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await sweep(sessions, queue)
        except Exception:
            logger.warning("job sweep failed", exc_info=True)


async def wait_for(sessions: async_sessionmaker[AsyncSession], job_id: str, seconds: float) -> ScheduleJob:
    """The job once it is done or failed, or as it is after ``seconds``."""
    deadline = time.monotonic() + seconds
    delay = 0.02
    while True:
        async with sessions() as session, session.begin():
            job = await session.get(ScheduleJob, job_id)
        if job is None or job.status not in ACTIVE or time.monotonic() >= deadline:
            assert job is not None
            return job
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)
