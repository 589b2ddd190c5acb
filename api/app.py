"""The app factory: one place wires settings, the database, auth, error mapping and controllers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.console import console_routes, template_config
from api.controllers.eligibility import EligibilityController
from api.controllers.events import EventController, JobController
from api.controllers.health import health_check
from api.controllers.investors import BankController, InvestorController, ProductController
from api.controllers.startups import StartupController
from api.db.engine import create_engine, session_factory
from api.docs import render_plugins
from api.errors import EXCEPTION_HANDLERS
from api.guards.auth import PrincipalCache, RegistrationLimiter, authentication_middleware, provide_principal
from api.services.jobs import JobRunner
from api.services.matches import MatchBook, warm
from api.services.models import ModelStore
from api.settings import Settings
from api.state import STATE_KEY, ServiceState, provide_session, provide_state


def create_app(settings: Settings) -> Litestar:
    engine = create_engine(settings.database_url, echo=settings.echo_sql)
    sessions = session_factory(engine)
    state = ServiceState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        principals=PrincipalCache(),
        registration_limiter=RegistrationLimiter(settings.registration_rate_per_minute),
        models=ModelStore(sessions, refresh_seconds=settings.model_refresh_seconds),
        jobs=JobRunner(),
        matches=MatchBook(),
    )

    # Each newly loaded model version ranks every startup in the background.
    state.models.on_swap = lambda models: state.jobs.spawn(warm(sessions, state.matches, models))

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state.jobs.shutdown()
            await engine.dispose()

    return Litestar(
        route_handlers=[
            health_check,
            StartupController,
            InvestorController,
            BankController,
            ProductController,
            EligibilityController,
            EventController,
            JobController,
            *console_routes(settings),
        ],
        template_config=template_config(),
        dependencies={
            "db": Provide(provide_session),
            "service": Provide(provide_state, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        middleware=[authentication_middleware()],
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


def app_from_env() -> Litestar:
    """The factory uvicorn calls in each worker process (``roadshow serve``)."""
    return create_app(Settings.from_env())
