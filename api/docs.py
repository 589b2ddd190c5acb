"""The interactive API docs under ``/schema``, rendered offline: Swagger UI from the ``swagger-ui-bundle-v2``
distribution, served by the app (``/static/swagger-ui``), started by a static script. No CDN, no web
font, no validator badge, no inline script; the OpenAPI document itself is ``/schema/openapi.json``."""

from __future__ import annotations

import html
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin

SWAGGER = "/static/swagger-ui"


class OfflineSwaggerPlugin(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(
            path=["/", "/swagger"],
            favicon='<link rel="icon" type="image/svg+xml" href="/static/console/favicon.svg">',
            style="",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec = html.escape(self.get_openapi_json_route(request))
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{self.favicon}
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css">
<script src="{SWAGGER}/swagger-ui-bundle.js" defer></script>
<script src="{SWAGGER}/swagger-ui-standalone-preset.js" defer></script>
<script src="/static/console/swagger-init.js" defer></script>
</head><body><div id="swagger-ui" data-spec-url="{spec}"></div></body></html>
""".encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    return [OfflineSwaggerPlugin(), JsonRenderPlugin()]
