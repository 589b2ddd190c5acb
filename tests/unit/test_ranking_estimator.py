"""The pair scorer is a good scikit-learn citizen (issue 3)."""

from __future__ import annotations

from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from matcher.ranking.learned import PairScorer


@parametrize_with_checks([PairScorer(max_iter=10)])
def test_pair_scorer_passes_sklearn_checks(estimator: Any, check: Any) -> None:
    check(estimator)
