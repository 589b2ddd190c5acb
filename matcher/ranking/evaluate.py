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

from matcher.domain import OUTCOME_STRENGTH, Outcome
from matcher.io import DataSet
from matcher.ranking.metrics import mean_metrics
from matcher.ranking.registry import MODELS, get_model

SEGMENTS: tuple[str, ...] = ("all", "cold", "warm")
_POSITIVE = OUTCOME_STRENGTH[Outcome.INTERESTED]


def relevant_pairs(data: DataSet, as_of: date) -> pl.DataFrame:
    """Ground truth: (startup_id, investor_id, gain, cold) for the period on or after ``as_of``."""
    strength = {o.value: float(s) for o, s in OUTCOME_STRENGTH.items()}
    before = data.interactions.filter(pl.col("occurred_on") < as_of)
    warm = before.select("startup_id").unique().with_columns(pl.lit(False).alias("cold"))
    return (
        data.interactions.filter(pl.col("occurred_on") >= as_of)
        .with_columns(pl.col("outcome").replace_strict(strength, return_dtype=pl.Float64).alias("strength"))
        .group_by("startup_id", "investor_id")
        .agg(pl.col("strength").max())
        .filter(pl.col("strength") >= _POSITIVE)
        .join(before.select("startup_id", "investor_id").unique(), on=["startup_id", "investor_id"], how="anti")
        .join(data.startups.select("startup_id"), on="startup_id", how="semi")
        .join(data.investors.select("investor_id"), on="investor_id", how="semi")
        .select("startup_id", "investor_id", (pl.col("strength") - _POSITIVE + 1).alias("gain"))
        .join(warm, on="startup_id", how="left")
        .with_columns(pl.col("cold").fill_null(True))
        .sort("startup_id", "investor_id")
    )


@dataclass(slots=True)
class EvaluationReport:
    as_of: date
    k: int
    metrics: pl.DataFrame  # model, segment, targets, recall, ndcg, map, fit_seconds, recommend_seconds

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "k": self.k, "rows": self.metrics.to_dicts()}


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
    for name in models if models is not None else tuple(MODELS):
        model = get_model(name, **(params or {}).get(name, {}))
        if on_progress is not None:
            on_progress(f"fitting and ranking with {name}")
        t0 = time.perf_counter()
        model.fit(data, as_of)
        t1 = time.perf_counter()
        recs = model.recommend(data, targets, k=k) if targets else pl.DataFrame(
            schema={"startup_id": pl.Utf8, "investor_id": pl.Utf8, "rank": pl.Int64})
        t2 = time.perf_counter()
        rec_frame = recs.select(pl.col("startup_id").alias("target"), pl.col("investor_id").alias("item"), "rank")
        for segment in SEGMENTS:
            seg_truth = truth_frame if segment == "all" else truth_frame.filter(pl.col("cold") == (segment == "cold"))
            rows.append({"model": name, "segment": segment, **mean_metrics(rec_frame, seg_truth, k),
                         "fit_seconds": t1 - t0, "recommend_seconds": t2 - t1})
    metrics = pl.DataFrame(rows).with_columns(pl.col("targets").cast(pl.Int64))
    return EvaluationReport(as_of=as_of, k=k, metrics=metrics)
