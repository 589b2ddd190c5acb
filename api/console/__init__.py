"""The console: server-rendered pages in the same app, for the roadshow office, banks and startups.

Pages work without JavaScript for reading; one small static script (``static/console.js``) polls a solve's
progress and filters long pick lists. Every asset is served by the app (``/static``), nothing from a CDN,
no web fonts (the system's Chinese fonts). Pages are CSP-friendly: no inline script, handler or style.
Sign-in turns an API key into a signed session cookie (``api.console.session``); every form carries a
CSRF token (Litestar's double-submit middleware on this router only, since the API itself is cookie-free).
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from api.console import auth, desk, directory, imports, models, participants, results, roadshows
from api.console.pages import EXCEPTION_HANDLERS
from api.console.session import provide_viewer
from api.guards.auth import NO_AUTH
from api.settings import Settings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CSRF_COOKIE = "rs_csrf"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine)


def console_routes(settings: Settings) -> list[ControllerRouterHandler]:
    """The pages, ``GET /`` and the static files, each public to the API-key middleware (pages check
    their own session)."""
    # The CSRF cookie is no credential (it only has to match the form's copy), so it is not Secure-only:
    # a console served over plain http on an office network must still be able to sign in.
    csrf = CSRFConfig(secret=settings.secret, cookie_name=CSRF_COOKIE, cookie_httponly=True, cookie_samesite="strict")
    pages = Router(
        path="/",
        route_handlers=[*auth.HANDLERS, *directory.HANDLERS, *imports.HANDLERS, *roadshows.HANDLERS, *results.HANDLERS,
                        *models.HANDLERS, *desk.HANDLERS, *participants.HANDLERS],
        dependencies={"viewer": Provide(provide_viewer)},
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        exception_handlers=EXCEPTION_HANDLERS,
        opt={NO_AUTH: True},
        include_in_schema=False,
    )
    return [pages, *static_routes()]


def static_routes() -> list[ControllerRouterHandler]:
    from swagger_ui_bundle import swagger_ui_path

    cache = CacheControlHeader(max_age=3600, public=True)
    return [
        create_static_files_router(
            path="/static/console", directories=[STATIC], opt={NO_AUTH: True}, cache_control=cache,
            name="console-static",
        ),
        create_static_files_router(
            path="/static/swagger-ui", directories=[Path(str(swagger_ui_path))], opt={NO_AUTH: True},
            cache_control=cache, name="swagger-static",
        ),
    ]
