"""The default ranker: it tunes itself on the data it is given, as a careful analyst would on a new market.

At fit time a validation cut-off ``t_v`` is carved from the history before the as-of date (the latest
fifth of the interactions, at least 30 days and leaving at least 60 days before it). A handful of
candidates are fitted on interactions before ``t_v`` and ranked for the startups that engaged investors
in ``[t_v, as_of)``: every simple baseline as it is, and the boosted trees in a few configurations
(negative sampling, tree size, feature families, how far to trust declared preferences), each also
blended with recency-weighted popularity. Startups with history and startups without it (warm, cold)
are chosen for separately, because the signals that work differ: a new startup has no co-investors and
often no profile, where popularity is hard to beat.

The choice, per segment, by validation NDCG@``k`` (one value per validation startup):

1. only candidates whose mean is at least the best baseline's are eligible, so the choice is never
   worse than the best baseline on validation;
2. among them, the simplest whose mean is within one paired standard error of the best eligible one
   (the standard error of the per-startup differences), so noise does not buy complexity.

A segment with fewer than ``min_targets`` validation startups takes the choice made on all of them;
with fewer than that overall only the baselines compete, and with no validation at all the model is
popularity (declared preferences when there is no history). The chosen configurations are then refitted
on everything before the as-of date. Nothing on or after the as-of date is read: the data are cut there
before anything else happens.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from matcher.features.pairs import FeaturizerCache, FloatArray, IntArray, StartupBlock
from matcher.io import DataSet
from matcher.ranking.base import PairRecommender
from matcher.ranking.baselines import (
    DeclaredPreferenceRecommender,
    PopularityRecommender,
    RecentPopularityRecommender,
    SectorPopularityRecommender,
)
from matcher.ranking.learned import BoostedRecommender
from matcher.ranking.metrics import relevant_pairs

_SIMPLE: dict[str, type[PairRecommender]] = {
    cls.name: cls for cls in (PopularityRecommender, RecentPopularityRecommender, SectorPopularityRecommender,
                              DeclaredPreferenceRecommender)
}
# The boosted configurations tried, simplest first: (label, parameters).
BOOSTED_CONFIGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("boosted", {}),
    ("boosted, popularity-aware negatives", {"popular_negatives": 0.5}),
    ("boosted, no declared preferences", {"families": ("learned", "text", "popularity", "cofinance", "startup")}),
    ("boosted, larger trees", {"max_leaf_nodes": 31, "min_samples_leaf": 40}),
)
# Weight of recency-weighted popularity blended in; a blend adds a part to its base, so it counts as more complex.
BLENDS: tuple[float, ...] = (0.0, 0.3, 0.6)
SEGMENTS: tuple[str, ...] = ("cold", "warm")
_PAIRS_PER_CHUNK = 500_000
_RECENT: tuple[str, tuple[tuple[str, Any], ...]] = ("recent_popularity", ())


class Blend(PairRecommender):
    """``(1 − weight) · base + weight · recency-weighted popularity``: how far to lean on what is
    busy lately. Wraps two fitted models that share one featurizer; not a model to fit on its own."""

    name = "blend"

    def __init__(self, base: PairRecommender, recent: PairRecommender, weight: float) -> None:
        super().__init__(max_text_features=base.max_text_features)
        self.base_ = base
        self.recent_ = recent
        self.weight = weight
        self.featurizer_ = base.featurizer_
        self.as_of_ = base.as_of_

    def _score(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray) -> FloatArray:
        return ((1 - self.weight) * self.base_._score(block, s_rows, inv_rows, feats)
                + self.weight * self.recent_._score(block, s_rows, inv_rows, feats)).astype(np.float32)

    def _score_grid(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, per_startup: bool) -> FloatArray:
        return ((1 - self.weight) * self.base_._score_grid(block, s_rows, inv_rows, per_startup)
                + self.weight * self.recent_._score_grid(block, s_rows, inv_rows, per_startup)).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One configuration: a base model (a baseline or boosted trees) and the weight of recency-weighted
    popularity blended into its scores. ``rank`` orders candidates from simplest."""

    label: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    blend: float = 0.0
    rank: int = 0

    @property
    def base_key(self) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return self.model, tuple(sorted(self.params.items()))

    def fitted(self, data: DataSet, as_of: date, cache: FeaturizerCache,
               bases: dict[tuple[str, tuple[tuple[str, Any], ...]], PairRecommender],
               window_startups: int | None = None) -> PairRecommender:
        """This configuration fitted before ``as_of``, reusing (and adding to) ``bases``, the fitted base
        models by ``base_key``: blends of one base cost one fit. Calibrated like any model.
        ``window_startups`` caps the startups per training window of boosted trees (validation fits)."""
        for key in (self.base_key, _RECENT):
            if key not in bases:
                if key[0] in _SIMPLE:
                    bases[key] = _SIMPLE[key[0]]().fit(data, as_of, cache=cache)
                else:
                    budget = {} if window_startups is None else {"max_window_startups": window_startups}
                    bases[key] = BoostedRecommender(**{**dict(key[1]), **budget}).fit(data, as_of, cache=cache)
        if self.blend == 0:
            return bases[self.base_key]
        blend = Blend(bases[self.base_key], bases[_RECENT], self.blend)
        blend._fit_calibration(data)
        return blend


def candidates(data: DataSet | None = None) -> list[Candidate]:
    """Every configuration tried, simplest first. Given ``data``, one that cannot differ from another on
    it is left out: without any declared preference, "no declared preferences" is plain "boosted"."""
    declares = data is None or _declares_anything(data)
    out = [Candidate(name, name) for name in _SIMPLE]
    for label, params in BOOSTED_CONFIGS:
        if "families" in params and "declared" not in params["families"] and not declares:
            continue
        for w in BLENDS:
            out.append(Candidate(label if w == 0 else f"{label} + {w:.0%} recent popularity", "boosted", params, w))
    return [Candidate(c.label, c.model, c.params, c.blend, r) for r, c in enumerate(out)]


def _declares_anything(data: DataSet) -> bool:
    inv = data.investors
    lists = [pl.col(c).list.len().fill_null(0) > 0 for c in ("sectors", "stages", "regions")]
    tickets = [pl.col(c).is_not_null() for c in ("ticket_min_wan", "ticket_max_wan")]
    return bool(inv.select(pl.any_horizontal(*lists, *tickets).any()).item()) if inv.height else False


def validation_cutoffs(interactions: pl.DataFrame, as_of: date, *, share: float = 0.2,
                       folds: int = 2) -> list[date]:
    """Starts of the validation periods, latest first: fold ``j`` validates on the ``j``-th latest
    ``share`` of the interactions before ``as_of`` (rolling origin). Each period is at least 30 days long
    and leaves at least 60 days of history before it; folds that cannot are dropped."""
    days = interactions.filter(pl.col("occurred_on") < as_of)["occurred_on"].sort()
    if days.is_empty():
        return []
    first = days[0]
    out: list[date] = []
    end = as_of
    for j in range(1, folds + 1):
        cut = days[min(len(days) - 1, int(len(days) * (1 - share * j)))]
        cut = min(cut, end - timedelta(days=30))
        if (cut - first).days < 60:
            break
        out.append(cut)
        end = cut
    return out


def _restrict(data: DataSet, as_of: date) -> DataSet:
    """The data as they were known the day before ``as_of``: interactions on or after it are dropped."""
    return replace(data, interactions=data.interactions.filter(pl.col("occurred_on") < as_of))


def _ndcg_rows(scores: FloatArray, gains: FloatArray, k: int) -> FloatArray:
    """NDCG@k per row of a (targets × items) score matrix against graded gains (−inf = not rankable)."""
    k_eff = min(k, scores.shape[1])
    top = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    picked = np.take_along_axis(gains, top, axis=1) * np.isfinite(np.take_along_axis(scores, top, axis=1))
    discount = 1.0 / np.log2(np.arange(2, k_eff + 2))
    dcg = picked @ discount
    ideal = -np.sort(-gains, axis=1)[:, :k_eff] @ discount
    return np.divide(dcg, ideal, out=np.zeros(len(dcg)), where=ideal > 0).astype(np.float64)


@dataclass(slots=True)
class _Validation:
    """Per-startup validation NDCG of every candidate, and which startups were cold at the cut-off."""

    ndcg: dict[str, np.ndarray]  # candidate label -> per-target NDCG
    cold: np.ndarray


class _GridMemo:
    """Raw score grids of one block of validation startups, each base model's computed once: blends of
    one base share its grid."""

    def __init__(self, bases: dict[tuple[str, tuple[tuple[str, Any], ...]], PairRecommender], block: StartupBlock,
                 rows: IntArray) -> None:
        self.bases, self.block, self.rows = bases, block, rows
        self.memo: dict[tuple[tuple[str, tuple[tuple[str, Any], ...]], bytes], FloatArray] = {}

    def raw(self, key: tuple[str, tuple[tuple[str, Any], ...]], inv_rows: IntArray) -> FloatArray:
        memo_key = (key, inv_rows.tobytes())
        if memo_key not in self.memo:
            self.memo[memo_key] = self.bases[key]._score_grid(self.block, self.rows, inv_rows, per_startup=True)
        return self.memo[memo_key]

    def grid(self, c: Candidate, inv_rows: IntArray) -> FloatArray:
        base = self.raw(c.base_key, inv_rows)
        return base if c.blend == 0 else ((1 - c.blend) * base + c.blend * self.raw(_RECENT, inv_rows))


def _validate(data: DataSet, cutoff: date, cands: list[Candidate], *, k: int, seed: int,
              cache: FeaturizerCache, max_targets: int, window_startups: int) -> _Validation:
    truth = relevant_pairs(data, cutoff)
    targets = truth["startup_id"].unique().sort()
    if len(targets) > max_targets:
        # A fixed-seed sample bounds the tuning cost on big markets; the standard errors account for it.
        targets = targets.sample(max_targets, seed=seed).sort()
        truth = truth.filter(pl.col("startup_id").is_in(targets.implode()))
    bases: dict[tuple[str, tuple[tuple[str, Any], ...]], PairRecommender] = {}
    models = {c.label: c.fitted(data, cutoff, cache, bases, window_startups) for c in cands}
    any_model = next(iter(models.values()))
    f = any_model.featurizer_
    block = any_model._block(data, targets.to_list(), "targets")
    seen = any_model._seen(block)
    s_index = {v: i for i, v in enumerate(block.ids.tolist())}
    gains = sp.csr_matrix(
        (truth["gain"].to_numpy().astype(np.float32),
         (truth["startup_id"].replace_strict(s_index, return_dtype=pl.Int64).to_numpy(),
          truth["investor_id"].replace_strict(f.investor_index_, return_dtype=pl.Int64).to_numpy())),
        shape=(len(block), len(f.investor_ids_)))
    n_items = len(f.investor_ids_)
    items = np.arange(n_items)
    chunk = max(1, _PAIRS_PER_CHUNK // max(n_items, 1))
    ndcg: dict[str, list[NDArray[np.float64]]] = {c.label: [] for c in cands}
    for start in range(0, len(block), chunk):
        rows = np.arange(start, min(start + chunk, len(block)))
        mask = seen[rows].toarray() > 0
        g = gains[rows].toarray()
        memo = _GridMemo(bases, block, rows)
        for c in cands:
            # Ranked exactly as a served list is (each kind scored on its own, then calibrated).
            scores = models[c.label]._list_scores(block, rows, items, functools.partial(memo.grid, c))
            ndcg[c.label].append(_ndcg_rows(np.where(np.isnan(scores) | mask, -np.inf, scores), g, k))
    cold = block.fit_row < 0
    return _Validation({label: np.concatenate(parts) for label, parts in ndcg.items()}, cold)


def choose(scores: dict[str, np.ndarray], cands: list[Candidate]) -> tuple[Candidate, dict[str, float]]:
    """The paired-standard-error rule of the module docstring over per-target NDCG arrays (same targets).
    Returns the choice and, per candidate label, the standard error of its difference from the best."""
    means = {c.label: float(scores[c.label].mean()) for c in cands}
    baselines = [c for c in cands if c.model in _SIMPLE]
    floor = max(means[c.label] for c in baselines)
    eligible = [c for c in cands if means[c.label] >= floor]
    best = max(eligible, key=lambda c: (means[c.label], -c.rank))
    n = len(scores[best.label])
    se = {c.label: float(np.std(scores[best.label] - scores[c.label], ddof=1) / np.sqrt(n)) if n > 1 else 0.0
          for c in cands}
    chosen = min((c for c in eligible if means[c.label] >= means[best.label] - se[c.label]), key=lambda c: c.rank)
    return chosen, se


@dataclass(slots=True)
class TuningResult:
    """What the tuning chose and why: ``table`` has one row per (segment, candidate): validation
    targets, mean NDCG, standard error of the paired difference from the segment's best, and ``chosen``.
    ``cutoffs``: starts of the validation periods (latest first; empty when there was too little history)."""

    cutoffs: list[date]
    k: int
    chosen: dict[str, Candidate]
    table: pl.DataFrame
    note: str


_TABLE_SCHEMA = {"segment": pl.Utf8, "candidate": pl.Utf8, "targets": pl.Int64, "ndcg": pl.Float64,
                 "se": pl.Float64, "chosen": pl.Boolean}


def tune(data: DataSet, as_of: date, *, k: int = 20, min_targets: int = 15, enough_targets: int = 1000,
         max_targets: int = 1500, window_startups: int = 1500, seed: int = 0,
         cache: FeaturizerCache | None = None) -> TuningResult:
    """Choose a configuration per segment (cold, warm) on validation periods before ``as_of``.

    A second, earlier validation fold (rolling origin) is added while the first holds fewer than
    ``enough_targets`` startups: small markets need every startup they have to tell candidates apart.
    Big markets are tuned on samples — at most ``max_targets`` validation startups per fold and
    ``window_startups`` per training window of the candidates' trees — and the choice refitted in full."""
    data = _restrict(data, as_of)
    cache = cache if cache is not None else FeaturizerCache(data)
    cands = candidates(data)
    simple_only = [c for c in cands if c.model in _SIMPLE]
    empty = pl.DataFrame(schema=_TABLE_SCHEMA)

    def fallback(cutoffs: list[date], why: str) -> TuningResult:
        simple = "popularity" if not data.interactions.is_empty() else "declared"
        pick = next(c for c in cands if c.model == simple)
        return TuningResult(cutoffs, k, dict.fromkeys(SEGMENTS, pick), empty, f"{why}: {simple}")

    folds: list[tuple[date, DataSet]] = []
    cutoffs: list[date] = []
    n_targets = 0
    end = as_of
    for cutoff in validation_cutoffs(data.interactions, as_of):
        fold = _restrict(data, end)
        fold_targets = relevant_pairs(fold, cutoff)["startup_id"].n_unique()
        cutoffs.append(cutoff)
        if fold_targets:  # a period in which nobody engaged has nothing to rank
            folds.append((cutoff, fold))
            n_targets += fold_targets
        end = cutoff
        if n_targets >= enough_targets:
            break
    if not cutoffs:
        return fallback(cutoffs, "too little history for a validation split")
    if n_targets == 0:
        return fallback(cutoffs, "no startup engaged an investor in the validation periods")
    tried = cands if n_targets >= min_targets else simple_only
    parts = [_validate(fold, cutoff, tried, k=k, seed=seed, cache=cache, max_targets=max_targets,
                       window_startups=window_startups) for cutoff, fold in folds]
    ndcg = {c.label: np.concatenate([p.ndcg[c.label] for p in parts]) for c in tried}
    cold = np.concatenate([p.cold for p in parts])
    rows: list[dict[str, Any]] = []
    chosen: dict[str, Candidate] = {}
    notes = []
    pooled, pooled_se = choose(ndcg, tried)
    for segment in ("all", *SEGMENTS):
        mask = np.ones(len(cold), bool) if segment == "all" else cold == (segment == "cold")
        n = int(mask.sum())
        if segment == "all":
            pick, se = pooled, pooled_se
        elif n >= min_targets:
            pick, se = choose({label: v[mask] for label, v in ndcg.items()}, tried)
        else:
            pick, se = pooled, {c.label: float("nan") for c in tried}
            notes.append(f"{segment}: {n} validation startups (< {min_targets}), takes the pooled choice")
        if segment != "all":
            chosen[segment] = pick
        for c in tried:
            rows.append({"segment": segment, "candidate": c.label, "targets": n,
                         "ndcg": float(ndcg[c.label][mask].mean()) if n else float("nan"),
                         "se": se[c.label], "chosen": c is pick})
    if tried is simple_only:
        notes.append(f"{n_targets} validation startups (< {min_targets}): only the baselines compete")
    return TuningResult(cutoffs, k, chosen, pl.DataFrame(rows, schema=_TABLE_SCHEMA), "; ".join(notes))


class SegmentedRecommender(PairRecommender):
    """One fitted model for startups without history before the as-of date, another for those with it
    (the same object when one model serves both); both share one featurizer."""

    name = "segmented"

    def __init__(self, cold: PairRecommender | None = None, warm: PairRecommender | None = None, *,
                 max_text_features: int = 10000) -> None:
        super().__init__(max_text_features=max_text_features)
        if cold is not None and warm is not None:
            self._set_parts(cold, warm)

    def _set_parts(self, cold: PairRecommender, warm: PairRecommender) -> None:
        # Attributes, not a dict: ``with_current`` rebinds every part that shares the featurizer.
        self.cold_model_, self.warm_model_ = cold, warm
        self.featurizer_, self.as_of_ = cold.featurizer_, cold.as_of_

    def _parts(self, block: StartupBlock, s_rows: IntArray) -> list[tuple[PairRecommender, NDArray[np.bool_]]]:
        if self.warm_model_ is self.cold_model_:
            return [(self.warm_model_, np.ones(len(s_rows), dtype=bool))]
        warm = block.fit_row[s_rows] >= 0
        return [(self.warm_model_, warm), (self.cold_model_, ~warm)]

    def _score(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray) -> FloatArray:
        out = np.zeros(len(s_rows), dtype=np.float32)
        for model, mask in self._parts(block, s_rows):
            if mask.any():
                out[mask] = model._score(block, s_rows[mask], inv_rows[mask], feats[mask])
        return out

    def _score_grid(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, per_startup: bool) -> FloatArray:
        out = np.full((len(s_rows), len(inv_rows)), np.nan, dtype=np.float32)
        for model, mask in self._parts(block, s_rows):
            if mask.any():
                out[mask] = model._score_grid(block, s_rows[mask], inv_rows, per_startup)
        return out


class LearnedRecommender(SegmentedRecommender):
    """The self-tuning default: per segment (startups with and without history) the configuration
    :func:`tune` chose, refitted on everything before the as-of date. See the module docstring."""

    name = "learned"

    def __init__(self, *, k: int = 20, min_targets: int = 15, enough_targets: int = 1000, max_targets: int = 1500,
                 window_startups: int = 1500, seed: int = 0, max_text_features: int = 10000) -> None:
        super().__init__(max_text_features=max_text_features)
        self.k = k
        self.min_targets = min_targets
        self.enough_targets = enough_targets
        self.max_targets = max_targets
        self.window_startups = window_startups
        self.seed = seed

    def _fit_model(self, data: DataSet, as_of: date, cache: FeaturizerCache) -> None:
        data = _restrict(data, as_of)
        result = tune(data, as_of, k=self.k, min_targets=self.min_targets, enough_targets=self.enough_targets,
                      max_targets=self.max_targets, window_startups=self.window_startups, seed=self.seed,
                      cache=cache)
        self.cutoffs_ = [c.isoformat() for c in result.cutoffs]
        self.tuning_table_ = result.table.to_dicts()  # plain rows: skops files hold no polars frames
        self.tuning_note_ = result.note
        self.chosen_ = {segment: c.label for segment, c in result.chosen.items()}
        bases: dict[tuple[str, tuple[tuple[str, Any], ...]], PairRecommender] = {}
        cold = result.chosen["cold"].fitted(data, as_of, cache, bases)
        warm = cold if result.chosen["warm"] == result.chosen["cold"] else \
            result.chosen["warm"].fitted(data, as_of, cache, bases)
        self._set_parts(cold, warm)

    def tuning_report(self) -> TuningResult:
        """The validation table behind the choice (``roadshow evaluate`` prints it)."""
        self._check_fitted()
        chosen = {segment: next(c for c in candidates() if c.label == label) for segment, label in self.chosen_.items()}
        return TuningResult([date.fromisoformat(c) for c in self.cutoffs_], self.k, chosen,
                            pl.DataFrame(self.tuning_table_, schema=_TABLE_SCHEMA), self.tuning_note_)
