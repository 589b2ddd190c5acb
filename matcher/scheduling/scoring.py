"""The one adapter from a ranking model to the scheduler's :data:`PairScorer` (CLI and service alike)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from numpy.typing import NDArray

from matcher.io import DataSet
from matcher.ranking import LearnedRecommender, PairRecommender, default_as_of
from matcher.scheduling.problem import Pair, PairScorer


def model_pair_scorer(model: PairRecommender, data: DataSet) -> PairScorer:
    """Scores pairs with a fitted ranking model over ``data`` (which holds the event's startups).

    A startup missing from ``data`` or an investor the model was not fitted on (registered after training)
    gets NaN: that pair stays unschedulable unless the event scores it."""
    known_investors = set(model.featurizer_.investor_ids_.tolist())
    known_startups = set(data.startups["startup_id"].to_list())

    def scorer(pairs: list[Pair]) -> NDArray[np.float64]:
        scores = np.full(len(pairs), np.nan)
        usable = [k for k, (s, i) in enumerate(pairs) if s in known_startups and i in known_investors]
        if usable:
            frame = pl.DataFrame([pairs[k] for k in usable], schema=["startup_id", "investor_id"], orient="row")
            scores[usable] = model.score_pairs(data, frame)
        return scores

    return scorer


def fitted_pair_scorer(data: DataSet, as_of: date | None = None) -> PairScorer:
    """Fit the learned ranker on ``data``'s interactions before ``as_of`` (default: the day after the last
    one) and score with it."""
    return model_pair_scorer(LearnedRecommender().fit(data, as_of or default_as_of(data)), data)
