"""Calibrated probability of default (PD) of a firm for a loan, fitted on whatever loan book is given.

What a fit does, on the labelled loans issued before the as-of date (``loan_features.training_set``):

1. **Keeps the features that carry information here.** A column empty in every row, constant, excluded
   by the caller, or a category with no level seen ``min_category_count`` times is left out and listed
   in ``dropped_`` with the reason (the model card). A real book with amount, date and sector only
   trains on those; nothing assumes a column is filled.
2. **Encodes categories as a credit modeller would** (``woe``): out-of-fold smoothed weight of evidence
   plus frequency, rare levels pooled, sector codes also by their 2-digit group.
3. **Chooses its own form on a temporal validation split** carved from the training period: the
   latest ``validation_share`` of loans by issue date. Candidates are gradient-boosted trees of two
   sizes (number of trees picked on the validation curve), a logistic regression, and their blends on
   the log-odds scale, each with and without the issue year (a vintage effect helps only if it carries
   forward), and a blend where the year is a trend of the logistic part only (trees would carry the
   last year's level forward unchanged). The candidate with the lowest validation log-loss wins; with
   too few recent defaults to judge, a fixed blend is used and the card says so.
4. **Calibrates and refits.** Platt scaling maps the winner's log-odds to PDs, fitted on the
   validation split (the most recent loans, scored by a model that had not seen them: the risk level
   the next loans most likely share) when every recent loan's outcome is known, otherwise on
   out-of-fold scores of all loans (a window of still-running loans knows mostly its early defaults);
   then the winner is refitted on every training loan. A PD of 0.05 means about 5 defaults in 100.

Monotone constraints where the domain is sure (the trees and the sign of the linear part agree): more
valid invention / class-I patents, higher R&D intensity, a larger tech-staff share or a 高新技术企业
certificate never raise the PD; more adverse credit records, a larger loan relative to assets or a
longer term never lower it; a category level with a higher out-of-fold default rate never scores lower.

Too few labelled loans or defaults raise ``NotFittedError`` with the reason; the engine then uses the
documented prior and reports that reason.

Persistence: skops, trusting only scikit-learn and numpy types; everything else (encodings, choices,
card) is JSON inside the file. ``model_version_`` hashes the training matrix, labels, choices and the
scikit-learn version, so the same training reproduces the same version.

Scoring is one path: ``predict_pd`` on a feature frame, whether it has one row (the API) or 100,000,
through the flattened trees of ``matcher.trees`` and the logistic part folded into one affine map.
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
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
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
from matcher.eligibility.woe import CategoryEncoder, fit_encoder, out_of_fold
from matcher.errors import InvalidInputError, NotFittedError
from matcher.trees import CompiledBooster

__all__ = [
    "BOOK_SPECIFIC", "CATEGORICAL_FEATURES", "FEATURES", "NUMERIC_FEATURES", "PDModel", "TrainingSet", "load_pd_model",
    "pd_features", "train_pd_model", "training_set",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ModelSource = Literal["trained", "prior"]
Learner = Literal["trees", "linear", "blend"]

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
    "term_months": 1,
}
MIN_TRAINING_LOANS = 200
MIN_TRAINING_DEFAULTS = 10
# Enough recent evidence to judge candidates on the validation split; below it a fixed form is used.
MIN_VALIDATION_EVENTS = 8
CALIBRATION_FOLDS = 3
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
    blend: float = 1.0  # weight of the boosted log-odds; 1 - blend goes to the logistic part
    # The vintage as a trend of the logistic part only: trees would carry the last year's level forward.
    year_in_trees: bool = True

    def label(self) -> str:
        year = "no issue year"
        if self.use_year:
            year = "with issue year" if self.year_in_trees or self.learner == "linear" else "issue-year trend"
        if self.learner == "linear":
            return f"logistic ({year})"
        body = f"trees {self.leaves} leaves × {self.trees}"
        if self.learner == "blend":
            body = f"blend {self.blend:.2f}·{body} + {1 - self.blend:.2f}·logistic"
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
    compiled_: CompiledBooster | None = field(default=None, repr=False)
    affine_: _Affine | None = field(default=None, repr=False)

    def _derive(self) -> None:
        if self.booster is not None and self.compiled_ is None:
            self.compiled_ = CompiledBooster.from_estimator(self.booster)
        if self.linear is not None and self.affine_ is None:
            self.affine_ = _Affine.of(self.linear)

    def score(self, x: FloatArray) -> FloatArray:
        """Log-odds: the blend of the boosted and the logistic parts."""
        self._derive()
        total = np.zeros(x.shape[0])
        if self.compiled_ is not None:
            # In slices, so the tree walk's (rows × trees) index arrays stay small.
            trees = [self.compiled_.decision_function(x[k:k + SCORING_SLICE])
                     for k in range(0, x.shape[0], SCORING_SLICE)]
            total += self.blend * np.concatenate(trees)
        if self.affine_ is not None:
            total += (1.0 - self.blend if self.booster is not None else 1.0) * self.affine_.score(x)
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


def _fit_parts(x: FloatArray, y: IntArray, c: Candidate, monotone: Sequence[int], seed: int, *,
               year_column: int | None = None) -> _Parts:
    x_trees = x
    if year_column is not None and not c.year_in_trees:
        x_trees = x.copy()
        x_trees[:, year_column] = np.nan  # a constant for the trees: never split on
    booster = _fit_booster(x_trees, y, c, monotone, seed) if c.learner != "linear" else None
    linear = _fit_linear(x, y) if c.learner != "trees" else None
    return _Parts(booster, linear, c.blend if c.learner == "blend" else 1.0)


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

    smoothing: float = 20.0
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
        x = features.select(pl.col(c).cast(pl.Float64) for c in self.numeric_).to_numpy().astype(np.float64)
        return _signed_log(np.where(np.isfinite(x), x, np.nan))

    def _monotone(self) -> list[int]:
        return [MONOTONE.get(c, 0) for c in self.numeric_] + [v for _ in self.categorical_ for v in (1, 0)]

    def _matrix(self, features: pl.DataFrame) -> FloatArray:
        missing = [c for c in (*self.numeric_, *self.categorical_) if c not in features.columns]
        if missing:
            raise InvalidInputError(f"feature frame lacks {missing}", field=missing[0])
        if self.encoder_ is None:
            raise NotFittedError("the PD model is not fitted; train it or load a saved one")
        return np.hstack([self._numeric(features), self.encoder_.transform(features)])

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
        y_train, y_val = y[train], y[val]
        monotone = self._monotone()
        results: list[tuple[float, Candidate, FloatArray]] = []
        best_trees: dict[bool, tuple[float, Candidate, FloatArray]] = {}
        linear_scores: dict[bool, FloatArray] = {}
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
                score = _fit_linear(xt, y_train).decision_function(xv)
                linear_scores[c.use_year] = score
                chosen, loss = c, _log_loss(y_val, expit(score))
            results.append((loss, chosen, score))
        pairs = [(trees_c, s, linear_scores[use_year]) for use_year, (_, trees_c, s) in best_trees.items()]
        if False in best_trees and True in linear_scores:
            _, flat, flat_score = best_trees[False]
            pairs.append((dataclasses.replace(flat, use_year=True, year_in_trees=False), flat_score,
                          linear_scores[True]))
        for trees_c, trees_score, linear_score in pairs:
            for w in (0.25, 0.5, 0.75):
                score = w * trees_score + (1 - w) * linear_score
                results.append((_log_loss(y_val, expit(score)), dataclasses.replace(trees_c, learner="blend", blend=w),
                                score))
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
                    oof[held] = _fit_parts(x[~held], y[~held], chosen, monotone, self.random_state,
                                           year_column=year).score(x[held])
                self.calibration_ = _platt(oof, y)
                self.calibration_source_ = f"{CALIBRATION_FOLDS}-fold out-of-fold scores"
            self.parts_ = _fit_parts(x, y, chosen, monotone, self.random_state, year_column=year)
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
        x = self._matrix(features)
        with _one_thread():
            score = self.parts_.score(x)
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
            "blend": self.parts_.blend, "calibration": list(self.calibration_), "chosen": self.chosen_,
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
FORMAT = "pd-2"


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
        smoothing=float(params["smoothing"]), min_category_count=int(params["min_category_count"]),
        validation_share=float(params["validation_share"]), exclude=tuple(params["exclude"]),
        random_state=int(params["random_state"]), source=source or meta["source"],
    )
    model.numeric_, model.categorical_ = tuple(meta["numeric"]), tuple(meta["categorical"])
    model.dropped_ = dict(meta["dropped"])
    model.encoder_ = CategoryEncoder.from_json(model.categorical_, meta["encoder"])
    model.parts_ = _Parts(blob["booster"], blob["linear"], float(meta["blend"]))
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

