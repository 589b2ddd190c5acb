from __future__ import annotations

from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from api.schemas.health import HealthRead
from api.services import health
from api.state import Service


@get("/health", tags=["health"], security=[], summary="Database and model status (no key needed)")
async def health_check(service: Service) -> Response[HealthRead]:
    report = await health.check(service)
    return Response(report, status_code=HTTP_200_OK if report.database.ok else HTTP_503_SERVICE_UNAVAILABLE)
