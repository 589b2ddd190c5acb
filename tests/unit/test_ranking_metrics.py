"""Ranking metrics (issue 3), checked against hand-computed values."""

from __future__ import annotations

import math

import polars as pl
import pytest

from matcher.ranking.metrics import mean_metrics, per_target_metrics


def _recs(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["target", "item", "rank"], orient="row")


def _truth(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"target": pl.Utf8, "item": pl.Utf8, "gain": pl.Float64}, orient="row")


def test_hand_computed_recall_ndcg_and_ap() -> None:
    recs = _recs([("s", "a", 1), ("s", "b", 2), ("s", "c", 3), ("t", "x", 1)])
    truth = _truth([("s", "b", 3.0), ("s", "c", 1.0), ("s", "z", 2.0), ("t", "y", 1.0)])
    per = {r["target"]: r for r in per_target_metrics(recs, truth, k=3).iter_rows(named=True)}
    assert per["s"]["recall"] == pytest.approx(2 / 3)
    dcg = 3 / math.log2(3) + 1 / math.log2(4)
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert per["s"]["ndcg"] == pytest.approx(dcg / idcg)
    assert per["s"]["ap"] == pytest.approx((1 / 2 + 2 / 3) / 3)
    assert per["t"]["recall"] == 0.0 and per["t"]["ndcg"] == 0.0
    means = mean_metrics(recs, truth, k=3)
    assert means["recall"] == pytest.approx(1 / 3)
    assert means["targets"] == 2


def test_cut_off_k_ignores_lower_ranks_and_perfect_ranking_scores_one() -> None:
    recs = _recs([("s", "a", 1), ("s", "b", 2)])
    truth = _truth([("s", "a", 2.0), ("s", "b", 1.0)])
    assert mean_metrics(recs, truth, k=1) == {"recall": 0.5, "ndcg": 1.0, "map": 1.0, "targets": 1.0}
    assert mean_metrics(recs, truth, k=2)["ndcg"] == pytest.approx(1.0)


def test_empty_truth_gives_zeros() -> None:
    assert mean_metrics(_recs([("s", "a", 1)]), _truth([]), k=5)["targets"] == 0.0
