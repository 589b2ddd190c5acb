"""The bridge between the database and the library: tables ↔ ``matcher.io.DataSet`` frames.

The service stores the interchange tables under their contract column names, so the ranking,
eligibility and scheduling code runs on exactly the frames the batch path reads from a directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Base, Consent, Event, Interaction, Investor, IPAsset, Loan, LoanProduct, Startup
from matcher.errors import ConflictError
from matcher.io import TABLES, DataSet, empty_frame, from_frames

MODELS: dict[str, type[Base]] = {
    "startups": Startup,
    "ip_assets": IPAsset,
    "investors": Investor,
    "interactions": Interaction,
    "loan_products": LoanProduct,
    "loans": Loan,
    "events": Event,
    "consents": Consent,
}
# Insert order respecting foreign keys.
IMPORT_ORDER = ("investors", "startups", "ip_assets", "events", "interactions", "loan_products", "loans", "consents")
_KEYS = {
    "startups": "startup_id",
    "investors": "investor_id",
    "loan_products": "product_id",
    "loans": "loan_id",
    "events": "event_id",
}


async def _frame(session: AsyncSession, table: str, startup_ids: Sequence[str] | None) -> pl.DataFrame:
    model = MODELS[table]
    schema = TABLES[table].schema
    columns = [getattr(model, name) for name in schema]
    query = select(*columns)
    if startup_ids is not None and table in ("startups", "ip_assets", "interactions", "loans", "consents"):
        query = query.where(model.startup_id.in_(list(startup_ids)))  # type: ignore[attr-defined]
    rows = (await session.execute(query)).all()
    if not rows:
        return empty_frame(table)
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


async def load_dataset(
    session: AsyncSession,
    *,
    tables: Iterable[str] | None = None,
    startup_ids: Sequence[str] | None = None,
) -> DataSet:
    """The database as a DataSet; ``tables`` limits which frames are read (others stay empty) and
    ``startup_ids`` limits the startup-keyed tables to those startups (the per-request path)."""
    wanted = tuple(tables) if tables is not None else tuple(MODELS)
    frames = {name: await _frame(session, name, startup_ids) for name in wanted}
    return from_frames(**frames)


async def is_empty(session: AsyncSession) -> bool:
    return not (await session.scalar(select(func.count()).select_from(Startup)) or 0) and not (
        await session.scalar(select(func.count()).select_from(Investor)) or 0
    )


async def import_dataset(session: AsyncSession, data: DataSet) -> dict[str, int]:
    """Insert every row of ``data`` in one transaction: all rows or, on any error, none.

    Ids already in the database are refused (ConflictError naming them) before anything is written."""
    try:
        return await _insert_all(session, data.frames())
    except IntegrityError as exc:
        # A constraint the file validation cannot see (e.g. one 统一社会信用代码 on two startups);
        # the transaction is already rolled back, so nothing was written.
        raise ConflictError(f"the data conflicts with itself or the database: {exc.orig}") from None


async def _insert_all(session: AsyncSession, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with session.begin():
        for table, key in _KEYS.items():
            ids = frames[table][key].to_list()
            if not ids:
                continue
            column = getattr(MODELS[table], key)
            taken: list[str] = []
            for start in range(0, len(ids), 5_000):
                chunk = ids[start : start + 5_000]
                taken += (await session.scalars(select(column).where(column.in_(chunk)))).all()
            if taken:
                shown = ", ".join(sorted(taken)[:5])
                raise ConflictError(f"{len(taken)} {table} id(s) already in the database: {shown}", field=key)
        for table in IMPORT_ORDER:
            frame = frames[table]
            if table == "ip_assets":
                frame = frame.with_columns(pl.col("status").fill_null("granted"))
            if table in ("investors", "loan_products"):
                frame = frame.with_columns(
                    [
                        pl.col(c).fill_null(pl.lit([], dtype=pl.List(pl.Utf8)))
                        for c in ("sectors", "stages", "regions")
                        if c in frame.columns
                    ]
                )
            if table == "investors":
                frame = frame.with_columns(pl.col("kind").fill_null("other"))
            rows = frame.to_dicts()
            for start in range(0, len(rows), 2_000):
                await session.execute(insert(MODELS[table]), rows[start : start + 2_000])
            counts[table] = len(rows)
        from api.services import tech_sme  # imports this module: a top-level import would be circular

        await tech_sme.refresh(session, frames["startups"]["startup_id"].to_list())
    return counts
