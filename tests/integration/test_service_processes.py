"""Issue 12: the service as people run it, in real processes on loopback, killed with SIGKILL.

- ``kill -9`` of the server during concurrent registrations loses no acknowledged registration, and
  retries with the same ``Idempotency-Key`` create no second profile (SQLite and PostgreSQL);
- ``kill -9`` of the job worker (a separate ``roadshow worker``, or the one embedded in ``serve``) in
  the middle of a solve leaves no job "running": it is retried and finishes;
- two API processes on Redis let at most the configured number of registrations through for one
  client address, whatever ``X-Forwarded-For`` says, and a revoked key stops working in both within 2 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from api.db.engine import create_engine, session_factory
from api.db.migrate import upgrade
from api.services import frames, keys, training
from api.services.keys import Role
from api.settings import Settings
from matcher.io import DataSet, from_frames
from matcher.scheduling.generate import generate_event
from tests.factories import registration, service_world
from tests.integration.conftest import own_postgres_database, postgres_test_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for this test (a fresh PostgreSQL database, or a SQLite file)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'roadshow.db'}"
        return
    with own_postgres_database("roadshow_proc") as url:
        yield url


class Deployment:
    """``roadshow`` processes sharing one database, data directory and (optionally) Redis."""

    def __init__(self, tmp: Path, database_url: str, **env: str) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "ROADSHOW_DATA_DIR": str(tmp / "var"),
            "ROADSHOW_ENV": "development",
            "ROADSHOW_REGISTRATIONS_PER_MINUTE": "100000",
            "ROADSHOW_JOB_LEASE_SECONDS": "6",
            "ROADSHOW_REDIS_PREFIX": f"test12-{secrets.token_hex(4)}",
            **env,
        }
        if "REDIS_URL" not in env:
            # Without Redis the queue is the SQLite file and limits are per process: the embedded default.
            self.env.pop("REDIS_URL", None)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = tmp

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def setup(self, data: DataSet | None = None, *, train: bool = False) -> None:
        """Migrate, import ``data`` and fit a baseline model, in this process (faster than the CLI)."""
        settings = self.settings
        upgrade(settings.database_url)

        async def work() -> None:
            engine = create_engine(settings.database_url)
            try:
                async with session_factory(engine)() as session:
                    if data is not None:
                        await frames.import_dataset(session, data)
                    if train:
                        await training.train(session, model_dir=settings.model_dir, ranking_model="declared")
            finally:
                await engine.dispose()

        asyncio.run(work())

    def key(self, role: str = "organiser") -> dict[str, str]:
        settings = self.settings

        async def work() -> str:
            engine = create_engine(settings.database_url)
            try:
                async with session_factory(engine)() as session:
                    created = await keys.create_key(session, role=Role(role), name="test", secret=settings.secret)
                    return created.api_key
            finally:
                await engine.dispose()

        return {"Authorization": f"Bearer {asyncio.run(work())}"}

    def revoke(self, key_id: str) -> None:
        settings = self.settings

        async def work() -> None:
            engine = create_engine(settings.database_url)
            try:
                async with session_factory(engine)() as session:
                    await keys.revoke_key(session, key_id=key_id)
            finally:
                await engine.dispose()

        asyncio.run(work())

    def start(self, *args: str, wait: bool = True) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{args[0]}-{len(self.processes)}.log").open("wb")
        command = [sys.executable, "-m", "roadshow", *args]
        if args[0] == "serve":
            command += ["--port", str(self.port), "--no-access-log"]
        process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        if wait and args[0] == "serve":
            self.wait_healthy(process)
        return process

    def wait_healthy(self, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server exited before it was ready"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError("the server did not become ready")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    service = Deployment(tmp_path, database_url)
    # A baseline model, so that `serve` does not fit the learned one at its first start.
    service.setup(service_world(), train=True)
    try:
        yield service
    finally:
        service.stop()


def _register(base: str, key: str, index: int) -> str | None:
    """One registration with its idempotency key; the new startup's id, or None if not acknowledged."""
    body = registration(uscc=None, name=f"并发注册{index}")
    try:
        response = httpx.post(f"{base}/api/startups", json=body, headers={"Idempotency-Key": key}, timeout=60.0)
    except httpx.HTTPError:
        return None
    if response.status_code != 201:
        return None
    startup_id: str = response.json()["startup"]["startup_id"]
    return startup_id


def _all_startups(base: str, headers: dict[str, str]) -> list[str]:
    ids: list[str] = []
    while True:
        page = httpx.get(f"{base}/api/startups", params={"limit": 500, "offset": len(ids)}, headers=headers).json()
        ids += [s["startup_id"] for s in page["items"]]
        if len(ids) >= page["total"]:
            return ids


def test_kill_9_of_the_server_during_registrations_loses_nothing_acknowledged(deployment: Deployment) -> None:
    organiser = deployment.key()
    server = deployment.start("serve")
    before = set(_all_startups(deployment.base, organiser))
    keys = [f"reg-{k}-{secrets.token_hex(4)}" for k in range(100)]
    acknowledged: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {key: pool.submit(_register, deployment.base, key, k) for k, key in enumerate(keys)}
        while len([f for f in futures.values() if f.done()]) < 30:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)
        for key, future in futures.items():
            if (startup_id := future.result()) is not None:
                acknowledged[key] = startup_id
    server.wait()
    deployment.start("serve")
    stored = set(_all_startups(deployment.base, organiser)) - before
    assert len(acknowledged) >= 30
    assert set(acknowledged.values()) <= stored  # no acknowledged registration was lost
    # Every client retries what was not acknowledged: a committed-but-unanswered one is replayed, not doubled.
    with ThreadPoolExecutor(max_workers=8) as pool:
        retried = list(pool.map(lambda kv: (kv[1], _register(deployment.base, kv[1], kv[0])), enumerate(keys)))
    assert all(startup_id is not None for _, startup_id in retried)
    assert all(acknowledged[key] == startup_id for key, startup_id in retried if key in acknowledged)
    after = set(_all_startups(deployment.base, organiser)) - before
    assert len(after) == len(keys)  # one profile per registration, none twice


def _solve_event(deployment: Deployment, organiser: dict[str, str]) -> str:
    """A generated event over newly registered participants, big enough to solve for a few seconds."""
    event = generate_event(80, 30, 10, seed=3, event_id="kill-test")
    startups = pl.DataFrame({"startup_id": [p["startup_id"] for p in event["startups"]]}).with_columns(
        name=pl.col("startup_id")
    )
    investors = pl.DataFrame({"investor_id": [p["investor_id"] for p in event["investors"]]}).with_columns(
        name=pl.col("investor_id"), kind=pl.lit("vc")
    )
    deployment.setup(from_frames(startups=startups, investors=investors))
    created = httpx.post(f"{deployment.base}/api/events", json=event, headers=organiser, timeout=30.0)
    assert created.status_code == 201, created.text
    return str(event["event_id"])


def _job(deployment: Deployment, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    job: dict[str, Any] = httpx.get(f"{deployment.base}/api/jobs/{job_id}", headers=headers, timeout=10.0).json()
    return job


def _wait_status(deployment: Deployment, job_id: str, headers: dict[str, str], wanted: set[str],
                 timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(deployment, job_id, headers)
        if job["status"] in wanted:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {wanted}: {job}")


def test_kill_9_of_the_worker_mid_solve_leaves_no_job_running(deployment: Deployment, database_url: str) -> None:
    """On SQLite the embedded worker (``serve`` is killed); on PostgreSQL a separate ``roadshow worker``."""
    embedded = database_url.startswith("sqlite")
    organiser = deployment.key()
    server = deployment.start("serve", *([] if embedded else ["--no-job-worker"]))
    worker = server if embedded else deployment.start("worker")
    event_id = _solve_event(deployment, organiser)
    body = {"mode": "fair", "time_limit": 30, "background": True}
    accepted = httpx.post(f"{deployment.base}/api/events/{event_id}/schedule", json=body, headers=organiser)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job"]["job_id"]
    running = _wait_status(deployment, job_id, organiser, {"running"})
    assert running["attempts"] == 1 and running["progress"]
    # A re-plan posted during the solve is refused naming the running job; the job is not disturbed.
    raced = httpx.post(f"{deployment.base}/api/events/{event_id}/reschedule", json={"changes": {}},
                       headers=organiser)
    assert raced.status_code == 409 and raced.json()["job_id"] == job_id, raced.text
    time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    if embedded:
        deployment.start("serve")
    else:
        deployment.start("worker")
    done = _wait_status(deployment, job_id, organiser, {"done", "failed"}, timeout=180.0)
    assert done["status"] == "done", done
    assert done["attempts"] == 2 and done["result"]["meetings"] > 0
    meetings = httpx.get(f"{deployment.base}/api/events/{event_id}/meetings", headers=organiser).json()
    assert len(meetings) == done["result"]["meetings"]


def _key_id(service: Deployment, headers: dict[str, str]) -> str:
    settings = service.settings
    hashed = keys.hash_key(headers["Authorization"].removeprefix("Bearer "), settings.secret)

    async def work() -> str:
        from sqlalchemy import select

        from api.db.models import ApiKey

        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                return str(await session.scalar(select(ApiKey.key_id).where(ApiKey.key_hash == hashed)))
        finally:
            await engine.dispose()

    return asyncio.run(work())


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


@pytest.mark.postgres
def test_two_workers_on_redis_share_the_registration_limit(tmp_path: Path) -> None:
    redis_url = _redis_url()
    if redis_url is None or postgres_test_url() is None:
        pytest.skip("needs REDIS_URL (a reachable Redis) and DATABASE_URL_TEST (PostgreSQL)")
    with own_postgres_database("roadshow_rate") as url:
        _two_workers_share_the_limit(tmp_path, url, redis_url)


def _two_workers_share_the_limit(tmp_path: Path, url: str, redis_url: str) -> None:
    service = Deployment(tmp_path, url, REDIS_URL=redis_url, ROADSHOW_REGISTRATIONS_PER_MINUTE="20")
    try:
        service.setup()
        service.start("serve", "--workers", "2")
        with ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(
                lambda k: httpx.post(f"{service.base}/api/startups", json=registration(uscc=None, name=f"限流{k}"),
                                     headers={"X-Forwarded-For": f"203.0.113.{k % 250}"}, timeout=30.0).status_code,
                range(200),
            ))
        assert codes.count(201) == 20 and codes.count(429) == 180, sorted(set(codes))
        # A revoked key stops working in every process within 2 s (each caches keys for at most 2 s).
        organiser = service.key()
        with httpx.Client(base_url=service.base, headers=organiser) as client:
            assert {client.get("/api/startups").status_code for _ in range(20)} == {200}
            key_id = _key_id(service, organiser)
            service.revoke(key_id)
            time.sleep(2.2)
            assert {client.get("/api/startups").status_code for _ in range(40)} == {401}
    finally:
        service.stop()
