"""Fixtures for the service's integration tests: the app on a fresh database per test, SQLite always
and PostgreSQL too when ``DATABASE_URL_TEST`` (or ``DATABASE_URL``) names one."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from api.app import create_app
from api.db.engine import create_all, drop_all
from api.services import frames, keys, training
from api.services.keys import Role
from api.settings import Settings
from api.state import STATE_KEY, ServiceState
from matcher.io import DataSet

T = TypeVar("T")


def postgres_test_url() -> str | None:
    url = os.environ.get("DATABASE_URL_TEST") or os.environ.get("DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def own_postgres_database(prefix: str = "roadshow_test") -> Iterator[str]:
    """The URL of a new PostgreSQL database, dropped afterwards (skips the test without PostgreSQL)."""
    base = postgres_test_url()
    if base is None:
        pytest.skip("PostgreSQL not configured: set DATABASE_URL_TEST=postgresql+asyncpg://user@host/db")
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own for this test session, dropped at the end, so runs never collide."""
    with own_postgres_database() as url:
        yield url


BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


class Api:
    """A running app with helpers to set up data through the service layer (on the app's own loop)."""

    def __init__(self, client: TestClient[Any]) -> None:
        self.client = client

    @property
    def state(self) -> ServiceState:
        state: ServiceState = self.client.app.state[STATE_KEY]
        return state

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        return self.client.blocking_portal.call(partial(fn, *args, **kwargs))

    def headers(
        self,
        role: Role | str,
        *,
        bank_id: str | None = None,
        startup_id: str | None = None,
        investor_id: str | None = None,
    ) -> dict[str, str]:
        async def make() -> str:
            async with self.state.sessions() as session:
                created = await keys.create_key(
                    session,
                    role=Role(role),
                    name=f"test {role}",
                    secret=self.state.settings.secret,
                    bank_id=bank_id,
                    startup_id=startup_id,
                    investor_id=investor_id,
                )
            return created.api_key

        return {"Authorization": f"Bearer {self.run(make)}"}

    def load(self, data: DataSet) -> dict[str, int]:
        async def work() -> dict[str, int]:
            async with self.state.sessions() as session:
                return await frames.import_dataset(session, data)

        return self.run(work)

    def train(self, ranking_model: str = "declared") -> int:
        async def work() -> int:
            async with self.state.sessions() as session:
                # Set-up registers the version and serves it (force), whatever its evaluation says.
                row = await training.train(
                    session, model_dir=self.state.settings.model_dir, ranking_model=ranking_model, force=True
                )
            await self.state.models.current(force=True)
            return row.version

        return self.run(work)


@pytest.fixture(params=BACKENDS)
def api_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
    return Settings(database_url=url, data_dir=tmp_path, model_dir=tmp_path / "models", model_refresh_seconds=0.0)


@pytest.fixture
def api(api_settings: Settings) -> Iterator[Api]:
    app = create_app(api_settings)
    with TestClient(app=app, raise_server_exceptions=False) as client:
        harness = Api(client)
        if api_settings.is_sqlite:
            harness.run(create_all, harness.state.engine)
        else:
            harness.run(drop_all, harness.state.engine)
            harness.run(create_all, harness.state.engine)
        yield harness


def wait_for_job(api: Api, job_id: str, headers: dict[str, str], seconds: float = 60.0) -> dict[str, Any]:
    """Poll ``GET /api/jobs/{id}`` until the job is done or failed (the queue's worker runs it)."""
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = api.client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def wait_for_queue(api: Api, seconds: float = 60.0) -> None:
    """Wait until no job is queued or running (the queue's worker runs them in its own threads)."""

    async def active() -> int:
        from sqlalchemy import func, select

        from api.db.models import ScheduleJob

        async with api.state.sessions() as session:
            query = select(func.count()).select_from(ScheduleJob).where(ScheduleJob.status.in_(("queued", "running")))
            return int(await session.scalar(query) or 0)

    deadline = time.monotonic() + seconds
    while api.run(active) and time.monotonic() < deadline:
        time.sleep(0.05)
