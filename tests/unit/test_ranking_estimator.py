"""The pair scorer is a good scikit-learn citizen (issue 3)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from matcher.ranking.learned import PairScorer, binned


@parametrize_with_checks([PairScorer(max_iter=10)])
def test_pair_scorer_passes_sklearn_checks(estimator: Any, check: Any) -> None:
    check(estimator)


def test_binning_before_the_trees_gives_scikit_learns_own_trees_with_weights() -> None:
    # The scorer bins columns itself (scikit-learn's weighted binning is slow); the trees must not change.
    rng = np.random.default_rng(4)
    n, d = 4000, 6
    x = rng.normal(size=(n, d))
    x[rng.random((n, d)) < 0.25] = np.nan
    x[:, 2] = rng.integers(0, 4, n)  # few distinct values: kept as they are
    y = (rng.random(n) < 1 / (1 + np.exp(-np.nan_to_num(x[:, 0]) - x[:, 2]))).astype(int)
    w = rng.choice([0.0, 0.5, 1.0, 3.0], n)
    ours = PairScorer(max_iter=30).fit(x, y, sample_weight=w)
    reference = HistGradientBoostingClassifier(
        max_iter=30, learning_rate=0.08, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=1.0,
        early_stopping=False, random_state=0,
    ).fit(x, y, sample_weight=w)
    assert ours.bin_edges_[2] is None and ours.bin_edges_[0] is not None
    test = rng.normal(size=(3000, d))
    test[rng.random((3000, d)) < 0.25] = np.nan
    test[:, 2] = rng.integers(0, 5, 3000)  # a category the training never saw
    expected = reference.predict_proba(test)[:, 1]
    np.testing.assert_allclose(ours.predict_proba(test)[:, 1], expected, atol=1e-12)  # scikit-learn's path
    np.testing.assert_allclose(ours.predict_proba(test[:50])[:, 1], expected[:50], atol=1e-12)  # compiled


def test_binned_keeps_missing_values_and_maps_values_as_scikit_learn_does() -> None:
    x = np.array([[np.nan], [0.5], [1.0], [1.5], [9.0]])
    edges = [np.array([1.0, 2.0])]
    np.testing.assert_array_equal(binned(x, edges)[:, 0], [np.nan, 0.0, 0.0, 1.0, 2.0])
    assert binned(x, [None]) is x
