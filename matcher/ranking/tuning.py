"""The default ranker: it tunes itself on the data it is given, as a careful analyst would on a new market.

Up to three validation periods are carved from the history before the as-of date (rolling origin: each
the next-latest fifth of the interactions, at least 30 days long and leaving at least 60 days before it).
For each, the components are fitted on interactions before the period's start and rank the startups
that engaged investors inside it: the boosted trees, recency-weighted popularity at every half-life of
``HALF_LIVES``, sector popularity, all-time popularity and the declared-preference rule. A candidate is
each baseline alone, or a mixture: the trees' percentile scores with 0–70 % recency-weighted popularity
(one half-life) and 0–30 % sector popularity. Every component is mapped to percentiles of its own
scores first, so the weights mean the same on any market, and all candidates reuse the same fitted
components: the tuning costs one fit of the trees per period. Startups with history and startups
without it (warm, cold) are chosen for separately, because the signals that work differ: a new startup
has no co-investors and often no profile, where popularity is hard to beat.

The choice, per segment, by validation NDCG@``k`` (one value per validation startup; ``k`` is the K the
lists are judged at) is the consensus of the best candidates, never below the best baseline — see
:func:`choose`. On the benchmark's real-data protocols a single validation winner did not carry to the
test period; the mean of the best twenty's weights did (``bench/results/ranking.md``).

A segment with fewer than ``min_targets`` validation startups takes the choice made on all of them;
with fewer than that overall only the baselines compete, and with no validation at all the model is
popularity (declared preferences when there is no history). The chosen configurations are then refitted
on everything before the as-of date. Nothing on or after the as-of date is read: the data are cut there
before anything else happens.

A fitted model's choice can also be refitted at another date without tuning again
(:meth:`LearnedRecommender.refit`): a retrain's gate judges a self-tuned champion as its backtest's
choice fitted as stale as the champion is (``matcher.ranking.champion``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from matcher.features.pairs import DECAY_HALF_LIFE_DAYS, HALF_LIVES, FeaturizerCache, FloatArray, IntArray, StartupBlock
from matcher.io import DataSet
from matcher.ranking.base import PairRecommender
from matcher.ranking.baselines import (
    DeclaredPreferenceRecommender,
    PopularityRecommender,
    RecentPopularityRecommender,
    SameListRecommender,
    SectorPopularityRecommender,
)
from matcher.ranking.learned import BoostedRecommender
from matcher.ranking.metrics import relevant_pairs

_SIMPLE: dict[str, type[PairRecommender]] = {
    cls.name: cls for cls in (PopularityRecommender, RecentPopularityRecommender, SectorPopularityRecommender,
                              DeclaredPreferenceRecommender)
}
Key = tuple[str, tuple[tuple[str, Any], ...]]  # a component: model name and its parameters, sorted
# The boosted configurations a mixture may lean on: (label, parameters). Larger trees, popularity-aware
# negatives and fewer feature families were tried too; on the benchmark's real-data protocols mixing them
# in did not carry from validation to test and cost a fit each (bench/results/ranking.md, notes/rankq.md).
BOOSTED_CONFIGS: tuple[tuple[str, dict[str, Any]], ...] = (("boosted", {}),)
# Weights of recency-weighted popularity (each half-life of ``HALF_LIVES``) and of sector popularity mixed
# into the trees' percentiles; the trees keep the rest.
RECENT_WEIGHTS: tuple[float, ...] = (0.0, 0.15, 0.3, 0.5, 0.7)
SECTOR_WEIGHTS: tuple[float, ...] = (0.0, 0.15, 0.3)
# The chosen mixture is the mean of the weights of this many best candidates on validation: the single best
# of ~60 close candidates is mostly noise, their consensus less so.
TOP_AVERAGED = 20
SEGMENTS: tuple[str, ...] = ("cold", "warm")
_PAIRS_PER_CHUNK = 500_000
_SECTOR: Key = ("sector_popularity", ())


def _key(model: str, params: dict[str, Any] | None = None) -> Key:
    return model, tuple(sorted((params or {}).items()))


def _recent_key(half_life: float) -> Key:
    return _key("recent_popularity", {"half_life": half_life})


def _component_label(key: Key) -> str:
    model, params = key
    if model == "recent_popularity":
        return f"recent popularity ({dict(params)['half_life']:g} d)"
    if model in _SIMPLE:
        return model.replace("_", " ")
    return next((label for label, p in BOOSTED_CONFIGS if _key("boosted", p) == key), model)


def _fit_component(key: Key, data: DataSet, as_of: date, cache: FeaturizerCache,
                   window_startups: int | None, *, seed: int) -> PairRecommender:
    model, params = key
    if model in _SIMPLE:
        return _SIMPLE[model](**dict(params)).fit(data, as_of, cache=cache)
    budget = {} if window_startups is None else {"max_window_startups": window_startups}
    return BoostedRecommender(**{**dict(params), **budget, "seed": seed}).fit(data, as_of, cache=cache)


def _percentiles(model: PairRecommender, raw: NDArray[np.floating], inv_rows: IntArray,
                 warm: NDArray[np.bool_]) -> NDArray[np.float64]:
    """A component's raw scores as percentiles of its own per-group (investor, bank) and per-segment
    (warm, cold) reference distributions, so components on different scales can be mixed. ``raw`` is
    either pairs (one investor row and one warm flag each) or a grid (rows × ``inv_rows``, a warm flag
    per row). A pair the component did not score (NaN: outside a two-stage model's candidates) counts 0."""
    out = np.zeros(raw.shape, dtype=np.float64)
    for group, members in model._group_rows().items():
        cols = np.isin(inv_rows, members)
        if not cols.any():
            continue
        if raw.ndim == 1:
            out[cols] = model._calibrate(raw[cols], group, warm[cols])
        else:
            out[:, cols] = model._calibrate(raw[:, cols], group, warm[:, None])
    return np.nan_to_num(out, nan=0.0)


class Ensemble(PairRecommender):
    """``Σ weight · percentile(component)``: fitted components sharing one featurizer (boosted trees,
    recency-weighted and sector popularity), each score mapped through its own calibration first so the
    weights mean what they say. Built from fitted parts; not a model to fit on its own."""

    name = "ensemble"

    def __init__(self, parts: Sequence[tuple[PairRecommender, float]] = ()) -> None:
        super().__init__(max_text_features=parts[0][0].max_text_features if parts else 10000)
        self.weights_ = [float(w) for _, w in parts]
        # One attribute per part, not a list: ``with_current`` rebinds every part that shares the featurizer.
        for j, (model, _) in enumerate(parts):
            setattr(self, f"part_{j}_", model)
        if parts:
            self.featurizer_, self.as_of_ = parts[0][0].featurizer_, parts[0][0].as_of_

    def _members(self) -> list[tuple[PairRecommender, float]]:
        return [(getattr(self, f"part_{j}_"), w) for j, w in enumerate(self.weights_)]

    def _score(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray) -> FloatArray:
        warm = block.fit_row[s_rows] >= 0
        total = np.zeros(len(s_rows), dtype=np.float64)
        for model, w in self._members():
            total += w * _percentiles(model, model._score(block, s_rows, inv_rows, feats), inv_rows, warm)
        return total.astype(np.float32)

    def _tiebreaker(self) -> PairRecommender | None:
        return next((model for model, _ in self._members() if isinstance(model, BoostedRecommender)), None)

    def _score_grid(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, per_startup: bool) -> FloatArray:
        warm = block.fit_row[s_rows] >= 0
        total = np.zeros((len(s_rows), len(inv_rows)), dtype=np.float64)
        for model, w in self._members():
            if isinstance(model, SameListRecommender):
                # One list for every startup, one reference for warm and cold: one row, broadcast.
                row = _percentiles(model, model._scores(inv_rows)[None, :], inv_rows, np.ones(1, dtype=bool))
                total += w * row
            else:
                total += w * _percentiles(model, model._score_grid(block, s_rows, inv_rows, per_startup), inv_rows,
                                          warm)
        return total.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One configuration: components (``Key``) and their weights, summing to 1. ``rank`` orders candidates
    from simplest (single baselines first)."""

    label: str
    parts: tuple[tuple[Key, float], ...]
    rank: int = 0

    @property
    def model(self) -> str:
        """The single baseline this is, or ``boosted`` when trees take part (``ensemble`` otherwise)."""
        if len(self.parts) == 1 and self.parts[0][0][0] in _SIMPLE:
            return self.parts[0][0][0]
        return "boosted" if any(key[0] == "boosted" for key, _ in self.parts) else "ensemble"

    @property
    def keys(self) -> list[Key]:
        return [key for key, _ in self.parts]

    def fitted(self, data: DataSet, as_of: date, cache: FeaturizerCache, bases: dict[Key, PairRecommender],
               window_startups: int | None = None, *, seed: int = 0) -> PairRecommender:
        """This configuration fitted before ``as_of``, reusing (and adding to) ``bases``, the fitted
        components by key. ``window_startups`` caps the startups per training window of boosted trees;
        ``seed`` draws their negatives."""
        for key in self.keys:
            if key not in bases:
                bases[key] = _fit_component(key, data, as_of, cache, window_startups, seed=seed)
        if len(self.parts) == 1:
            return bases[self.parts[0][0]]
        model = Ensemble([(bases[key], w) for key, w in self.parts])
        model._fit_calibration(data)
        return model


def _mixture(weights: dict[Key, float], rank: int = 0) -> Candidate:
    parts = tuple(sorted(((k, round(w, 4)) for k, w in weights.items() if w > 1e-9), key=lambda p: -p[1]))
    total = sum(w for _, w in parts)
    parts = tuple((k, w / total) for k, w in parts)
    if len(parts) == 1:
        model, params = parts[0][0]
        label = model if model != "recent_popularity" or dict(params)["half_life"] == DECAY_HALF_LIFE_DAYS \
            else f"recent_popularity, half-life {dict(params)['half_life']:g} d"
        return Candidate(label if model in _SIMPLE else _component_label(parts[0][0]), parts, rank)
    # A weight under half a percent still counts; "0%" would read as if the part were not there.
    return Candidate(" + ".join(f"{w:.0%} {_component_label(k)}" if w >= 0.005 else f"<1% {_component_label(k)}"
                                for k, w in parts), parts, rank)


def candidates(data: DataSet | None = None) -> list[Candidate]:
    """Every configuration tried, simplest first: each baseline alone (recency-weighted popularity at
    every half-life), then the boosted trees (each configuration, and both averaged) mixed with recent
    and sector popularity. Without declared preferences anywhere in ``data`` the declared-preference
    rule is plain popularity and is left out."""
    declares = data is None or _declares_anything(data)
    singles = [_key("popularity"), *(_recent_key(h) for h in HALF_LIVES), _SECTOR]
    if declares:
        singles.append(_key("declared"))
    out = [_mixture({key: 1.0}) for key in singles]
    trees = [{_key("boosted", p): 1.0} for _, p in BOOSTED_CONFIGS]
    trees.append({_key("boosted", p): 1.0 / len(BOOSTED_CONFIGS) for _, p in BOOSTED_CONFIGS})
    seen = {c.parts for c in out}
    for base in trees:
        for h in HALF_LIVES:
            for wr in RECENT_WEIGHTS:
                for ws in SECTOR_WEIGHTS:
                    weights = {k: v * (1 - wr - ws) for k, v in base.items()}
                    weights[_recent_key(h)] = wr
                    weights[_SECTOR] = ws
                    c = _mixture(weights)
                    if c.parts not in seen:
                        seen.add(c.parts)
                        out.append(c)
    return [Candidate(c.label, c.parts, r) for r, c in enumerate(out)]


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
class _Fold:
    """One validation period: each component's percentile grid (validation startups × investors, as
    ``_percentiles`` makes them: each group scored on its own, as a served list is), the pairs seen before
    the cut-off, graded gains of the pairs engaged in the period, and which startups were cold at the cut-off."""

    grids: dict[Key, NDArray[np.float32]]
    seen: NDArray[np.bool_]
    gains: NDArray[np.float32]
    cold: NDArray[np.bool_]

    def ndcg(self, c: Candidate, k: int) -> FloatArray:
        scores = np.zeros(self.gains.shape, dtype=np.float32)
        for key, w in c.parts:
            scores += np.float32(w) * self.grids[key]
        return _ndcg_rows(np.where(self.seen, -np.inf, scores), self.gains, k)


def _validate(data: DataSet, cutoff: date, keys: list[Key], *, seed: int, cache: FeaturizerCache,
              max_targets: int, window_startups: int) -> _Fold:
    truth = relevant_pairs(data, cutoff)
    targets = truth["startup_id"].unique().sort()
    if len(targets) > max_targets:
        # A fixed-seed sample bounds the tuning cost on big markets; the standard errors account for it.
        targets = targets.sample(max_targets, seed=seed).sort()
        truth = truth.filter(pl.col("startup_id").is_in(targets.implode()))
    models = {key: _fit_component(key, data, cutoff, cache, window_startups, seed=seed) for key in keys}
    any_model = next(iter(models.values()))
    f = any_model.featurizer_
    block = any_model._block(data, targets.to_list(), "targets")
    n_items = len(f.investor_ids_)
    s_index = {v: i for i, v in enumerate(block.ids.tolist())}
    gains = np.zeros((len(block), n_items), dtype=np.float32)
    gains[truth["startup_id"].replace_strict(s_index, return_dtype=pl.Int64).to_numpy(),
          truth["investor_id"].replace_strict(f.investor_index_, return_dtype=pl.Int64).to_numpy()] = \
        truth["gain"].to_numpy().astype(np.float32)
    grids = {key: np.zeros((len(block), n_items), dtype=np.float32) for key in keys}
    warm = block.fit_row >= 0
    chunk = max(1, _PAIRS_PER_CHUNK // max(n_items, 1))
    for start in range(0, len(block), chunk):
        rows = np.arange(start, min(start + chunk, len(block)))
        for key, model in models.items():
            for members in model._group_rows().values():
                if len(members):
                    raw = model._score_grid(block, rows, members, per_startup=True)
                    grids[key][np.ix_(rows, members)] = _percentiles(model, raw, members, warm[rows])
    seen = any_model._seen(block).toarray() > 0
    return _Fold(grids, seen, gains, block.fit_row < 0)


def choose(scores: dict[str, np.ndarray], cands: list[Candidate],
           evaluate: Callable[[Candidate], np.ndarray] | None = None,
           top: int = TOP_AVERAGED) -> tuple[Candidate, np.ndarray, dict[str, float]]:
    """The choice over per-target validation NDCG arrays (same targets), never below the best baseline:

    1. without ``evaluate`` (only baselines compete), the best baseline, the simplest on ties;
    2. otherwise the mean of the weights of the ``top`` best candidates — a consensus, steadier from
       validation to test than any single winner (averaging only those within one standard error of
       the best did worse on the benchmark's rolling protocol) — scored by ``evaluate``; should it fall
       below the best baseline, it is shrunk toward that baseline (3/4, 1/2, 1/4 of the consensus) as
       little as needed to reach it, and is that baseline when nothing does.

    Returns the choice, its per-target NDCG and, per candidate label, the standard error of its paired
    difference from the best candidate."""
    means = {c.label: float(scores[c.label].mean()) for c in cands}
    baselines = [c for c in cands if c.model in _SIMPLE]
    floor = max(means[c.label] for c in baselines)
    ranked = sorted(cands, key=lambda c: (-means[c.label], c.rank))
    best = ranked[0]
    n = len(scores[best.label])
    se = {c.label: float(np.std(scores[best.label] - scores[c.label], ddof=1) / np.sqrt(n)) if n > 1 else 0.0
          for c in cands}
    baseline = min((c for c in baselines if means[c.label] >= floor), key=lambda c: c.rank)
    if evaluate is None:
        return baseline, scores[baseline.label], se
    consensus: dict[Key, float] = {}
    for c in ranked[:top]:
        for key, w in c.parts:
            consensus[key] = consensus.get(key, 0.0) + w / min(top, len(ranked))
    for share in (1.0, 0.75, 0.5, 0.25):
        weights = {key: share * w for key, w in consensus.items()}
        for key, w in baseline.parts:
            weights[key] = weights.get(key, 0.0) + (1 - share) * w
        mixture = _mixture(weights, rank=len(cands))
        known = next((c for c in cands if c.parts == mixture.parts), None)
        if known is not None:
            if means[known.label] >= floor:
                return known, scores[known.label], se
            continue
        mixed = evaluate(mixture)
        if float(mixed.mean()) >= floor:
            return mixture, mixed, se
    return baseline, scores[baseline.label], se


@dataclass(slots=True)
class TuningResult:
    """What the tuning chose and why: ``table`` has, per segment, a row for every baseline, for each
    candidate the choice averaged and for the choice: validation targets, mean NDCG, standard error of
    the paired difference from the segment's best, and ``chosen``. ``cutoffs``: starts of the validation
    periods (latest first; empty when there was too little history)."""

    cutoffs: list[date]
    k: int
    chosen: dict[str, Candidate]
    table: pl.DataFrame
    note: str
    tuned_before: date  # the tuning read only interactions before this day


_TABLE_SCHEMA = {"segment": pl.Utf8, "candidate": pl.Utf8, "targets": pl.Int64, "ndcg": pl.Float64,
                 "se": pl.Float64, "chosen": pl.Boolean}


def tune(data: DataSet, as_of: date, *, k: int = 20, min_targets: int = 15, enough_targets: int = 1000,
         max_targets: int = 1500, window_startups: int = 1500, folds: int = 3, seed: int = 0,
         cache: FeaturizerCache | None = None) -> TuningResult:
    """Choose a configuration per segment (cold, warm) on validation periods before ``as_of``, by NDCG@``k``.

    Up to ``folds`` validation periods (rolling origin), an earlier one added while the later ones hold
    fewer than ``enough_targets`` startups: small markets need every startup they have to tell candidates
    apart. Big markets are tuned on samples — at most ``max_targets`` validation startups per period and
    ``window_startups`` per training window of the trees — and the choice refitted in full. ``seed`` draws
    those samples and the trees' negatives."""
    data = _restrict(data, as_of)
    cache = cache if cache is not None else FeaturizerCache(data)
    cands = candidates(data)
    simple_only = [c for c in cands if c.model in _SIMPLE]
    empty = pl.DataFrame(schema=_TABLE_SCHEMA)

    def fallback(cutoffs: list[date], why: str) -> TuningResult:
        simple = "popularity" if not data.interactions.is_empty() else "declared"
        pick = next(c for c in cands if c.label == simple)
        return TuningResult(cutoffs, k, dict.fromkeys(SEGMENTS, pick), empty, f"{why}: {simple}", as_of)

    periods: list[tuple[date, DataSet]] = []
    cutoffs: list[date] = []
    n_targets = 0
    end = as_of
    for cutoff in validation_cutoffs(data.interactions, as_of, folds=folds):
        fold = _restrict(data, end)
        fold_targets = relevant_pairs(fold, cutoff)["startup_id"].n_unique()
        cutoffs.append(cutoff)
        if fold_targets:  # a period in which nobody engaged has nothing to rank
            periods.append((cutoff, fold))
            n_targets += fold_targets
        end = cutoff
        if n_targets >= enough_targets:
            break
    if not cutoffs:
        return fallback(cutoffs, "too little history for a validation split")
    if n_targets == 0:
        return fallback(cutoffs, "no startup engaged an investor in the validation periods")
    tried = cands if n_targets >= min_targets else simple_only
    keys = list(dict.fromkeys(key for c in tried for key in c.keys))
    parts = [_validate(fold, cutoff, keys, seed=seed, cache=cache, max_targets=max_targets,
                       window_startups=window_startups) for cutoff, fold in periods]

    def ndcg_of(c: Candidate) -> np.ndarray:
        return np.concatenate([p.ndcg(c, k) for p in parts])

    ndcg = {c.label: ndcg_of(c) for c in tried}
    cold = np.concatenate([p.cold for p in parts])
    rows: list[dict[str, Any]] = []
    chosen: dict[str, Candidate] = {}
    notes = []
    whole = ndcg_of if tried is not simple_only else None
    pooled = choose(ndcg, tried, whole)
    for segment in ("all", *SEGMENTS):
        mask = np.ones(len(cold), bool) if segment == "all" else cold == (segment == "cold")
        n = int(mask.sum())
        if segment == "all":
            pick, pick_ndcg, se = pooled
        elif n >= min_targets:
            def segment_ndcg(c: Candidate, m: NDArray[np.bool_] = mask) -> np.ndarray:
                return ndcg_of(c)[m]

            pick, pick_ndcg, se = choose({label: v[mask] for label, v in ndcg.items()}, tried,
                                         segment_ndcg if whole is not None else None)
        else:
            pick, pick_ndcg, se = pooled[0], pooled[1][mask], {c.label: float("nan") for c in tried}
            notes.append(f"{segment}: {n} validation startups (< {min_targets}), takes the pooled choice")
        if segment != "all":
            chosen[segment] = pick
        means = {c.label: float(ndcg[c.label][mask].mean()) if n else float("nan") for c in tried}
        ranked = sorted((c for c in tried if c.model not in _SIMPLE), key=lambda c: (-means[c.label], c.rank))
        shown = [c for c in tried if c.model in _SIMPLE] + ranked[:TOP_AVERAGED]
        for c in shown:
            rows.append({"segment": segment, "candidate": c.label, "targets": n, "ndcg": means[c.label],
                         "se": se[c.label], "chosen": c.parts == pick.parts})
        if all(c.parts != pick.parts for c in shown):
            rows.append({"segment": segment, "candidate": pick.label, "targets": n,
                         "ndcg": float(pick_ndcg.mean()) if n else float("nan"), "se": float("nan"),
                         "chosen": True})
    if tried is simple_only:
        notes.append(f"{n_targets} validation startups (< {min_targets}): only the baselines compete")
    return TuningResult(cutoffs, k, chosen, pl.DataFrame(rows, schema=_TABLE_SCHEMA), "; ".join(notes), as_of)


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

    def _tiebreaker(self) -> PairRecommender | None:
        # The trees of either part: a popularity part (the cold startups' choice, often) ties many pairs.
        for model in (self.warm_model_, self.cold_model_):
            trees = model if isinstance(model, BoostedRecommender) else model._tiebreaker()
            if trees is not None:
                return trees
        return None

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
    :func:`tune` chose at NDCG@``k`` (the K the lists are cut at), refitted on everything before the as-of
    date. See the module docstring."""

    name = "learned"

    def __init__(self, *, k: int = 20, min_targets: int = 15, enough_targets: int = 1000, max_targets: int = 1500,
                 window_startups: int = 1500, folds: int = 3, seed: int = 0, max_text_features: int = 10000) -> None:
        super().__init__(max_text_features=max_text_features)
        self.k = k
        self.min_targets = min_targets
        self.enough_targets = enough_targets
        self.max_targets = max_targets
        self.window_startups = window_startups
        self.folds = folds
        self.seed = seed

    def _fit_model(self, data: DataSet, as_of: date, cache: FeaturizerCache) -> None:
        data = _restrict(data, as_of)
        result = tune(data, as_of, k=self.k, min_targets=self.min_targets, enough_targets=self.enough_targets,
                      max_targets=self.max_targets, window_startups=self.window_startups, folds=self.folds,
                      seed=self.seed, cache=cache)
        self.tuned_before_ = as_of.isoformat()
        self.cutoffs_ = [c.isoformat() for c in result.cutoffs]
        self.tuning_table_ = result.table.to_dicts()  # plain rows: skops files hold no polars frames
        self.tuning_note_ = result.note
        self.chosen_ = {segment: c.label for segment, c in result.chosen.items()}
        # Plain lists too: [model, {parameters}, weight] per component.
        self.chosen_parts_: dict[str, list[list[Any]]] = {segment: [[key[0], dict(key[1]), w] for key, w in c.parts]
                              for segment, c in result.chosen.items()}
        self._fit_choice(data, as_of, cache)

    def _fit_choice(self, data: DataSet, as_of: date, cache: FeaturizerCache) -> None:
        """The chosen configuration of each segment fitted before ``as_of`` (one model when both chose alike)."""
        chosen = self._chosen()
        bases: dict[Key, PairRecommender] = {}
        cold = chosen["cold"].fitted(data, as_of, cache, bases, seed=self.seed)
        same = chosen["warm"].parts == chosen["cold"].parts
        warm = cold if same else chosen["warm"].fitted(data, as_of, cache, bases, seed=self.seed)
        self._set_parts(cold, warm)

    def _chosen(self) -> dict[str, Candidate]:
        return {segment: Candidate(self.chosen_[segment], tuple((_key(m, p), float(w)) for m, p, w in parts))
                for segment, parts in self.chosen_parts_.items()}

    @property
    def tuned_before(self) -> date:
        """The day before which the choice was made: the fit's own date, or an earlier one after :meth:`refit`."""
        self._check_fitted()
        return date.fromisoformat(getattr(self, "tuned_before_", self.as_of_))  # files saved before refits: as_of

    def refit(self, data: DataSet, as_of: date, *, cache: FeaturizerCache | None = None) -> LearnedRecommender:
        """A new model of the configurations this one chose, fitted on everything before ``as_of`` without
        tuning again; its tuning report stays the one the choice was made on (``tuned_before``).

        A retrain's gate judges a self-tuned champion so, as its backtest's choice fitted as stale as the
        champion is: a second tuning, most of a fit's cost, is saved."""
        self._check_fitted()
        cache = cache if cache is not None else FeaturizerCache(data, self.max_text_features)
        model = copy.copy(self)  # the hyper-parameters and the record of the choice; every fitted part is new
        model.as_of_, model.featurizer_ = as_of.isoformat(), cache.at(as_of)
        model._fit_choice(_restrict(data, as_of), as_of, cache)
        model._fit_calibration(data)
        return model

    def tuning_report(self) -> TuningResult:
        """The validation table behind the choice (``roadshow evaluate`` prints it)."""
        self._check_fitted()
        return TuningResult([date.fromisoformat(c) for c in self.cutoffs_], self.k, self._chosen(),
                            pl.DataFrame(self.tuning_table_, schema=_TABLE_SCHEMA), self.tuning_note_,
                            self.tuned_before)
