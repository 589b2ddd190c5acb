"""What one process of the service holds: settings, the engine, caches, the loaded models, the job queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.settings import Settings

if TYPE_CHECKING:
    from api.guards.auth import PrincipalCache
    from api.services.background import BackgroundTasks
    from api.services.jobs import JobQueue
    from api.services.matches import MatchBook
    from api.services.models import ModelStore

STATE_KEY = "service"


@dataclass(slots=True)
class ServiceState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    principals: PrincipalCache
    models: ModelStore
    jobs: BackgroundTasks
    queue: JobQueue
    matches: MatchBook

    @staticmethod
    def of(app: Litestar) -> ServiceState:
        state: ServiceState = app.state[STATE_KEY]
        return state


async def provide_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    async with ServiceState.of(request.app).sessions() as session:
        yield session


def provide_state(request: Request[Any, Any, Any]) -> ServiceState:
    return ServiceState.of(request.app)


# Handler parameter types: named dependencies that Litestar passes through without validating.
Db = NamedDependency[SkipValidation[AsyncSession]]
Service = NamedDependency[SkipValidation[ServiceState]]
