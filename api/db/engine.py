"""Engine and session factory for any SQLAlchemy async URL (SQLite file by default, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from api.db.models import Base
from api.settings import DEFAULT_DATABASE_MAX_OVERFLOW, DEFAULT_DATABASE_POOL_SIZE, Settings


def engine_for(settings: Settings) -> AsyncEngine:
    """The engine of a service process or job worker: its URL, pool and SQL echo from the settings."""
    return create_engine(settings.database_url, echo=settings.echo_sql, pool_size=settings.database_pool_size,
                         max_overflow=settings.database_max_overflow)


def create_engine(database_url: str, *, echo: bool = False, pool_size: int = DEFAULT_DATABASE_POOL_SIZE,
                  max_overflow: int = DEFAULT_DATABASE_MAX_OVERFLOW) -> AsyncEngine:
    """``pool_size`` connections kept open, ``max_overflow`` more opened at a peak (``Settings.database_pool_size``)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, hide_parameters=True, pool_size=pool_size,
                                     max_overflow=max_overflow, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # SQL parameters never reach a log or an error message (they include key hashes and personal data).
    return create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"timeout": 5},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed during a write; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def create_all(engine: AsyncEngine) -> None:
    """Create every table (tests and first start of an embedded database; production uses Alembic)."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def drop_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
