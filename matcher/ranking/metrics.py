"""Ranking metrics at K over a recommendation list and graded ground truth.

``recs``: target, item, rank (1 = best). ``truth``: target, item, gain (> 0; graded by outcome strength:
interested 1, intent_signed 2, invested 3). Every metric is averaged over the targets in ``truth``; a
target with no recommendations scores 0.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from matcher.domain import OUTCOME_STRENGTH, Outcome
from matcher.io import DataSet

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


def per_target_metrics(recs: pl.DataFrame, truth: pl.DataFrame, k: int) -> pl.DataFrame:
    """One row per truth target: ``recall``, ``ndcg`` and ``ap`` at ``k``."""
    top = recs.filter(pl.col("rank") <= k).select("target", "item", "rank")
    hits = top.join(truth, on=["target", "item"], how="inner").sort("target", "rank")
    discount = 1.0 / (pl.col("rank").cast(pl.Float64) + 1.0).log(base=2)
    per_hit = hits.group_by("target").agg(
        pl.len().alias("n_hits"),
        (pl.col("gain") * discount).sum().alias("dcg"),
        # precision at each hit's rank, averaged over hits: the AP numerator
        ((pl.int_range(1, pl.len() + 1).cast(pl.Float64)) / pl.col("rank")).sum().alias("precision_sum"),
    )
    ideal = (
        truth.sort(["target", "gain"], descending=[False, True])
        .group_by("target", maintain_order=True)
        .agg(
            pl.len().alias("n_relevant"),
            (pl.col("gain").head(k) / (pl.int_range(2, pl.len().clip(upper_bound=k) + 2).cast(pl.Float64))
             .log(base=2)).sum().alias("idcg"),
        )
    )
    return ideal.join(per_hit, on="target", how="left").select(
        "target",
        "n_relevant",
        (pl.col("n_hits").fill_null(0) / pl.col("n_relevant")).alias("recall"),
        (pl.col("dcg").fill_null(0.0) / pl.col("idcg")).alias("ndcg"),
        (pl.col("precision_sum").fill_null(0.0) / pl.col("n_relevant").clip(upper_bound=k)).alias("ap"),
    )


def mean_metrics(recs: pl.DataFrame, truth: pl.DataFrame, k: int) -> dict[str, float]:
    """recall@k, ndcg@k and map@k averaged over the targets of ``truth`` (zeros when it is empty)."""
    per = per_target_metrics(recs, truth, k)
    if per.is_empty():
        return {"recall": 0.0, "ndcg": 0.0, "map": 0.0, "targets": 0.0}
    row = per.select(pl.col("recall").mean(), pl.col("ndcg").mean(), pl.col("ap").mean().alias("map")).row(0)
    return {"recall": float(row[0]), "ndcg": float(row[1]), "map": float(row[2]), "targets": float(len(per))}
