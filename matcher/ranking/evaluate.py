"""Temporal-split evaluation: fit on interactions before the as-of date, score the rankings against
outcomes on or after it, for the model and every baseline, cold and warm startups separately.

Relevant pairs are those with outcome ``interested`` or stronger on or after the date and no
interaction before it: recommendations exclude already-seen pairs, so counting them as relevant would
only cap every system's recall. A startup is *cold* when it had no interaction before the date.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from matcher.io import DataSet
from matcher.ranking.metrics import mean_metrics, relevant_pairs
from matcher.ranking.registry import MODELS, get_model
from matcher.ranking.tuning import LearnedRecommender, TuningResult

SEGMENTS: tuple[str, ...] = ("all", "cold", "warm")


@dataclass(slots=True)
class EvaluationReport:
    as_of: date
    k: int
    metrics: pl.DataFrame  # model, segment, targets, recall, ndcg, map, fit_seconds, recommend_seconds
    tuning: TuningResult | None = None  # what the default model chose on its validation split, and why

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"as_of": self.as_of.isoformat(), "k": self.k, "rows": self.metrics.to_dicts()}
        if self.tuning is not None:
            out["tuning"] = {
                "validation_cutoffs": [c.isoformat() for c in self.tuning.cutoffs],
                "k": self.tuning.k,
                "chosen": {segment: c.label for segment, c in self.tuning.chosen.items()},
                "note": self.tuning.note,
                "rows": self.tuning.table.to_dicts(),
            }
        return out


def evaluate(
    data: DataSet,
    as_of: date,
    *,
    k: int = 10,
    models: Sequence[str] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """Fit each named model (default: all) before ``as_of`` and score its top ``k`` per target startup;
    ``on_progress`` hears the step being started."""
    truth = relevant_pairs(data, as_of)
    targets = truth["startup_id"].unique().sort().to_list()
    truth_frame = truth.select(pl.col("startup_id").alias("target"), pl.col("investor_id").alias("item"), "gain",
                               "cold")
    rows: list[dict[str, Any]] = []
    tuning: TuningResult | None = None
    for name in models if models is not None else tuple(MODELS):
        given = (params or {}).get(name, {})
        # The self-tuning model tunes at the K it is judged at, unless told otherwise.
        model = get_model(name, **({"k": k} | given if name == "learned" else given))
        if on_progress is not None:
            on_progress(f"fitting and ranking with {name}")
        t0 = time.perf_counter()
        model.fit(data, as_of)
        t1 = time.perf_counter()
        if isinstance(model, LearnedRecommender):
            tuning = model.tuning_report()
        recs = model.recommend(data, targets, k=k) if targets else pl.DataFrame(
            schema={"startup_id": pl.Utf8, "investor_id": pl.Utf8, "rank": pl.Int64})
        t2 = time.perf_counter()
        rec_frame = recs.select(pl.col("startup_id").alias("target"), pl.col("investor_id").alias("item"), "rank")
        for segment in SEGMENTS:
            seg_truth = truth_frame if segment == "all" else truth_frame.filter(pl.col("cold") == (segment == "cold"))
            rows.append({"model": name, "segment": segment, **mean_metrics(rec_frame, seg_truth, k),
                         "fit_seconds": t1 - t0, "recommend_seconds": t2 - t1})
    metrics = pl.DataFrame(rows).with_columns(pl.col("targets").cast(pl.Int64))
    return EvaluationReport(as_of=as_of, k=k, metrics=metrics, tuning=tuning)
