"""Ranking: one contract (``Recommender``) for the learned ranker and the baselines, evaluation, reasons."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from matcher.io import DataSet
from matcher.ranking.base import PairRecommender, Recommender
from matcher.ranking.evaluate import EvaluationReport, evaluate
from matcher.ranking.learned import BoostedRecommender, PairScorer
from matcher.ranking.metrics import relevant_pairs
from matcher.ranking.registry import BASELINES, MODELS, get_model
from matcher.ranking.tuning import LearnedRecommender, TuningResult, tune

__all__ = [
    "BASELINES",
    "MODELS",
    "BoostedRecommender",
    "EvaluationReport",
    "LearnedRecommender",
    "PairRecommender",
    "PairScorer",
    "Recommender",
    "TuningResult",
    "default_as_of",
    "evaluate",
    "get_model",
    "relevant_pairs",
    "score_pairs",
    "tune",
]


def default_as_of(data: DataSet) -> date:
    """The day after the last interaction (today when there is none): fit on all the history there is."""
    last = data.interactions["occurred_on"].max()
    return last + timedelta(days=1) if isinstance(last, date) else date.today()


def score_pairs(data: DataSet, pairs: pl.DataFrame, as_of: date | None = None) -> NDArray[np.float64]:
    """Fit the learned model on interactions before ``as_of`` (default: the day after the last one)
    and score the (startup_id, investor_id) pairs in [0, 1]."""
    return LearnedRecommender().fit(data, as_of or default_as_of(data)).score_pairs(data, pairs)
