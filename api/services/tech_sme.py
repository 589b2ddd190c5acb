"""The tech-SME (科技型中小企业) status kept on each profile, so organisers can filter on it.

It is the library's evaluation (policy file, as of today) of the stored profile and IP, refreshed in
the same transaction as every write that can change it: registration, profile edits and imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Startup
from api.services.frames import load_dataset
from matcher.eligibility import default_policy, tech_sme_frame


async def refresh(session: AsyncSession, startup_ids: Sequence[str]) -> None:
    """Re-evaluate these startups (inside the caller's transaction, after its writes are flushed)."""
    if not startup_ids:
        return
    await session.flush()
    data = await load_dataset(session, tables=("startups", "ip_assets"), startup_ids=list(startup_ids))
    status = tech_sme_frame(data.startups, data.ip_assets, as_of=datetime.now(UTC).date(), policy=default_policy())
    for qualified in (True, False):
        ids = status.filter(status["tech_sme_qualified"] == qualified)["startup_id"].to_list()
        for start in range(0, len(ids), 5_000):
            await session.execute(
                update(Startup)
                .where(Startup.startup_id.in_(ids[start : start + 5_000]))
                .values(tech_sme_qualified=qualified)
                # Not an edit by anyone: keep the profile's version (and its optimistic lock) unchanged.
                .execution_options(synchronize_session=False),
            )
