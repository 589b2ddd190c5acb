"""Model names the commands and the API accept; an unknown name is an error, never a silent default."""

from __future__ import annotations

from typing import Any

from matcher.errors import InvalidInputError
from matcher.ranking.base import PairRecommender
from matcher.ranking.baselines import (
    DeclaredPreferenceRecommender,
    PopularityRecommender,
    RandomRecommender,
    RecentPopularityRecommender,
    SectorPopularityRecommender,
)
from matcher.ranking.learned import BoostedRecommender
from matcher.ranking.tuning import LearnedRecommender

MODELS: dict[str, type[PairRecommender]] = {
    cls.name: cls
    for cls in (
        LearnedRecommender,
        BoostedRecommender,
        RandomRecommender,
        PopularityRecommender,
        RecentPopularityRecommender,
        SectorPopularityRecommender,
        DeclaredPreferenceRecommender,
    )
}
BASELINES: tuple[str, ...] = ("random", "popularity", "recent_popularity", "sector_popularity", "declared")


def get_model(name: str, **params: Any) -> PairRecommender:
    """A fresh, unfitted model by name; raises ``InvalidInputError`` for names not in ``MODELS``."""
    cls = MODELS.get(name)
    if cls is None:
        raise InvalidInputError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}", field="model")
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidInputError(f"bad parameters for model {name!r}: {exc}", field="model") from None
