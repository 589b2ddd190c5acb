"""Issue 9, speed: the service keeps enough database connections open for its concurrent requests.

With SQLAlchemy's default pool (5 kept, 10 more at a peak) eight /health probes beside eight investors'
lists opened and closed a connection on most requests; with aiosqlite each one starts and stops a thread,
and the event loop waits for the thread to start (py-spy on bench/lists.py's "health under 8 rankings").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event, text

from api.app import create_app
from api.db.engine import create_engine
from api.settings import Settings
from api.state import ServiceState
from matcher.errors import InvalidInputError

CONCURRENT = 16  # eight /health probes and eight investors' lists in flight (bench/lists.py)


def test_the_pool_size_is_a_setting_the_app_uses(tmp_path: Path) -> None:
    assert (Settings.from_env({}).database_pool_size, Settings.from_env({}).database_max_overflow) == (20, 10)
    settings = Settings.from_env({"ROADSHOW_DATA_DIR": str(tmp_path), "ROADSHOW_DATABASE_POOL_SIZE": "24",
                                  "ROADSHOW_DATABASE_MAX_OVERFLOW": "4"})
    pool = ServiceState.of(create_app(settings)).engine.pool
    assert (pool.size(), pool._max_overflow) == (24, 4)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError) as caught:
        Settings.from_env({"ROADSHOW_DATABASE_POOL_SIZE": "none"})
    assert caught.value.field == "ROADSHOW_DATABASE_POOL_SIZE"


def test_bursts_of_concurrent_requests_reuse_the_connections_they_opened(tmp_path: Path) -> None:
    settings = Settings.from_env({"ROADSHOW_DATA_DIR": str(tmp_path)})
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size,
                           max_overflow=settings.database_max_overflow)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda connection, _: opened.append(connection))

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0.01)  # all CONCURRENT hold a connection at once

    async def bursts() -> None:
        try:
            for _ in range(3):
                await asyncio.gather(*(probe() for _ in range(CONCURRENT)))
        finally:
            await engine.dispose()

    asyncio.run(bursts())
    # Each connection is opened once and serves every burst (the default pool, 5 + 10, opened 10 anew per burst).
    assert len(opened) == CONCURRENT
