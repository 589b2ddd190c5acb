"""Champion and challenger: is a newly fitted ranking model at least as good as the one serving?

Both are judged on the same temporal hold-out, the newest outcomes: every interaction on or after
``holdout_start`` (the day from which the newest ``share`` of the interactions before ``as_of`` lie).
Relevant pairs are those of ``relevant_pairs`` (``interested`` or stronger, graded, not seen before the
hold-out). What is judged is the way each version is made, on outcomes neither has seen:

- the challenger is its recipe (model name and parameters) fitted on the interactions before the hold-out;
- the champion is its saved model when it was fitted before the hold-out began (it has seen none of it),
  else its recipe refitted as stale at the hold-out as the champion is now: on the interactions before
  ``holdout_start - (as_of - trained_as_of)``. When that recipe is the self-tuning model's, as the
  challenger's is, the refit keeps the backtest's choice (``LearnedRecommender.refit``) instead of tuning
  again: a tuning is most of a fit's cost, and the retrain must fit in a minute on the medium world. The
  pair judged is then one configuration fitted fresh and fitted stale, both on data before the hold-out;
  the stale fit's configuration was chosen with the days between its date and the hold-out, which if
  anything favours the champion.

and the challenger that serves is its recipe fitted on everything before ``as_of`` (by the caller, beside
the judging: ``api.services.training`` fits it in a second process). The choice is the one the
registry makes, to serve a fresh fit or keep one ``as_of - trained_as_of`` older, replayed on outcomes
neither of the two judged models has seen. (Refitted before the hold-out itself, a champion of the same
recipe would be the challenger's own backtest, and every same-recipe retrain a tie by construction.) The
challenger is accepted when its NDCG@k is not below the champion's by more than ``tolerance``
(absolute). The default 0.02 is about one standard error of NDCG@10 on the hold-out of the sample world
(≈100 startups with a new positive outcome): a smaller margin would reject retrains for noise, a larger
one would let a real regression through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

import polars as pl

from matcher.features.pairs import FeaturizerCache
from matcher.io import DataSet
from matcher.ranking.base import PairRecommender
from matcher.ranking.metrics import mean_metrics, relevant_pairs
from matcher.ranking.tuning import LearnedRecommender

DEFAULT_TOLERANCE = 0.02
DEFAULT_HOLDOUT_SHARE = 0.2
DEFAULT_K = 10
Decision = Literal["first", "activated", "rejected", "forced", "pinned"]


@dataclass(frozen=True, slots=True)
class HoldoutScore:
    ndcg: float
    recall: float
    map: float
    targets: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the evaluation found and decided; ``to_dict`` is what the registry keeps with the version."""

    decision: Decision
    activate: bool
    reason: str
    k: int
    tolerance: float
    holdout_from: date | None
    challenger: HoldoutScore | None
    champion: HoldoutScore | None
    champion_version: int | None
    champion_refitted: bool
    # The date the judged champion was fitted before: its own fit's, or the refit's (as stale as it is now).
    champion_fitted_as_of: date | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("holdout_from", "champion_fitted_as_of"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def holdout_start(data: DataSet, as_of: date, share: float = DEFAULT_HOLDOUT_SHARE) -> date | None:
    """The first day of the newest ``share`` of the interactions before ``as_of`` (None when fewer than
    two distinct days of history leave nothing to hold out)."""
    days = data.interactions.filter(pl.col("occurred_on") < as_of)["occurred_on"].sort()
    if days.n_unique() < 2:
        return None
    start = days[min(int(len(days) * (1 - share)), len(days) - 1)]
    first = days[0]
    # At least one day of history before the hold-out, so the challenger has something to learn from.
    return max(start, first + timedelta(days=1)) if isinstance(start, date) else None


def _before(data: DataSet, as_of: date) -> DataSet:
    return replace(data, interactions=data.interactions.filter(pl.col("occurred_on") < as_of))


def score_on_holdout(
    model: PairRecommender, data: DataSet, start: date, as_of: date, k: int = DEFAULT_K
) -> HoldoutScore:
    """NDCG, recall and MAP at ``k`` of a fitted ``model`` on the outcomes from ``start`` to before ``as_of``."""
    truth = relevant_pairs(_before(data, as_of), start)
    targets = truth["startup_id"].unique().sort().to_list()
    if not targets:
        return HoldoutScore(0.0, 0.0, 0.0, 0)
    recs = model.recommend(data, targets, k=k)
    metrics = mean_metrics(
        recs.select(pl.col("startup_id").alias("target"), pl.col("investor_id").alias("item"), "rank"),
        truth.select(pl.col("startup_id").alias("target"), pl.col("investor_id").alias("item"), "gain"),
        k,
    )
    return HoldoutScore(metrics["ndcg"], metrics["recall"], metrics["map"], int(metrics["targets"]))


@dataclass(frozen=True, slots=True)
class Champion:
    """The version serving now: its number, whether an organiser pinned it, when its model was fitted,
    how to refit its recipe, and how to load its saved model."""

    version: int
    pinned: bool
    trained_as_of: date
    make: Callable[[], PairRecommender]
    load: Callable[[], PairRecommender]


def judge(
    data: DataSet,
    as_of: date,
    make_challenger: Callable[[], PairRecommender],
    champion: Champion | None,
    *,
    same_recipe: bool = False,
    force: bool = False,
    k: int = DEFAULT_K,
    tolerance: float = DEFAULT_TOLERANCE,
    share: float = DEFAULT_HOLDOUT_SHARE,
) -> Verdict:
    """Whether a challenger made by ``make_challenger`` replaces ``champion``, judged on ``data`` before
    ``as_of``. The challenger that serves, its recipe fitted on everything before ``as_of``, is the
    caller's to fit: it does not depend on the verdict, so it can be fitted beside it.

    ``same_recipe`` says the champion is made the same way, so its refit before the hold-out (when one
    is needed) is the challenger's and is not fitted twice."""
    start = holdout_start(data, as_of, share)
    challenger_score = champion_score = None
    champion_as_of: date | None = None
    refitted = False
    if start is not None:
        backtest = make_challenger()
        # One cache for the judged fits: the text model, the featurizers at shared dates and the training
        # pairs built at them.
        cache = FeaturizerCache(data, backtest.max_text_features)
        challenger_score = score_on_holdout(backtest.fit(data, start, cache=cache), data, start, as_of, k)
        if champion is not None:
            refitted = champion.trained_as_of > start
            if not refitted:
                champion_as_of = champion.trained_as_of
                champion_score = score_on_holdout(champion.load(), data, start, as_of, k)
            else:
                champion_as_of = start - max(as_of - champion.trained_as_of, timedelta(0))
                if same_recipe and champion_as_of == start:
                    champion_score = challenger_score  # the same recipe fitted on the same days: the same model
                elif same_recipe and isinstance(backtest, LearnedRecommender):
                    # The backtest's choice fitted as stale as the champion is: no second self-tuning.
                    champion_score = score_on_holdout(backtest.refit(data, champion_as_of, cache=cache),
                                                      data, start, as_of, k)
                else:
                    judged = champion.make()
                    shared = cache if judged.max_text_features == backtest.max_text_features else None
                    champion_score = score_on_holdout(judged.fit(data, champion_as_of, cache=shared),
                                                      data, start, as_of, k)
    decision, reason = _decide(champion, challenger_score, champion_score, force=force, tolerance=tolerance, k=k,
                               champion_as_of=champion_as_of)
    return Verdict(decision, decision in ("first", "activated", "forced"), reason, k, tolerance, start,
                   challenger_score, champion_score, champion.version if champion else None, refitted,
                   champion_as_of)


def _decide(champion: Champion | None, challenger: HoldoutScore | None, held: HoldoutScore | None, *,
            force: bool, tolerance: float, k: int, champion_as_of: date | None) -> tuple[Decision, str]:
    if champion is None:
        return "first", "no version was serving"
    if force:
        return "forced", f"activated on request (--force), replacing version {champion.version}"
    if challenger is None or held is None or challenger.targets == 0:
        return "rejected", f"no outcome to judge on yet; version {champion.version} keeps serving"
    margin = challenger.ndcg - held.ndcg
    fitted = f" fitted before {champion_as_of}" if champion_as_of else ""
    comparison = (f"NDCG@{k} {challenger.ndcg:.4f} against {held.ndcg:.4f} of version {champion.version}{fitted} "
                  f"on {challenger.targets} startups (tolerance {tolerance:g})")
    if margin < -tolerance:
        return "rejected", f"worse: {comparison}"
    if champion.pinned:
        return "pinned", f"not worse ({comparison}), but version {champion.version} is pinned"
    return "activated", f"not worse: {comparison}"
