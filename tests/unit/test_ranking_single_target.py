"""Ranking one startup (the API's on-demand path) gives exactly the rows of a batch run (issue 3 speed).

One target takes shortcuts a batch does not (reasons formatted in Python, the stacked trees instead of
sklearn's per-tree loop, no reordering join), so each target's own top-k must equal its slice of a batch
over many targets: same investors, ranks, scores and reasons, in both languages."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from matcher.io import DataSet
from matcher.ranking import get_model
from matcher.ranking.base import PairRecommender
from matcher.ranking.learned import BoostedRecommender, binned
from tests.factories import RANKING_AS_OF, ranking_world, synthetic_world

SMALL_AS_OF = date(2025, 1, 1)


def _assert_singles_equal_batch(model: PairRecommender, data: DataSet, targets: list[str], k: int) -> None:
    batch = model.recommend(data, targets, k=k)
    assert batch["startup_id"].n_unique() == len(targets)
    for sid in targets:
        single = model.recommend(data, [sid], k=k)
        expected = batch.filter(pl.col("startup_id") == sid)
        assert single["investor_id"].to_list() == expected["investor_id"].to_list()
        assert single["rank"].to_list() == expected["rank"].to_list()
        np.testing.assert_allclose(single["score"].to_numpy(), expected["score"].to_numpy(), rtol=0, atol=1e-9)
        assert single["reasons"].to_list() == expected["reasons"].to_list()
        assert single["reasons_en"].to_list() == expected["reasons_en"].to_list()


@pytest.mark.parametrize("name", ["learned", "declared"])
def test_tiny_world_single_targets_equal_the_batch(name: str) -> None:
    data = ranking_world()
    model = get_model(name).fit(data, RANKING_AS_OF)
    # Enough targets for the batch to take the polars reasons path (more than 64 pairs).
    targets = data.startups["startup_id"].to_list()
    _assert_singles_equal_batch(model, data, targets, k=5)


@pytest.fixture(scope="module")
def small() -> tuple[BoostedRecommender, DataSet]:
    world: Any = synthetic_world()
    model = BoostedRecommender(max_iter=40).fit(world.data, SMALL_AS_OF)
    return model, world.data


def test_small_world_single_targets_equal_the_batch(small: tuple[BoostedRecommender, DataSet]) -> None:
    model, data = small
    ids = data.startups["startup_id"].to_list()
    # Spread over the file: startups with and without history, IP, ask or stage.
    targets = ids[:: max(1, len(ids) // 12)][:12]
    _assert_singles_equal_batch(model, data, targets, k=10)


def test_compiled_trees_equal_sklearn_probabilities(small: tuple[BoostedRecommender, DataSet], tmp_path: Path) -> None:
    model, _ = small
    scorer = model.scorer_
    assert scorer is not None and scorer._compiled is not None
    rng = np.random.default_rng(3)
    x = rng.normal(scale=3.0, size=(300, len(model.columns_)))
    x[rng.random(x.shape) < 0.2] = np.nan  # missing values follow each split's learned side
    expected = scorer.model_.predict_proba(binned(np.where(scorer.all_missing_, 0.0, x), scorer.bin_edges_))
    np.testing.assert_array_equal(scorer.predict_proba(x), expected)
    # The flattened trees are derived state: not written by save, rebuilt on load, same numbers.
    model.save(tmp_path / "model.skops")
    loaded = BoostedRecommender.load(tmp_path / "model.skops").scorer_
    assert loaded is not None and loaded._compiled is not None
    np.testing.assert_array_equal(loaded.predict_proba(x), expected)


def test_each_side_re_ranks_its_own_number_of_candidates(small: tuple[BoostedRecommender, DataSet]) -> None:
    """A startup's list re-ranks ``candidates`` investors with the trees, an investor's ``startup_candidates``
    startups; the rest of the grid is left unscored (NaN)."""
    model, data = small
    model = copy.copy(model)
    model.candidates, model.startup_candidates = 7, 5
    block = model._block(data, None, "targets")
    s_rows = np.arange(40)
    inv_rows = np.arange(len(model.featurizer_.investor_ids_))
    assert len(inv_rows) > 7
    for_startups = model._score_grid(block, s_rows, inv_rows, per_startup=True)
    assert (np.isfinite(for_startups).sum(axis=1) == 7).all()
    for_investors = model._score_grid(block, s_rows, inv_rows, per_startup=False)
    assert (np.isfinite(for_investors).sum(axis=0) == 5).all()
