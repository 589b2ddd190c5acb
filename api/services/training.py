"""Fit the ranking and eligibility models on the database and register them as a new version."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import ModelVersion
from api.services.frames import load_dataset
from matcher.eligibility import default_policy, train_pd_model
from matcher.errors import NotFittedError
from matcher.io import DataSet
from matcher.ranking import get_model


def _fit_and_save(data: DataSet, as_of: date, ranking_model: str, target: Path) -> tuple[Path, Path | None]:
    """Blocking work (run in a thread): fit both models and write them as skops files under ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    ranking = get_model(ranking_model).fit(data, as_of)
    ranking_path = target / "ranking.skops"
    ranking.save(ranking_path)
    return ranking_path, _fit_eligibility(data, as_of, target)


def _fit_eligibility(data: DataSet, as_of: date, target: Path) -> Path | None:
    """The PD model on the database's loan book, or None when it is too small (decisions use the prior)."""
    try:
        model = train_pd_model(data.startups, data.ip_assets, data.loans, as_of=as_of, policy=default_policy())
    except NotFittedError:
        return None
    return model.save(target / "eligibility.skops")


async def train(
    session: AsyncSession, *, model_dir: Path, as_of: date | None = None, ranking_model: str = "learned"
) -> ModelVersion:
    """Fit on everything in the database up to ``as_of`` (default today) and register a new version."""
    as_of = as_of or datetime.now(UTC).date()
    async with session.begin():
        data = await load_dataset(session)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = model_dir / f"{stamp}-{secrets.token_hex(3)}"
    ranking_path, eligibility_path = await asyncio.to_thread(_fit_and_save, data, as_of, ranking_model, target)
    async with session.begin():
        row = ModelVersion(
            ranking_model=ranking_model,
            ranking_path=str(ranking_path.resolve()),
            eligibility_path=str(eligibility_path.resolve()) if eligibility_path else None,
            trained_as_of=as_of,
        )
        session.add(row)
    return row
