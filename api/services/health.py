from __future__ import annotations

from sqlalchemy import text

from api.schemas.health import DatabaseStatus, HealthRead, ModelStatus
from api.state import ServiceState


async def check(state: ServiceState) -> HealthRead:
    backend = state.engine.url.get_backend_name()
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        database = DatabaseStatus(ok=True, backend=backend)
    except Exception as exc:  # any driver error means "database down" to a probe
        database = DatabaseStatus(ok=False, backend=backend, error=type(exc).__name__)
    models = state.models.active
    if database.ok:
        models = await state.models.current()
    model = ModelStatus(
        loaded=models is not None,
        version=models.version if models else None,
        ranking=models.ranking_name if models else None,
        eligibility=models is not None and models.eligibility is not None,
        trained_as_of=models.trained_as_of if models else None,
        matches_ready=models is not None and state.matches.warmed_version == models.version,
        error=state.models.last_error,
    )
    return HealthRead(status="ok" if database.ok else "degraded", database=database, model=model)
