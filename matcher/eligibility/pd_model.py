"""Calibrated probability of default (PD) for a firm and a loan.

Model: scikit-learn's ``HistGradientBoostingClassifier`` (native NaN handling, native categoricals)
with monotone constraints where the direction is known — more valid invention / class-I patents,
higher R&D intensity, a larger tech-staff share or a 高新技术企业 certificate never raise the PD, more
adverse credit records, a larger loan relative to assets or a longer term never lower it — wrapped
in ``CalibratedClassifierCV`` (isotonic with enough
loans, sigmoid otherwise). Both calibrators are non-decreasing maps and the cross-validated ensemble
averages them, so the calibrated PD keeps the constraints.

Training rows are the loans issued before ``as_of`` whose outcome is known (the contract: an empty
``defaulted`` is unknown and not used); each loan's firm features
are computed as of its own issue date (IP valid then, firm age then), so no later fact leaks in. The
financial columns are the snapshot the data directory holds (the contract keeps one fiscal year).

Categoricals (product kind, sector, region): categories seen at least ``min_category_count`` times, at
most ``max_categories`` of them, are kept; rarer or unseen values share one "other" code and missing
stays missing, so a high-cardinality free-text region cannot explode the trees or overfit.

Persistence: skops. ``load_pd_model`` only trusts scikit-learn and numpy types, so a tampered file
cannot run code. ``model_version`` is a hash of the training data, the parameters and the
scikit-learn version, so the same training reproduces the same version.

Scoring: a frame goes through scikit-learn; one firm (``predict_pd_one``, the API path) goes through
the boosters flattened by ``matcher.trees`` at fit or load time, which return the same raw
scores to the bit without scikit-learn's per-call preprocessing; both then share one calibration step.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import sklearn
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from threadpoolctl import ThreadpoolController

from matcher.domain import STAGE_ORDER, Startup
from matcher.eligibility.kv_index import kv_frame
from matcher.eligibility.policy import Policy
from matcher.eligibility.tech_sme import AsOf, TechSmeResult, tech_sme_frame, to_units
from matcher.errors import InvalidInputError, NotFittedError
from matcher.taxonomy import sector_code
from matcher.trees import CompiledBooster

FloatArray = npt.NDArray[np.float64]
ModelSource = Literal["trained", "prior"]

NUMERIC_FEATURES: tuple[str, ...] = (
    "employees", "rd_staff", "revenue_wan", "rd_expense_wan", "total_cost_wan", "total_assets_wan",
    "tech_staff_ratio", "rd_sales_ratio", "rd_cost_ratio", "firm_age_years", "stage_ordinal",
    "high_tech_enterprise", "provincial_rd_center", "national_award_5y", "standards_led_5y", "credit_flags",
    "valid_invention_patents", "valid_class_i", "valid_class_ii", "valid_trademarks",
    "tech_sme_score", "kv_score", "amount_wan", "term_months", "amount_to_revenue", "amount_to_assets",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("product_kind", "sector", "region")
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES
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
_OTHER = "__other__"
_STAGE_INDEX = {s.value: i for i, s in enumerate(STAGE_ORDER)}


# --- features ------------------------------------------------------------------------------------

_FIRM_COLUMNS: tuple[str, ...] = (
    "employees", "rd_staff", "revenue_wan", "rd_expense_wan", "total_cost_wan", "total_assets_wan",
    "standards_led_5y", "credit_flags", "high_tech_enterprise", "provincial_rd_center", "national_award_5y",
)


def _positive(column: str) -> pl.Expr:
    """The column where positive, else null (a ratio over a zero or missing amount is missing)."""
    return pl.when(pl.col(column) > 0).then(pl.col(column))



def pd_features(
    firms: pl.DataFrame,
    tech: pl.DataFrame,
    kv: pl.DataFrame,
    *,
    as_of: AsOf,
    product_kind: str | pl.Expr,
    amount_wan: pl.Expr,
    term_months: pl.Expr,
) -> pl.DataFrame:
    """The model's feature frame, one row per row of ``firms`` (same order).

    ``firms`` has the startups columns; ``tech`` and ``kv`` are ``tech_sme_frame`` / ``kv_frame``
    outputs over the same rows. ``as_of`` is a date or the name of a date column of ``firms``.
    """
    on = pl.col(as_of) if isinstance(as_of, str) else pl.lit(as_of, dtype=pl.Date)
    kind = pl.lit(product_kind) if isinstance(product_kind, str) else product_kind
    # Map each distinct label once: taxonomy codes where known, the cleaned label otherwise.
    labels = firms["sector"].drop_nulls().unique().to_list()
    sector = pl.col("sector").replace_strict(
        {s: sector_code(s) or s.strip().lower() for s in labels}, default=None, return_dtype=pl.Utf8
    )
    return pl.concat(
        [
            firms.select(
                *(pl.col(c).cast(pl.Float64) for c in _FIRM_COLUMNS),
                ((on - pl.col("founded_on")).dt.total_days() / 365.25).alias("firm_age_years"),
                pl.col("stage")
                .replace_strict(_STAGE_INDEX, default=None, return_dtype=pl.Float64)
                .alias("stage_ordinal"),
                amount_wan.cast(pl.Float64).alias("amount_wan"),
                term_months.cast(pl.Float64).alias("term_months"),
                (amount_wan / _positive("revenue_wan")).alias("amount_to_revenue"),
                (amount_wan / _positive("total_assets_wan")).alias("amount_to_assets"),
                kind.cast(pl.Utf8).alias("product_kind"),
                sector.alias("sector"),
                pl.col("region").str.strip_chars().alias("region"),
            ),
            tech.select(
                "tech_staff_ratio", "rd_sales_ratio", "rd_cost_ratio",
                *(pl.col(c).cast(pl.Float64) for c in (
                    "valid_invention_patents", "valid_class_i", "valid_class_ii", "valid_trademarks", "tech_sme_score",
                )),
            ),
            kv.select(pl.col("kv_score").cast(pl.Float64)),
        ],
        how="horizontal",
    ).select(FEATURES)


@dataclass(frozen=True, slots=True)
class TrainingSet:
    loan_id: pl.Series
    features: pl.DataFrame
    defaulted: npt.NDArray[np.int64]
    issued_on: pl.Series


def training_set(
    startups: pl.DataFrame,
    ip_assets: pl.DataFrame,
    loans: pl.DataFrame,
    *,
    as_of: date | None,
    policy: Policy,
) -> TrainingSet:
    """Loans issued before ``as_of`` (all when None) with a known outcome, featurised as of issue."""
    labelled = loans.filter(pl.col("defaulted").is_not_null())
    if as_of is not None:
        labelled = labelled.filter(pl.col("issued_on") < as_of)
    labelled = labelled.join(startups, on="startup_id", how="inner").sort("loan_id")
    # Key every per-firm frame by loan so each loan is evaluated on its own issue date.
    firms = labelled.with_columns(pl.col("loan_id").alias("startup_id"))
    ip = labelled.select("loan_id", "startup_id", "issued_on").join(ip_assets, on="startup_id", how="inner")
    ip = ip.drop("startup_id").rename({"loan_id": "startup_id"})
    tech = tech_sme_frame(firms, ip, as_of="issued_on", policy=policy)
    kv = kv_frame(firms, tech, policy)
    feats = pd_features(
        firms, tech, kv,
        as_of="issued_on",
        product_kind=pl.col("product_kind"),
        amount_wan=pl.col("amount_wan"),
        term_months=pl.col("term_months"),
    )
    defaulted = labelled["defaulted"].cast(pl.Int64).to_numpy()
    return TrainingSet(labelled["loan_id"], feats, defaulted, labelled["issued_on"])


# --- the model -----------------------------------------------------------------------------------


def _calibrate(calibrator: Any, scores: FloatArray) -> FloatArray:
    """``calibrator.predict(scores)`` minus its input validation, which costs about 0.3 ms a call —
    as much as walking all the trees for one firm. Same arithmetic: clip then the fitted linear
    interpolation for isotonic, the fitted logistic for sigmoid; anything else goes through predict."""
    if isinstance(calibrator, IsotonicRegression) and calibrator.out_of_bounds == "clip":
        clipped = np.clip(scores, calibrator.X_min_, calibrator.X_max_)
        return np.asarray(calibrator.f_(clipped), dtype=np.float64)
    if isinstance(calibrator, _SigmoidCalibration):
        return np.asarray(expit(-(calibrator.a_ * scores + calibrator.b_)), dtype=np.float64)
    return np.asarray(calibrator.predict(scores), dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    # Scanning the process for thread pools reads /proc maps (≈ 8 ms): do it once per process.
    return ThreadpoolController()


def _one_thread() -> Any:
    """One OpenMP thread. Measured on two shared cores: 100,000 rows score in 0.8 s on one thread and
    2.2 s on two, 800 loans train in 0.7 s against 5 s; a single firm must not pay thread start-up."""
    return _threadpools().limit(limits=1, user_api="openmp")


@dataclass(slots=True)
class PDModel:
    """A fitted, calibrated PD model plus what is needed to encode features and to cite it."""

    # Measured on two seeds of the large sample world: 100 trees at rate 0.1 score as well as 200–400
    # slower ones (AUC within 0.002) and halve the one-firm latency.
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 6
    min_samples_leaf: int = 80
    l2_regularization: float = 1.0
    min_category_count: int = 20
    max_categories: int = 60
    random_state: int = 0
    source: ModelSource = "trained"
    estimator_: CalibratedClassifierCV | None = field(default=None, repr=False)
    categories_: dict[str, list[str]] = field(default_factory=dict)
    model_version_: str = ""
    n_loans_: int = 0
    default_rate_: float = float("nan")
    trained_until_: str = ""
    # The calibrated models' boosters flattened for the one-firm path; derived, so never saved.
    boosters_: tuple[CompiledBooster, ...] = field(default=(), repr=False, compare=False)

    def _compile(self) -> None:
        if self.estimator_ is None:
            raise NotFittedError("the PD model is not fitted; train it or load a saved one")
        self.boosters_ = tuple(
            CompiledBooster.from_estimator(part.estimator) for part in self.estimator_.calibrated_classifiers_
        )

    def _params(self) -> dict[str, Any]:
        return {
            "max_iter": self.max_iter, "learning_rate": self.learning_rate, "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf, "l2_regularization": self.l2_regularization,
            "min_category_count": self.min_category_count, "max_categories": self.max_categories,
            "random_state": self.random_state,
        }

    def _encode(self, features: pl.DataFrame) -> FloatArray:
        missing = [c for c in FEATURES if c not in features.columns]
        if missing:
            raise InvalidInputError(f"feature frame lacks {missing}", field=missing[0])
        columns: list[FloatArray] = [
            features[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in NUMERIC_FEATURES
        ]
        for c in CATEGORICAL_FEATURES:
            cats = self.categories_[c]
            index = {v: float(i) for i, v in enumerate(cats)}
            other = index.get(_OTHER, np.nan)
            col = features[c].cast(pl.Utf8)
            codes = col.replace_strict(index, default=other, return_dtype=pl.Float64)
            # replace_strict sends nulls to the default too; missing must stay missing for the trees.
            columns.append(np.where(col.is_null().to_numpy(), np.nan, codes.to_numpy()))
        return np.column_stack(columns) if columns else np.zeros((len(features), 0))

    def _learn_categories(self, features: pl.DataFrame) -> None:
        self.categories_ = {}
        for c in CATEGORICAL_FEATURES:
            counts = features[c].drop_nulls().value_counts(sort=True)
            kept = counts.filter(pl.col("count") >= self.min_category_count)[c].to_list()[: self.max_categories - 1]
            kept = sorted(kept)
            if len(kept) < counts.height:
                kept.append(_OTHER)
            self.categories_[c] = kept

    def fit(self, features: pl.DataFrame, defaulted: npt.NDArray[np.int64], *, trained_until: str = "") -> PDModel:
        y = np.asarray(defaulted, dtype=np.int64)
        n_pos = int(y.sum())
        if len(y) < MIN_TRAINING_LOANS or n_pos < MIN_TRAINING_DEFAULTS or n_pos == len(y):
            raise NotFittedError(
                f"need at least {MIN_TRAINING_LOANS} loans with known outcome and {MIN_TRAINING_DEFAULTS} defaults "
                f"and repaid loans to train; got {len(y)} loans, {n_pos} defaults"
            )
        self._learn_categories(features)
        x = self._encode(features)
        base = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            monotonic_cst=[MONOTONE.get(c, 0) for c in FEATURES],
            categorical_features=[c in CATEGORICAL_FEATURES for c in FEATURES],
            early_stopping=False,
            random_state=self.random_state,
        )
        method = "isotonic" if len(y) >= 2000 and n_pos >= 100 else "sigmoid"
        folds = int(min(5, n_pos, len(y) - n_pos))
        # ensemble=False: one booster on all loans, calibrated on out-of-fold predictions — as well
        # calibrated as the k-model ensemble, k times smaller on disk and k times faster to score.
        with _one_thread():
            self.estimator_ = CalibratedClassifierCV(base, method=method, cv=folds, ensemble=False).fit(x, y)
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(x).tobytes())
        digest.update(y.tobytes())
        digest.update(
            json.dumps(
                {"params": self._params(), "features": FEATURES, "monotone": dict(MONOTONE),
                 "categories": self.categories_, "sklearn": sklearn.__version__, "method": method},
                sort_keys=True,
            ).encode()
        )
        self.model_version_ = digest.hexdigest()[:16]
        self.n_loans_ = len(y)
        self.default_rate_ = float(y.mean())
        self.trained_until_ = trained_until
        self._compile()
        return self

    def _calibrated(self, raw: list[FloatArray]) -> FloatArray:
        """Average of the calibrators applied to their boosters' raw scores (what
        ``CalibratedClassifierCV.predict_proba`` computes for a binary target), clipped to [0, 1]."""
        if self.estimator_ is None:
            raise NotFittedError("the PD model is not fitted; train it or load a saved one")
        parts = self.estimator_.calibrated_classifiers_
        total = np.zeros(raw[0].shape[0])
        for part, scores in zip(parts, raw, strict=True):
            total += _calibrate(part.calibrators[0], scores)
        return np.clip(total / len(parts), 0.0, 1.0)

    def _predict(self, x: FloatArray) -> FloatArray:
        if self.estimator_ is None:
            raise NotFittedError("the PD model is not fitted; train it or load a saved one")
        if x.shape[0] == 0:
            return np.zeros(0)
        # Calling the parts directly skips the wrapper's per-call validation.
        with _one_thread():
            raw = [part.estimator.decision_function(x) for part in self.estimator_.calibrated_classifiers_]
        return self._calibrated(raw)

    def predict_pd(self, features: pl.DataFrame) -> FloatArray:
        """PD per row of a ``pd_features`` frame."""
        return self._predict(self._encode(features))

    def predict_pd_one(self, values: Mapping[str, float | str | None]) -> float:
        """PD of one feature row given as a mapping (the API path; no frames, so it stays fast).
        Encodes exactly as ``predict_pd``: numbers as floats (None → missing), categories by code; the
        compiled boosters give the same raw scores as scikit-learn's, so the same PD to the bit."""
        if not self.boosters_:
            self._compile()
        row = [np.nan if values[c] is None else float(values[c]) for c in NUMERIC_FEATURES]  # type: ignore[arg-type]
        for c in CATEGORICAL_FEATURES:
            value = values[c]
            cats = self.categories_[c]
            if value is None:
                row.append(np.nan)
            elif value in cats:
                row.append(float(cats.index(str(value))))
            else:
                row.append(float(cats.index(_OTHER)) if _OTHER in cats else np.nan)
        x = np.asarray([row], dtype=np.float64)
        return float(self._calibrated([b.decision_function(x) for b in self.boosters_])[0])

    def save(self, path: Path | str) -> Path:
        import skops.io as sio

        if self.estimator_ is None:
            raise NotFittedError("cannot save an unfitted PD model")
        meta = {
            "params": self._params(), "source": self.source, "categories": self.categories_,
            "model_version": self.model_version_, "n_loans": self.n_loans_, "default_rate": self.default_rate_,
            "trained_until": self.trained_until_, "features": list(FEATURES),
        }
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        sio.dump({"estimator": self.estimator_, "meta": json.dumps(meta, sort_keys=True)}, out)
        return out


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
    meta = json.loads(blob["meta"])
    if meta.get("features") != list(FEATURES):
        raise InvalidInputError(f"{p} was trained on other features; retrain it", field="model")
    model = PDModel(**meta["params"], source=source or meta["source"])
    model.estimator_ = blob["estimator"]
    model.categories_ = {k: list(v) for k, v in meta["categories"].items()}
    model.model_version_ = meta["model_version"]
    model.n_loans_ = int(meta["n_loans"])
    model.default_rate_ = float(meta["default_rate"])
    model.trained_until_ = str(meta["trained_until"])
    model._compile()
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
    """Fit on the loans issued before ``as_of`` with known outcomes (``NotFittedError`` if too few)."""
    ts = training_set(startups, ip_assets, loans, as_of=as_of, policy=policy)
    last = ts.issued_on.max()
    until = as_of or (last + timedelta(days=1) if isinstance(last, date) else None)
    model = PDModel(**dict(params or {}), source=source)
    return model.fit(ts.features, ts.defaulted, trained_until=str(until or ""))


def features_one(
    firm: Startup,
    tech: TechSmeResult,
    kv_score: float,
    *,
    as_of: date,
    product_kind: str,
    amount_wan: float,
    term_months: int,
) -> dict[str, float | str | None]:
    """The ``pd_features`` row of one firm, computed without frames (the API path). Must equal the
    frame path's row; ``test_eligibility_properties`` checks it on random firms."""

    def num(value: float | int | bool | None) -> float | None:
        return None if value is None else float(value)

    def over(numerator: float, denominator: float | None) -> float | None:
        return numerator / denominator if denominator is not None and denominator > 0 else None

    employees = firm.employees or 0
    rd = to_units(firm.rd_expense_wan) or 0
    revenue, cost = to_units(firm.revenue_wan), to_units(firm.total_cost_wan)
    sector = firm.sector
    return {
        "employees": num(firm.employees), "rd_staff": num(firm.rd_staff), "revenue_wan": num(firm.revenue_wan),
        "rd_expense_wan": num(firm.rd_expense_wan), "total_cost_wan": num(firm.total_cost_wan),
        "total_assets_wan": num(firm.total_assets_wan), "standards_led_5y": num(firm.standards_led_5y),
        "credit_flags": num(firm.credit_flags), "high_tech_enterprise": num(firm.high_tech_enterprise),
        "provincial_rd_center": num(firm.provincial_rd_center), "national_award_5y": num(firm.national_award_5y),
        "firm_age_years": None if firm.founded_on is None else (as_of - firm.founded_on).days / 365.25,
        "stage_ordinal": None if firm.stage is None else float(_STAGE_INDEX[firm.stage.value]),
        "amount_wan": amount_wan, "term_months": float(term_months),
        "amount_to_revenue": over(amount_wan, firm.revenue_wan),
        "amount_to_assets": over(amount_wan, firm.total_assets_wan),
        "product_kind": product_kind,
        "sector": None if sector is None else sector_code(sector) or sector.strip().lower(),
        "region": None if firm.region is None else firm.region.strip(),
        "tech_staff_ratio": over(float(firm.rd_staff or 0), employees),
        "rd_sales_ratio": None if revenue is None or revenue <= 0 else rd / revenue,
        "rd_cost_ratio": None if cost is None or cost <= 0 else rd / cost,
        "valid_invention_patents": float(tech.valid_invention_patents), "valid_class_i": float(tech.valid_class_i),
        "valid_class_ii": float(tech.valid_class_ii), "valid_trademarks": float(tech.valid_trademarks),
        "tech_sme_score": float(tech.score), "kv_score": kv_score,
    }
