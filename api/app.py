"""The app factory: one place wires settings, the database, auth, error mapping and controllers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from api.access_log import AccessLogMiddleware, log_response
from api.console import console_routes, template_config
from api.controllers.eligibility import EligibilityController
from api.controllers.events import EventController, JobController
from api.controllers.health import health_check
from api.controllers.imports import ImportController
from api.controllers.investors import BankController, InvestorController, ProductController
from api.controllers.keys import KeyController
from api.controllers.models import ModelController
from api.controllers.participants import (
    EventWishesController,
    MeController,
    OutcomeController,
    ParticipantController,
)
from api.controllers.results import EventResultsController, ResultsController
from api.controllers.startups import StartupController
from api.db.engine import engine_for, session_factory
from api.docs import render_plugins
from api.errors import EXCEPTION_HANDLERS
from api.guards.auth import PrincipalCache, authentication_middleware, provide_principal
from api.guards.headers import security_headers
from api.guards.limits import BodyLimitsMiddleware
from api.guards.rate_limit import RATE_LIMIT_STORE, registration_limits
from api.services.background import BackgroundTasks
from api.services.compute import Compute
from api.services.jobs import JobQueue, sweep_forever
from api.services.matches import MatchBook, warm
from api.services.models import ModelStore
from api.settings import Settings
from api.state import STATE_KEY, ServiceState, provide_session, provide_state

logger = logging.getLogger("api")


def create_app(settings: Settings) -> Litestar:
    engine = engine_for(settings)
    sessions = session_factory(engine)
    state = ServiceState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        principals=PrincipalCache(),
        models=ModelStore(sessions, refresh_seconds=settings.model_refresh_seconds),
        jobs=BackgroundTasks(),
        queue=JobQueue(settings),
        matches=MatchBook(Compute(settings.ranking_processes, settings.ranking_niceness)),
    )

    # Each newly loaded model version ranks every startup in the background.
    state.models.on_swap = lambda models: state.jobs.spawn(warm(sessions, state.matches, models))

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if settings.uses_development_secret:
            logger.warning(
                "ROADSHOW_SECRET is not set: keys are hashed with the development secret; "
                "set ROADSHOW_SECRET and ROADSHOW_ENV=production before real use"
            )
        if settings.embedded_worker:
            # The embedded default: this process also runs the queue's worker (same code as `roadshow worker`).
            state.queue.start_embedded(settings.job_threads)
        sweeper = asyncio.get_running_loop().create_task(sweep_forever(sessions, state.queue))
        try:
            yield
        finally:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
            await state.jobs.shutdown()
            await asyncio.to_thread(state.queue.stop_embedded)
            await asyncio.to_thread(state.matches.compute.shutdown)
            await engine.dispose()

    return Litestar(
        route_handlers=[
            health_check,
            StartupController,
            InvestorController,
            ImportController,
            BankController,
            ProductController,
            EligibilityController,
            EventController,
            JobController,
            KeyController,
            MeController,
            ParticipantController,
            EventWishesController,
            OutcomeController,
            ResultsController,
            EventResultsController,
            ModelController,
            *console_routes(settings),
        ],
        template_config=template_config(),
        dependencies={
            "db": Provide(provide_session),
            "service": Provide(provide_state, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        # Outermost first: time the request, check the body, know the caller, then count registrations.
        middleware=[
            AccessLogMiddleware(),
            BodyLimitsMiddleware(),
            authentication_middleware(),
            *registration_limits(
                anonymous_per_minute=settings.registration_rate_per_minute,
                staff_per_minute=settings.key_rate_per_minute,
            ),
        ],
        before_send=[security_headers, log_response],
        stores={RATE_LIMIT_STORE: _rate_limit_store(settings)},
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        state=State({STATE_KEY: state}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Roadshow Matcher",
            version="0.1.0",
            description="Matching, scheduling and credit eligibility for the 智造莲城 roadshows.",
            path="/schema",
            components=Components(
                security_schemes={"apiKey": SecurityScheme(type="http", scheme="bearer", description="API key")}
            ),
            security=[{"apiKey": []}],
            render_plugins=render_plugins(),
        ),
        debug=False,
    )


def _rate_limit_store(settings: Settings) -> Store:
    """Shared by every process through Redis when configured; per process in memory otherwise."""
    if settings.redis_url:
        return RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_prefix}:rate")
    return MemoryStore()


def app_from_env() -> Litestar:
    """The factory uvicorn calls in each worker process (``roadshow serve``)."""
    return create_app(Settings.from_env())
