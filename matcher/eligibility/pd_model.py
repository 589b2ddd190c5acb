"""Calibrated probability of default (PD) of a firm for a loan, fitted on whatever loan book is given.

What a fit does, on the labelled loans issued before the as-of date (``loan_features.training_set``):

1. **Keeps the features that carry information here.** A column empty in every row, constant, excluded
   by the caller, or a category with no level seen ``min_category_count`` times is left out and listed
   in ``dropped_`` with the reason (the model card). A real book with amount, date and sector only
   trains on those; nothing assumes a column is filled.
2. **Encodes categories as a credit modeller would** (``woe``): out-of-fold weight of evidence with
   credibility weights estimated from the book (Bühlmann–Straub), a city relative to its region and a
   sector code relative to its group, plus each level's frequency; rare levels pooled.
3. **Chooses its own form on a temporal validation split** carved from the training period: the
   latest ``validation_share`` of loans by issue date. Candidates: gradient-boosted trees of two sizes
   (number of trees read off the validation curve) on the woe matrix; a logistic regression on the
   same matrix; a **ridge scorecard** (``_Ridge``: one penalised indicator per category level, so a
   city's or a bank's effect is shrunk like a random effect and estimated jointly with its region's,
   splines for amounts and ages, one indicator per value for a term or a flag) at two penalties; and
   blends of the best trees with either additive part on the log-odds scale. Each comes with and
   without the issue year (a vintage effect helps only if it carries forward), and the blends also
   with the year as a trend of the additive part only (trees would carry the last year's level forward
   unchanged). The candidate with the lowest validation log-loss wins; with too few recent defaults to
   judge, a fixed blend is used and the card says so. The test split of a benchmark is never seen.
4. **Calibrates and refits.** Platt scaling maps the winner's log-odds to PDs, fitted on the
   validation split (the most recent loans, scored by a model that had not seen them: the risk level
   the next loans most likely share) when every recent loan's outcome is known, otherwise on
   out-of-fold scores of all loans (a window of still-running loans knows mostly its early defaults);
   then the winner is refitted on every training loan. A PD of 0.05 means about 5 defaults in 100.

Monotone constraints where the domain is sure, on the trees (and the ridge scorecard keeps those
features linear): more valid invention / class-I patents, higher R&D intensity, a larger tech-staff
share or a 高新技术企业 certificate never raise the PD; more adverse credit records or a larger loan
relative to assets never lower it; a category level with a higher out-of-fold default rate never
scores lower in the trees. The term is left free: on real books it stands for the collateral.

Too few labelled loans or defaults raise ``NotFittedError`` with the reason; the engine then uses the
documented prior and reports that reason.

Persistence: skops, trusting only scikit-learn and numpy types; everything else (encodings, choices,
card) is JSON inside the file. ``model_version_`` hashes the training matrix, labels, choices and the
scikit-learn version, so the same training reproduces the same version.

Scoring is one path: ``predict_pd`` on a feature frame, whether it has one row (the API) or 100,000,
through the flattened trees of ``matcher.trees``, the logistic part folded into one affine map and the
ridge scorecard's lookups and splines.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import sklearn
from scipy import sparse
from scipy.interpolate import BSpline
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler
from threadpoolctl import ThreadpoolController

from matcher.eligibility.loan_features import (
    BOOK_SPECIFIC,
    CATEGORICAL_FEATURES,
    FEATURES,
    NUMERIC_FEATURES,
    TrainingSet,
    pd_features,
    training_set,
)
from matcher.eligibility.policy import Policy
from matcher.eligibility.woe import CategoryEncoder, Smoothing, category_levels, fit_encoder, out_of_fold
from matcher.errors import InvalidInputError, NotFittedError
from matcher.trees import CompiledBooster

__all__ = [
    "BOOK_SPECIFIC", "CATEGORICAL_FEATURES", "FEATURES", "NUMERIC_FEATURES", "PDModel", "TrainingSet", "load_pd_model",
    "pd_features", "train_pd_model", "training_set",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ModelSource = Literal["trained", "prior"]
Learner = Literal["trees", "linear", "ridge", "blend"]
Partner = Literal["linear", "ridge"]

# -1: the PD never rises with the feature; +1: never falls. Only directions the domain is sure of.
MONOTONE: Mapping[str, int] = {
    "valid_invention_patents": -1,
    "valid_class_i": -1,
    "rd_sales_ratio": -1,
    "rd_cost_ratio": -1,
    "tech_staff_ratio": -1,
    "high_tech_enterprise": -1,
    "credit_flags": 1,
    "amount_to_assets": 1,
}
# Not the term: at equal collateral a longer loan has more time to default, but on real books the term
# stands for the collateral (SBA loans of 20 years or more are backed by real estate and charge off at
# about 1.6 % against 21 % for the rest), so its direction is the book's to show, not ours to impose.
MIN_TRAINING_LOANS = 200
MIN_TRAINING_DEFAULTS = 10
# Enough recent evidence to judge candidates on the validation split; below it a fixed form is used.
MIN_VALIDATION_EVENTS = 8
CALIBRATION_FOLDS = 3
# Inverse L2 strength of the ridge scorecard: about what a random effect of ±0.3 on the log-odds per
# city, bank or sector code asks for on books of tens of thousands of loans; the validation split picks
# between this and a stronger shrinkage.
RIDGE_C = 0.1
RIDGE_CS = (0.03, 0.1)
SPLINE_KNOTS = 5
SPLINE_DEGREE = 2
# Fewer distinct values than this: one indicator per value (a scorecard's bins), not a spline.
SPLINE_MIN_DISTINCT = 8
SCORING_SLICE = 2048
ENCODING_FOLDS = 5


@functools.lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    # Scanning the process for thread pools reads /proc maps (≈ 8 ms): do it once per process.
    return ThreadpoolController()


def _one_thread() -> Any:
    """One OpenMP thread: on two shared cores a fit or a batch score is faster on one thread than on two,
    and a single firm must not pay thread start-up."""
    return _threadpools().limit(limits=1, user_api="openmp")


def _log_loss(y: IntArray, p: FloatArray) -> float:
    q = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def _auc(y: IntArray, score: FloatArray) -> float:
    """ROC AUC by ranks (ties averaged); 0.5 when one class is absent."""
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return 0.5
    ranks = pl.Series(score).rank("average").to_numpy()
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One form the model can take; ``trees`` None means no boosted part."""

    learner: Learner
    use_year: bool
    leaves: int = 4
    min_leaf: int = 20
    trees: int = 150
    blend: float = 1.0  # weight of the boosted log-odds; 1 - blend goes to the partner
    # The vintage as a trend of the partner only: trees would carry the last year's level forward.
    year_in_trees: bool = True
    partner: Partner = "linear"  # the additive part of a blend
    ridge_c: float = RIDGE_C

    def label(self) -> str:
        year = "no issue year"
        if self.use_year:
            alone = self.learner in ("linear", "ridge")
            year = "with issue year" if self.year_in_trees or alone else "issue-year trend"
        ridge = f"ridge scorecard C={self.ridge_c:g}"
        if self.learner == "linear":
            return f"logistic on woe ({year})"
        if self.learner == "ridge":
            return f"{ridge} ({year})"
        body = f"trees {self.leaves} leaves × {self.trees}"
        if self.learner == "blend":
            other = ridge if self.partner == "ridge" else "logistic on woe"
            body = f"blend {self.blend:.2f}·{body} + {1 - self.blend:.2f}·{other}"
        return f"{body} ({year})"


def _signed_log(x: FloatArray) -> FloatArray:
    # Amounts and head counts span orders of magnitude; trees are unaffected, the logistic part needs it.
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass(slots=True)
class _Parts:
    """The fitted parts, and their scoring state derived once (never saved): the trees flattened by
    ``matcher.trees`` (the same raw scores as scikit-learn's to the bit, without its per-call
    overhead of one Python call per tree) and the logistic pipeline folded into one affine map."""

    booster: HistGradientBoostingClassifier | None
    linear: Pipeline | None
    blend: float
    ridge: _Ridge | None = None
    compiled_: CompiledBooster | None = field(default=None, repr=False)
    affine_: _Affine | None = field(default=None, repr=False)

    def _derive(self) -> None:
        if self.booster is not None and self.compiled_ is None:
            self.compiled_ = CompiledBooster.from_estimator(self.booster)
        if self.linear is not None and self.affine_ is None:
            self.affine_ = _Affine.of(self.linear)

    def score(self, x: FloatArray, levels: Levels) -> FloatArray:
        """Log-odds: the blend of the boosted part and the additive one (logistic on woe or ridge).
        ``x`` is the model matrix, ``levels`` the raw category levels (the ridge scorecard's input)."""
        self._derive()
        total = np.zeros(x.shape[0])
        additive = 1.0 - self.blend if self.booster is not None else 1.0
        if self.compiled_ is not None:
            # In slices, so the tree walk's (rows × trees) index arrays stay small.
            trees = [self.compiled_.decision_function(x[k:k + SCORING_SLICE])
                     for k in range(0, x.shape[0], SCORING_SLICE)]
            total += self.blend * np.concatenate(trees)
        if self.affine_ is not None:
            total += additive * self.affine_.score(x)
        if self.ridge is not None:
            total += additive * self.ridge.score(x[:, :len(self.ridge.medians)], levels)
        return total


@dataclass(frozen=True, slots=True)
class _Affine:
    """``SimpleImputer(median, indicators) → StandardScaler → LogisticRegression`` as one affine map."""

    medians: FloatArray
    indicator_columns: npt.NDArray[np.intp]
    weights: FloatArray
    indicator_weights: FloatArray
    intercept: float

    @classmethod
    def of(cls, pipeline: Pipeline) -> _Affine:
        imputer, scaler, logistic = (pipeline.named_steps[k] for k in ("impute", "scale", "logistic"))
        n = len(imputer.statistics_)
        columns = np.asarray(imputer.indicator_.features_ if imputer.indicator_ is not None else [], dtype=np.intp)
        w = logistic.coef_[0] / scaler.scale_
        return cls(np.asarray(imputer.statistics_, dtype=np.float64), columns, w[:n], w[n:],
                   float(logistic.intercept_[0] - np.sum(scaler.mean_ * w)))

    def score(self, x: FloatArray) -> FloatArray:
        missing = np.isnan(x)
        filled = np.where(missing, self.medians, x)
        return np.asarray(filled @ self.weights + missing[:, self.indicator_columns] @ self.indicator_weights
                          + self.intercept, dtype=np.float64)


Levels = Mapping[str, npt.NDArray[np.object_]]


def _numeric_block(x: npt.NDArray[Any]) -> FloatArray:
    """The numeric features as the model reads them: signed log, non-finite values missing."""
    x = x.astype(np.float64)
    return _signed_log(np.where(np.isfinite(x), x, np.nan))


def _levels_of(features: pl.DataFrame, columns: Sequence[str]) -> dict[str, npt.NDArray[np.object_]]:
    """Each category column's level names (one polars pass for all of them)."""
    if not columns:
        return {}
    frame = features.select(category_levels(pl.col(c)) for c in columns)
    return {c: np.asarray(frame[c].to_list(), dtype=object) for c in columns}


def _take(levels: Levels, rows: npt.NDArray[np.bool_]) -> dict[str, npt.NDArray[np.object_]]:
    return {c: v[rows] for c, v in levels.items()}


@dataclass(slots=True)
class _Ridge:
    """The ridge scorecard: a penalised logistic regression on one indicator per category level and on
    the numeric features. The L2 penalty shrinks every level's effect towards zero in proportion to how
    few loans it has, as a random effect would, so thousands of cities need no pooling; a city adds to
    its region's effect and a sector code to its group's, estimated jointly rather than one column at a
    time. A numeric feature with many values enters as a quadratic spline of its log (amount, age: the
    effect need not be a straight line), one with a few values (a term of 60 or 240 months, a yes/no
    flag) as one indicator per value, the way a scorecard bins it; a feature whose direction the domain
    fixes (``MONOTONE``) as a standardised linear term; a missing value as the median plus a flag.
    Scoring is lookups and dot products on the fitted arrays; the spline basis is evaluated by scipy
    from the knots scikit-learn's ``SplineTransformer`` placed (the same values, without its per-call
    validation, which would cost a one-firm decision a millisecond)."""

    medians: FloatArray
    linear: IntArray
    flags: IntArray
    splined: IntArray
    stepped: IntArray
    mean: FloatArray
    scale: FloatArray
    knots: list[FloatArray]
    w_linear: FloatArray
    w_flags: FloatArray
    w_spline: FloatArray
    step_values: list[FloatArray]
    step_weights: list[FloatArray]
    effects: dict[str, dict[str, float]]
    intercept: float
    basis_: list[BSpline] = field(default_factory=list, repr=False)

    @classmethod
    def fit(cls, x: FloatArray, levels: Levels, y: IntArray, monotone: Sequence[int], c: float) -> _Ridge:
        seen = ~np.isnan(x).all(axis=0)
        medians = np.where(seen, np.nanmedian(np.where(seen, x, 0.0), axis=0), 0.0)
        distinct = np.array([len(np.unique(col[~np.isnan(col)])) for col in x.T], dtype=np.int64)
        constrained = np.array([m != 0 for m in monotone], dtype=bool)
        varies = seen & (distinct > 1)
        splined = np.flatnonzero(varies & (distinct >= SPLINE_MIN_DISTINCT) & ~constrained)
        stepped = np.flatnonzero(varies & (distinct < SPLINE_MIN_DISTINCT) & ~constrained)
        linear = np.flatnonzero(varies & constrained)
        flags = np.flatnonzero(seen & np.isnan(x).any(axis=0))
        filled = np.where(np.isnan(x), medians, x)
        mean, scale = filled[:, linear].mean(axis=0), filled[:, linear].std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        knots: list[FloatArray] = []
        blocks: list[Any] = [(filled[:, linear] - mean) / scale, np.isnan(x[:, flags]).astype(np.float64)]
        if splined.size:
            spline = SplineTransformer(n_knots=SPLINE_KNOTS, degree=SPLINE_DEGREE, extrapolation="constant")
            blocks.append(spline.fit_transform(filled[:, splined]))
            knots = [np.asarray(b.t, dtype=np.float64) for b in spline.bsplines_]
        dense = np.hstack(blocks)
        # One indicator per value of a stepped feature and per category level seen (columns after the
        # dense part); a value or level unseen at fit time scores 0.
        codes: list[IntArray] = []
        sizes: list[int] = []
        step_values: list[FloatArray] = []
        for j in stepped:
            values, code = np.unique(filled[:, j], return_inverse=True)
            step_values.append(values)
            codes.append(code.astype(np.int64))
            sizes.append(len(values))
        names: list[npt.NDArray[np.str_]] = []
        for values in levels.values():
            uniques, code = np.unique(values.astype(str), return_inverse=True)
            names.append(uniques)
            codes.append(code.astype(np.int64))
            sizes.append(len(uniques))
        n = x.shape[0]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        columns = [start + code for start, code in zip(starts, codes, strict=False)] or [np.zeros(0, np.int64)]
        onehot = sparse.csr_matrix(
            (np.ones(n * len(codes)), (np.tile(np.arange(n), len(codes)), np.concatenate(columns))),
            shape=(n, int(starts[-1])))
        design = sparse.hstack([sparse.csr_matrix(dense), onehot]).tocsr()
        logistic = LogisticRegression(C=c, max_iter=2000).fit(design, y)
        w = logistic.coef_[0]
        n_lin, n_flag, n_dense = linear.size, flags.size, dense.shape[1]
        blocks_w = [w[n_dense + starts[k]:n_dense + starts[k + 1]] for k in range(len(sizes))]
        effects = {name: dict(zip(uniques.tolist(), blocks_w[len(stepped) + k].tolist(), strict=True))
                   for k, (name, uniques) in enumerate(zip(levels, names, strict=True))}
        return cls(medians, linear, flags, splined, stepped, mean, scale, knots, w[:n_lin], w[n_lin:n_lin + n_flag],
                   w[n_lin + n_flag:n_dense], step_values, blocks_w[:len(stepped)], effects,
                   float(logistic.intercept_[0]))

    def score(self, x: FloatArray, levels: Levels) -> FloatArray:
        filled = np.where(np.isnan(x), self.medians, x)
        total = ((filled[:, self.linear] - self.mean) / self.scale) @ self.w_linear + self.intercept
        total = total + np.isnan(x[:, self.flags]) @ self.w_flags
        if self.knots:
            total = total + self._spline_score(filled[:, self.splined])
        for j, values, weights in zip(self.stepped, self.step_values, self.step_weights, strict=True):
            at = np.minimum(np.searchsorted(values, filled[:, j]), len(values) - 1)
            total = total + np.where(values[at] == filled[:, j], weights[at], 0.0)
        for name, effect in self.effects.items():
            total = total + np.fromiter((effect.get(v, 0.0) for v in levels[name]), np.float64, len(levels[name]))
        return np.asarray(total, dtype=np.float64)

    def _spline_score(self, x: FloatArray) -> FloatArray:
        """The splines' part of the log-odds: ``SplineTransformer.transform`` with constant extrapolation
        (the basis at the value clipped to the outer knots) times the weights, one feature at a time."""
        if not self.basis_:
            self.basis_ = [BSpline(t, np.eye(len(t) - SPLINE_DEGREE - 1), SPLINE_DEGREE, extrapolate=False)
                           for t in self.knots]
        d, total, start = SPLINE_DEGREE, np.zeros(x.shape[0]), 0
        for j, b in enumerate(self.basis_):
            width = len(b.t) - d - 1
            total += b(np.clip(x[:, j], b.t[d], b.t[-d - 1])) @ self.w_spline[start:start + width]
            start += width
        return total

    def to_json(self) -> dict[str, Any]:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in (
            ("medians", self.medians), ("linear", self.linear), ("flags", self.flags), ("splined", self.splined),
            ("mean", self.mean), ("scale", self.scale), ("w_linear", self.w_linear), ("w_flags", self.w_flags),
            ("w_spline", self.w_spline), ("stepped", self.stepped), ("effects", self.effects),
            ("intercept", self.intercept))} | {"knots": [v.tolist() for v in self.knots],
                                               "step_values": [v.tolist() for v in self.step_values],
                                               "step_weights": [v.tolist() for v in self.step_weights]}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> _Ridge:
        def floats(k: str) -> FloatArray:
            return np.asarray(raw[k], dtype=np.float64)

        def ints(k: str) -> IntArray:
            return np.asarray(raw[k], dtype=np.int64)

        return cls(floats("medians"), ints("linear"), ints("flags"), ints("splined"), ints("stepped"), floats("mean"),
                   floats("scale"), [np.asarray(v, dtype=np.float64) for v in raw["knots"]], floats("w_linear"),
                   floats("w_flags"), floats("w_spline"),
                   [np.asarray(v, dtype=np.float64) for v in raw["step_values"]],
                   [np.asarray(v, dtype=np.float64) for v in raw["step_weights"]],
                   {str(c): {str(k): float(v) for k, v in e.items()} for c, e in raw["effects"].items()},
                   float(raw["intercept"]))


def _fit_booster(x: FloatArray, y: IntArray, c: Candidate, monotone: Sequence[int], seed: int,
                 *, trees: int | None = None) -> HistGradientBoostingClassifier:
    # scikit-learn 1.9's binning fails on a column with no value at all; in a fold that can happen to a
    # sparse column the full book fills. A constant stand-in is never split on, so scoring is unchanged.
    x = np.where(np.isnan(x).all(axis=0, keepdims=True), 0.0, x)
    booster = HistGradientBoostingClassifier(
        max_iter=trees or c.trees, learning_rate=0.05, max_leaf_nodes=c.leaves, min_samples_leaf=c.min_leaf,
        l2_regularization=1.0, monotonic_cst=list(monotone), early_stopping=False, random_state=seed,
    )
    return booster.fit(x, y)


def _fit_linear(x: FloatArray, y: IntArray) -> Pipeline:
    x = np.where(np.isnan(x).all(axis=0, keepdims=True), 0.0, x)
    return Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("logistic", LogisticRegression(C=0.5, max_iter=1000)),
    ]).fit(x, y)


def _fit_parts(x: FloatArray, levels: Levels, y: IntArray, c: Candidate, *, monotone: Sequence[int], seed: int,
               n_numeric: int, year_column: int | None = None) -> _Parts:
    x_trees = x
    if year_column is not None and not c.year_in_trees:
        x_trees = x.copy()
        x_trees[:, year_column] = np.nan  # a constant for the trees: never split on
    booster = _fit_booster(x_trees, y, c, monotone, seed) if c.learner in ("trees", "blend") else None
    additive = c.learner if c.learner in ("linear", "ridge") else c.partner if c.learner == "blend" else None
    linear = _fit_linear(x, y) if additive == "linear" else None
    ridge = (_Ridge.fit(x[:, :n_numeric], levels, y, monotone[:n_numeric], c.ridge_c)
             if additive == "ridge" else None)
    return _Parts(booster, linear, c.blend if c.learner == "blend" else 1.0, ridge)


def _platt(score: FloatArray, y: IntArray) -> tuple[float, float]:
    """(a, b) of PD = expit(a·score + b), fitted by maximum likelihood."""
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(score.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


@dataclass(slots=True)
class PDModel:
    """A fitted, calibrated PD model plus what is needed to encode its features and to cite it.

    Hyper-parameters: ``smoothing`` (woe pseudo-loans), ``min_category_count`` (rarer levels are
    pooled), ``validation_share``, ``exclude`` (features never to use), ``random_state``.
    """

    smoothing: Smoothing = "credibility"
    min_category_count: int = 10
    validation_share: float = 0.2
    exclude: tuple[str, ...] = ()
    random_state: int = 0
    source: ModelSource = "trained"
    numeric_: tuple[str, ...] = ()
    categorical_: tuple[str, ...] = ()
    dropped_: dict[str, str] = field(default_factory=dict)
    encoder_: CategoryEncoder | None = field(default=None, repr=False)
    parts_: _Parts | None = field(default=None, repr=False)
    calibration_: tuple[float, float] = (1.0, 0.0)
    calibration_source_: str = ""
    chosen_: str = ""
    selection_: list[dict[str, Any]] = field(default_factory=list)
    model_version_: str = ""
    n_loans_: int = 0
    n_defaults_: int = 0
    default_rate_: float = float("nan")
    trained_until_: str = ""
    # Why the prior stands in for a bank's own model (set by the engine on a copy of the prior).
    fallback_reason: str | None = None

    # --- features ----------------------------------------------------------------------------------

    def _informative(self, features: pl.DataFrame) -> None:
        dropped: dict[str, str] = {}
        n = features.height
        for c in FEATURES:
            col = features[c]
            present = col.drop_nulls()
            if col.dtype == pl.Float64:
                present = present.drop_nans()
            nulls, distinct = n - present.len(), present.n_unique()
            if c in self.exclude:
                dropped[c] = "excluded for this model"
            elif nulls == n:
                dropped[c] = "empty in every loan"
            elif distinct <= 1 and nulls == 0:
                dropped[c] = "the same value in every loan"
            elif c in CATEGORICAL_FEATURES:
                common = int((col.fill_null("").value_counts()["count"] >= self.min_category_count).sum())
                if common == 0:
                    dropped[c] = f"no value seen on {self.min_category_count} loans or more"
        self.dropped_ = dropped
        self.numeric_ = tuple(c for c in NUMERIC_FEATURES if c not in dropped)
        self.categorical_ = tuple(c for c in CATEGORICAL_FEATURES if c not in dropped)

    def feature_names(self) -> list[str]:
        """The columns of the model's matrix, in order."""
        return [*self.numeric_, *(f"{c}{s}" for c in self.categorical_ for s in ("_woe", "_freq"))]

    def _numeric(self, features: pl.DataFrame) -> FloatArray:
        if not self.numeric_:
            return np.zeros((features.height, 0))
        return _numeric_block(features.select(pl.col(c).cast(pl.Float64) for c in self.numeric_).to_numpy())

    def _monotone(self) -> list[int]:
        return [MONOTONE.get(c, 0) for c in self.numeric_] + [v for _ in self.categorical_ for v in (1, 0)]

    def _matrix(self, features: pl.DataFrame) -> tuple[FloatArray, Levels]:
        """The model matrix and the raw category levels, read in one polars query (on one firm, the
        API, each query costs a fixed ≈ 0.2 ms whatever its rows)."""
        missing = [c for c in (*self.numeric_, *self.categorical_) if c not in features.columns]
        if missing:
            raise InvalidInputError(f"feature frame lacks {missing}", field=missing[0])
        if self.encoder_ is None:
            raise NotFittedError("the PD model is not fitted; train it or load a saved one")
        frame = features.select(*(pl.col(c).cast(pl.Float64) for c in self.numeric_),
                                *(category_levels(pl.col(c)) for c in self.categorical_))
        levels = {c: np.asarray(frame[c].to_list(), dtype=object) for c in self.categorical_}
        numeric = np.zeros((features.height, 0))
        if self.numeric_:
            numeric = _numeric_block(np.column_stack([frame[c].to_numpy() for c in self.numeric_]))
        return np.hstack([numeric, self.encoder_.transform_levels(levels, features.height)]), levels

    def _encoded_for_training(self, features: pl.DataFrame, y: IntArray) -> FloatArray:
        cats = out_of_fold(features, y, self.categorical_, smoothing=self.smoothing,
                           min_count=self.min_category_count, folds=ENCODING_FOLDS, seed=self.random_state)
        return np.hstack([self._numeric(features), cats])

    # --- choosing the form ---------------------------------------------------------------------------

    def _candidates(self, n: int) -> list[Candidate]:
        min_leaf = max(20, n // 100)
        years = [False, True] if "issue_year" in self.numeric_ else [False]
        out: list[Candidate] = []
        for use_year in years:
            out += [Candidate("trees", use_year, leaves, min_leaf, 400) for leaves in (4, 12)]
            out.append(Candidate("linear", use_year))
            out += [Candidate("ridge", use_year, ridge_c=c) for c in RIDGE_CS]
        return out

    def _without_year(self, x: FloatArray, use_year: bool) -> FloatArray:
        if use_year or "issue_year" not in self.numeric_:
            return x
        out = x.copy()
        out[:, self.numeric_.index("issue_year")] = np.nan
        return out

    def _select(self, features: pl.DataFrame, y: IntArray, issued_on: pl.Series
                ) -> tuple[Candidate, tuple[FloatArray, IntArray] | None]:
        """The winning form and, when there was a validation split, its validation scores and labels."""
        n = len(y)
        default = Candidate("blend", False, 4, max(20, n // 100), 150, 0.5)
        days = issued_on.cast(pl.Date).to_physical().to_numpy()
        cut = np.quantile(days, 1 - self.validation_share)
        val = days >= cut
        train = ~val
        events = min(int(y[val].sum()), int((1 - y[val]).sum()))
        if events < MIN_VALIDATION_EVENTS or int(y[train].sum()) < MIN_VALIDATION_EVENTS or train.sum() < 100:
            self.selection_ = [{"candidate": default.label(), "note": (
                f"too few recent defaults or repayments to compare forms ({events} of the rarer outcome in the "
                f"latest {self.validation_share:.0%} of loans; need {MIN_VALIDATION_EVENTS}); fixed form used")}]
            return default, None
        f_train, f_val = features.filter(pl.Series(train)), features.filter(pl.Series(val))
        encoder = fit_encoder(f_train, y[train], self.categorical_, smoothing=self.smoothing,
                              min_count=self.min_category_count)
        x_train = np.hstack([self._numeric(f_train), out_of_fold(
            f_train, y[train], self.categorical_, smoothing=self.smoothing, min_count=self.min_category_count,
            folds=ENCODING_FOLDS, seed=self.random_state)])
        x_val = np.hstack([self._numeric(f_val), encoder.transform(f_val)])
        levels_train = _levels_of(f_train, self.categorical_)
        levels_val = _levels_of(f_val, self.categorical_)
        y_train, y_val = y[train], y[val]
        monotone = self._monotone()
        n_numeric = len(self.numeric_)
        results: list[tuple[float, Candidate, FloatArray]] = []
        best_trees: dict[bool, tuple[float, Candidate, FloatArray]] = {}
        # The best additive part of each kind, with and without the year: the blends' partners.
        partners: dict[tuple[bool, Partner], tuple[float, Candidate, FloatArray]] = {}
        for c in self._candidates(int(train.sum())):
            xt, xv = self._without_year(x_train, c.use_year), self._without_year(x_val, c.use_year)
            if c.learner == "trees":
                booster = _fit_booster(xt, y_train, c, monotone, self.random_state)
                curve = [(_log_loss(y_val, expit(s)), k + 1, s)
                         for k, s in enumerate(booster.staged_decision_function(xv))]
                loss, trees, score = min(curve, key=lambda t: t[0])
                chosen = dataclasses.replace(c, trees=max(trees, 10))
                if c.use_year not in best_trees or loss < best_trees[c.use_year][0]:
                    best_trees[c.use_year] = (loss, chosen, score)
            else:
                if c.learner == "linear":
                    score = _fit_linear(xt, y_train).decision_function(xv)
                else:
                    score = _Ridge.fit(xt[:, :n_numeric], levels_train, y_train, monotone[:n_numeric],
                                       c.ridge_c).score(xv[:, :n_numeric], levels_val)
                chosen, loss = c, _log_loss(y_val, expit(score))
                kind: Partner = "ridge" if c.learner == "ridge" else "linear"
                key = (c.use_year, kind)
                if key not in partners or loss < partners[key][0]:
                    partners[key] = (loss, c, score)
            results.append((loss, chosen, score))
        pairs: list[tuple[Candidate, FloatArray, Candidate, FloatArray]] = []
        for (use_year, _kind), (_, partner, partner_score) in partners.items():
            if use_year in best_trees:
                _, trees_c, trees_score = best_trees[use_year]
                pairs.append((trees_c, trees_score, partner, partner_score))
            elif use_year and False in best_trees:
                # The year as a trend of the additive part only.
                _, flat, flat_score = best_trees[False]
                pairs.append((dataclasses.replace(flat, use_year=True, year_in_trees=False), flat_score,
                              partner, partner_score))
            if use_year and False in best_trees and True in best_trees:
                _, flat, flat_score = best_trees[False]
                pairs.append((dataclasses.replace(flat, use_year=True, year_in_trees=False), flat_score,
                              partner, partner_score))
        for trees_c, trees_score, partner, partner_score in pairs:
            kind = "ridge" if partner.learner == "ridge" else "linear"
            for w in (0.25, 0.5, 0.75):
                score = w * trees_score + (1 - w) * partner_score
                form = dataclasses.replace(trees_c, learner="blend", blend=w, partner=kind, ridge_c=partner.ridge_c)
                results.append((_log_loss(y_val, expit(score)), form, score))
        results.sort(key=lambda r: r[0])
        self.selection_ = [
            {"candidate": c.label(), "validation_log_loss": round(loss, 6), "validation_auc": round(_auc(y_val, s), 6)}
            for loss, c, s in results
        ]
        return results[0][1], (results[0][2], y_val)

    # --- fitting -------------------------------------------------------------------------------------

    def fit(self, features: pl.DataFrame, defaulted: npt.ArrayLike, issued_on: pl.Series, *,
            trained_until: str = "", recent_outcomes_complete: bool = False) -> PDModel:
        """Fit on labelled loans. ``recent_outcomes_complete`` says the latest loans' outcomes are all
        known (none still running): only then is the calibration anchored on them, since a window of
        immature loans whose known outcomes are mostly early defaults would overstate every PD."""
        y = np.asarray(defaulted, dtype=np.int64)
        n, n_pos = len(y), int(y.sum())
        if n < MIN_TRAINING_LOANS or n_pos < MIN_TRAINING_DEFAULTS or n - n_pos < MIN_TRAINING_DEFAULTS:
            raise NotFittedError(
                f"too little loan history to train a default model: {n} labelled loans, {n_pos} defaults, "
                f"{n - n_pos} repaid (need {MIN_TRAINING_LOANS} loans, {MIN_TRAINING_DEFAULTS} defaults and "
                f"{MIN_TRAINING_DEFAULTS} repaid)"
            )
        self._informative(features)
        if not self.numeric_ and not self.categorical_:
            raise NotFittedError("no column of the loan book varies between loans: nothing to learn defaults from")
        with _one_thread():
            chosen, recent = self._select(features, y, issued_on)
        if not chosen.use_year and "issue_year" in self.numeric_:
            self.dropped_["issue_year"] = "the vintage effect did not carry forward on the validation split"
            self.numeric_ = tuple(c for c in self.numeric_ if c != "issue_year")
        self.encoder_ = fit_encoder(features, y, self.categorical_, smoothing=self.smoothing,
                                    min_count=self.min_category_count)
        x = self._encoded_for_training(features, y)
        monotone = self._monotone()
        year = self.numeric_.index("issue_year") if "issue_year" in self.numeric_ else None
        levels = _levels_of(features, self.categorical_)
        n_numeric = len(self.numeric_)
        with _one_thread():
            if recent is not None and recent_outcomes_complete:
                # Calibrated on the most recent loans, scored by a model that never saw them: the level of
                # risk the next loans are most likely to share (books drift; the whole history's average
                # default rate is the wrong anchor after a bad or a good vintage).
                self.calibration_ = _platt(*recent)
                self.calibration_source_ = "the temporal validation split"
            else:
                oof = np.zeros(n)
                fold = np.random.default_rng(self.random_state + 1).permutation(n) % CALIBRATION_FOLDS
                for k in range(CALIBRATION_FOLDS):
                    held = fold == k
                    oof[held] = _fit_parts(x[~held], _take(levels, ~held), y[~held], chosen, monotone=monotone,
                                           seed=self.random_state, n_numeric=n_numeric,
                                           year_column=year).score(x[held], _take(levels, held))
                self.calibration_ = _platt(oof, y)
                self.calibration_source_ = f"{CALIBRATION_FOLDS}-fold out-of-fold scores"
            self.parts_ = _fit_parts(x, levels, y, chosen, monotone=monotone, seed=self.random_state,
                                     n_numeric=n_numeric, year_column=year)
        self.chosen_ = chosen.label()
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(np.nan_to_num(x, nan=-9e99)).tobytes())
        digest.update(y.tobytes())
        digest.update(json.dumps({"params": self._params(), "chosen": self.chosen_, "features": self.feature_names(),
                                  "sklearn": sklearn.__version__}, sort_keys=True).encode())
        self.model_version_ = digest.hexdigest()[:16]
        self.n_loans_, self.n_defaults_, self.default_rate_ = n, n_pos, float(y.mean())
        self.trained_until_ = trained_until
        return self

    def _params(self) -> dict[str, Any]:
        return {"smoothing": self.smoothing, "min_category_count": self.min_category_count,
                "validation_share": self.validation_share, "exclude": list(self.exclude),
                "random_state": self.random_state}

    # --- scoring -------------------------------------------------------------------------------------

    def predict_pd(self, features: pl.DataFrame) -> FloatArray:
        """PD per row of a ``pd_features`` frame (one row or many: the same path)."""
        if self.parts_ is None:
            raise NotFittedError("the PD model is not fitted; train it or load a saved one")
        if features.height == 0:
            return np.zeros(0)
        x, levels = self._matrix(features)
        with _one_thread():
            score = self.parts_.score(x, levels)
        a, b = self.calibration_
        return np.asarray(expit(a * score + b), dtype=np.float64)

    def card(self) -> dict[str, Any]:
        """What a credit committee reads about the model: data, features used and left out, the form
        chosen on validation and the candidates it beat."""
        return {
            "model_version": self.model_version_, "source": self.source, "trained_until": self.trained_until_,
            "loans": self.n_loans_, "defaults": self.n_defaults_, "default_rate": self.default_rate_,
            "form": self.chosen_, "features": self.feature_names(), "dropped": dict(self.dropped_),
            "selection": list(self.selection_), "calibration": {"method": "platt", "on": self.calibration_source_,
                            "a": self.calibration_[0], "b": self.calibration_[1]},
            "fallback_reason": self.fallback_reason,
        }

    # --- persistence ---------------------------------------------------------------------------------

    def save(self, path: Path | str) -> Path:
        import skops.io as sio

        if self.parts_ is None or self.encoder_ is None:
            raise NotFittedError("cannot save an unfitted PD model")
        meta = {
            "params": self._params(), "source": self.source, "numeric": list(self.numeric_),
            "categorical": list(self.categorical_), "dropped": self.dropped_, "encoder": self.encoder_.to_json(),
            "blend": self.parts_.blend,
            "ridge": self.parts_.ridge.to_json() if self.parts_.ridge is not None else None,
            "calibration": list(self.calibration_), "chosen": self.chosen_,
            "calibration_source": self.calibration_source_,
            "selection": self.selection_, "model_version": self.model_version_,
            "n_loans": self.n_loans_, "n_defaults": self.n_defaults_, "default_rate": self.default_rate_,
            "trained_until": self.trained_until_, "format": FORMAT,
        }
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        sio.dump({"booster": self.parts_.booster, "linear": self.parts_.linear,
                  "meta": json.dumps(meta, sort_keys=True, ensure_ascii=False)}, out)
        return out


# Bumped when the saved layout changes: an older file is refused with "retrain it".
FORMAT = "pd-3"


def load_pd_model(path: Path | str, *, source: ModelSource | None = None) -> PDModel:
    """Load a model saved by ``PDModel.save``; refuses files holding anything but sklearn/numpy types."""
    import skops.io as sio

    p = Path(path)
    try:
        untrusted = sio.get_untrusted_types(file=p)
    except FileNotFoundError:
        raise InvalidInputError(f"no model file at {p}", field="model") from None
    except Exception as exc:  # skops raises assorted errors on a corrupt archive
        raise InvalidInputError(f"{p} is not a skops model file ({exc})", field="model") from None
    # functools.partial is safe to allow: skops still vets the function it wraps as a type of its own.
    unsafe = [t for t in untrusted if not t.startswith(("sklearn.", "numpy.", "scipy.")) and t != "functools.partial"]
    if unsafe:
        raise InvalidInputError(f"{p} holds types that are not trusted: {unsafe[:3]}", field="model")
    blob = sio.load(p, trusted=untrusted)
    meta = json.loads(blob["meta"]) if isinstance(blob, dict) and "meta" in blob else {}
    if meta.get("format") != FORMAT:
        raise InvalidInputError(f"{p} was saved by an older version of the PD model; retrain it", field="model")
    params = meta["params"]
    model = PDModel(
        smoothing=params["smoothing"] if params["smoothing"] == "credibility" else float(params["smoothing"]),
        min_category_count=int(params["min_category_count"]),
        validation_share=float(params["validation_share"]), exclude=tuple(params["exclude"]),
        random_state=int(params["random_state"]), source=source or meta["source"],
    )
    model.numeric_, model.categorical_ = tuple(meta["numeric"]), tuple(meta["categorical"])
    model.dropped_ = dict(meta["dropped"])
    model.encoder_ = CategoryEncoder.from_json(model.categorical_, meta["encoder"])
    ridge = _Ridge.from_json(meta["ridge"]) if meta["ridge"] is not None else None
    model.parts_ = _Parts(blob["booster"], blob["linear"], float(meta["blend"]), ridge)
    a, b = meta["calibration"]
    model.calibration_ = (float(a), float(b))
    model.chosen_, model.calibration_source_ = str(meta["chosen"]), str(meta["calibration_source"])
    model.selection_ = list(meta["selection"])
    model.model_version_ = meta["model_version"]
    model.n_loans_, model.n_defaults_ = int(meta["n_loans"]), int(meta["n_defaults"])
    model.default_rate_ = float(meta["default_rate"])
    model.trained_until_ = str(meta["trained_until"])
    return model


def train_pd_model(
    startups: pl.DataFrame,
    ip_assets: pl.DataFrame,
    loans: pl.DataFrame,
    *,
    as_of: date | None,
    policy: Policy,
    source: ModelSource = "trained",
    params: Mapping[str, Any] | None = None,
) -> PDModel:
    """Fit on the loans issued before ``as_of`` with known outcomes (``NotFittedError`` with the reason
    if there are too few)."""
    ts = training_set(startups, ip_assets, loans, as_of=as_of, policy=policy)
    last = ts.issued_on.max()
    until = as_of or (last + timedelta(days=1) if isinstance(last, date) else None)
    settings = dict(params or {})
    if "exclude" in settings:
        settings["exclude"] = tuple(settings["exclude"])
    model = PDModel(**settings, source=source)
    return model.fit(ts.features, ts.defaulted, ts.issued_on, trained_until=str(until or ""),
                     recent_outcomes_complete=recent_outcomes_complete(loans, ts.issued_on, as_of,
                                                                       model.validation_share))


def recent_outcomes_complete(loans: pl.DataFrame, issued_on: pl.Series, as_of: date | None, share: float) -> bool:
    """Whether every loan of ``loans`` issued in the validation window (the latest ``share`` of the
    training loans, whose issue dates are ``issued_on``) and before ``as_of`` has a known outcome."""
    if issued_on.is_empty():
        return False
    days = issued_on.cast(pl.Date).to_physical().to_numpy()
    cut = date(1970, 1, 1) + timedelta(days=int(np.quantile(days, 1 - share)))
    window = loans.filter(pl.col("issued_on") >= cut)
    if as_of is not None:
        window = window.filter(pl.col("issued_on") < as_of)
    return window.height > 0 and window["defaulted"].null_count() == 0

