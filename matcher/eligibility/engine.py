"""The eligibility pipeline: rules → knowledge-value index → PD → limit → reasons → decision record.

One path: ``assess_frame`` runs every stage vectorised over the target startups, and ``assess`` wraps
its rows into ``Decision`` records. One firm (the API) is a one-row frame through the same code.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import IPStatus, LoanProduct, ProductKind
from matcher.eligibility.decision import Decision, LimitDerivation, canonical_json
from matcher.eligibility.kv_index import kv_frame
from matcher.eligibility.limits import CAPS, Limits, credit_limits, derivations, pledge_frame
from matcher.eligibility.pd_model import PDModel, load_pd_model, pd_features, train_pd_model
from matcher.eligibility.policy import GRADES, Policy, ProductRules, default_policy
from matcher.eligibility.reasons import Reason, catalogue, order_codes
from matcher.eligibility.tech_sme import TECH_SME_CONDITIONS, tech_sme_evaluation
from matcher.errors import InvalidInputError, NotFittedError
from matcher.io import DataSet
from matcher.taxonomy import sector_code

PRIOR_MODEL_PATH = Path(__file__).parent / "models" / "prior.skops"
CONTRACT_COLUMNS: tuple[str, ...] = (
    "startup_id", "product", "eligible", "tech_sme_score", "tech_sme_qualified", "grade", "pd",
    "credit_limit_wan", "reasons",
)
# The firm and IP columns a decision reads: exactly these enter the input hash.
FIRM_INPUTS: tuple[str, ...] = (
    "startup_id", "sector", "stage", "founded_on", "region", "city", "employees", "rd_staff", "revenue_wan",
    "rd_expense_wan", "total_cost_wan", "total_assets_wan", "funding_ask_wan", "high_tech_enterprise",
    "provincial_rd_center", "national_award_5y", "standards_led_5y", "credit_flags",
)
IP_INPUTS: tuple[str, ...] = ("kind", "status", "granted_on", "expires_on", "appraised_value_wan")
# What scores.csv appends after the contract's columns (DATA_FORMAT.md).
SCORES_COLUMNS: tuple[str, ...] = (*CONTRACT_COLUMNS, "policy_version", "model_version", "input_hash", "limit_basis")
EXTRA_COLUMNS: tuple[str, ...] = (
    "policy_version", "model_version", "input_hash", "limit_basis", "product_id", "kv_score", "reason_codes",
    "model_source", "as_of", "revenue_wan", "limit_computed_wan", "limit_bound_by",
    *(f"cap_{c}" for c in ("grade_line", "product_max", "revenue_capacity", "pledge_value", "per_firm_cap")),
)
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]


def _sector_key(label: str) -> str:
    return sector_code(label) or label.strip().lower()


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A product's terms after applying the policy defaults of its kind."""

    kind: ProductKind
    product_id: str | None
    bank_id: str | None
    rules: ProductRules
    max_amount_wan: float
    term_months: int
    min_grade: str | None
    sectors: tuple[str, ...]  # sector keys; empty = every sector

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value, "product_id": self.product_id, "max_amount_wan": self.max_amount_wan,
            "term_months": self.term_months, "min_grade": self.min_grade, "sectors": list(self.sectors),
            "pd_threshold": self.rules.pd_threshold,
        }


def resolve_product(product: str | LoanProduct, data: DataSet | None, policy: Policy) -> ProductSpec:
    """A kind name (policy defaults), a ``product_id`` of ``data.loan_products``, or a ``LoanProduct``."""
    if isinstance(product, str):
        if product in {k.value for k in ProductKind}:
            kind = ProductKind(product)
            rules = policy.product(kind)
            return ProductSpec(kind, None, None, rules, rules.max_amount_wan, rules.term_months, None, ())
        rows = data.loan_products.filter(pl.col("product_id") == product) if data is not None else None
        if rows is None or rows.height == 0:
            raise InvalidInputError(
                f"unknown product {product!r}: give knowledge_value_credit, ip_pledge, other or a product_id "
                "of loan_products.csv",
                field="product",
            )
        row = rows.row(0, named=True)
        product = LoanProduct(
            product_id=row["product_id"], bank_id=row["bank_id"], kind=ProductKind(row["kind"]), name=row["name"],
            max_amount_wan=row["max_amount_wan"], max_term_months=row["max_term_months"],
            min_grade=row["min_grade"], sectors=tuple(row["sectors"] or ()),
        )
    rules = policy.product(product.kind)
    min_grade = (product.min_grade or "").strip().upper() or None
    if min_grade is not None and min_grade not in GRADES:
        raise InvalidInputError(f"min_grade {product.min_grade!r} is not one of A–E", field="min_grade")
    # The bank's own product terms override the policy defaults of its kind.
    cap = rules.max_amount_wan if product.max_amount_wan is None else product.max_amount_wan
    term = product.max_term_months or rules.term_months
    return ProductSpec(
        product.kind, product.product_id, product.bank_id, rules, cap, term, min_grade,
        tuple(sorted({_sector_key(s) for s in product.sectors if s.strip()})),
    )


# --- the PD model a decision uses ----------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def prior_model() -> PDModel:
    """The documented prior (trained on the sample world), used when a bank has no loan history."""
    if not PRIOR_MODEL_PATH.exists():
        raise NotFittedError(
            f"no loan history to train on and no prior model at {PRIOR_MODEL_PATH}; "
            "build it with matcher.eligibility.build_prior_model()"
        )
    return load_pd_model(PRIOR_MODEL_PATH, source="prior")


def resolve_model(data: DataSet, *, as_of: date, model: PDModel | None, policy: Policy) -> PDModel:
    """The given model; else one trained on ``data.loans`` issued before ``as_of``; else the prior,
    carrying in ``fallback_reason`` why the book could not train its own."""
    if model is not None:
        return model
    try:
        return train_pd_model(data.startups, data.ip_assets, data.loans, as_of=as_of, policy=policy)
    except NotFittedError as exc:
        return dataclasses.replace(prior_model(), fallback_reason=str(exc))


# --- the pipeline --------------------------------------------------------------------------------


def _sector_keys(sector: pl.Series, labels: list[str]) -> ObjArray:
    """Each row's sector key (None without a sector): the distinct labels' keys indexed by the label's
    Enum code, a cast rather than a replace_strict query (a join, a fixed cost on the API's one firm)."""
    keys: ObjArray = np.asarray([_sector_key(s) for s in labels] + [None], dtype=object)
    code = sector.cast(pl.Enum(labels)).to_physical().to_numpy().astype(np.float64)  # null → NaN
    return np.asarray(keys[np.nan_to_num(code, nan=len(labels)).astype(np.int64)], dtype=object)


def _select_targets(startups: pl.DataFrame, targets: Sequence[str] | None) -> pl.DataFrame:
    if targets is None:
        return startups
    wanted = list(dict.fromkeys(targets))
    ids = startups["startup_id"].to_list()
    if ids == wanted:  # the API loads exactly its targets, in order
        return startups
    known = set(ids)
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise InvalidInputError(
            f"{len(unknown)} target startup_id(s) not in startups.csv: {', '.join(unknown[:5])}", field="targets"
        )
    order = pl.DataFrame({"startup_id": wanted}, schema={"startup_id": pl.Utf8})
    return order.join(startups, on="startup_id", how="left", maintain_order="left")


def _hashes(firms: pl.DataFrame, ip_assets: pl.DataFrame, context: dict[str, Any]) -> list[str]:
    """sha256 of the context JSON plus the firm's inputs and its IP as one JSON object per firm; the IP
    rows are sorted so their order never changes a hash."""
    # Sorted before the group-by: a sort inside each group costs the 100,000-firm batch a third more.
    ip = (ip_assets.sort(["startup_id", *_IP_FIELDS], nulls_last=True)
          .group_by("startup_id", maintain_order=True).agg(pl.struct(_IP_FIELDS).alias("ip")))
    rows = firms.join(ip, on="startup_id", how="left", maintain_order="left").select(_HASHED)["j"].to_list()
    prefix = (canonical_json(context) + "\n").encode()
    return [hashlib.sha256(prefix + r.encode()).hexdigest() for r in rows]


# Built once (constructing polars expressions costs more than running them on one row). No status
# means granted (the contract's default), so both spellings hash alike.
_IP_FIELDS = tuple(pl.col("status").fill_null(IPStatus.GRANTED.value) if c == "status" else pl.col(c)
                   for c in IP_INPUTS)
_HASHED = pl.struct(*FIRM_INPUTS, "ip").struct.json_encode().alias("j")


@dataclass(frozen=True, slots=True)
class FirmArrays:
    """What the decision stage needs per firm, as arrays."""

    failed: dict[str, BoolArray]  # tech-SME conditions
    direct: BoolArray
    rd_points: IntArray
    tech_staff_points: IntArray
    valid_class_i: IntArray
    valid_class_ii: IntArray
    kv_points: dict[str, FloatArray]
    grade: ObjArray
    revenue_wan: FloatArray  # NaN = missing
    stage: ObjArray
    sector_key: ObjArray
    pledgeable_ip: IntArray
    pledge_capacity_wan: FloatArray


@dataclass(frozen=True, slots=True)
class Outcome:
    eligible: BoolArray
    credit_limit_wan: FloatArray
    limit_computed_wan: FloatArray
    limit_basis: ObjArray
    bound_by: ObjArray
    caps: dict[str, FloatArray]
    reasons: list[str]  # ;-joined codes


def _factors(
    a: FirmArrays, pd: FloatArray, *, spec: ProductSpec, policy: Policy
) -> tuple[dict[str, tuple[BoolArray, FloatArray]], dict[str, tuple[BoolArray, FloatArray]]]:
    """(lowering, raising) factors: code → (fires, weight in index points)."""
    w, f, t = policy.kv.weights, policy.factors, policy.tech_sme
    lost = {k: w[k] * (100.0 - a.kv_points[k]) for k in w}
    won = {k: w[k] * a.kv_points[k] for k in w}
    revenue = np.where(np.isnan(a.revenue_wan), 0.0, a.revenue_wan)
    early = np.array([s in f.early_stages for s in a.stage], dtype=bool)
    pd_share = pd / max(spec.rules.pd_threshold, 1e-9)
    class_i, class_ii = a.valid_class_i, a.valid_class_ii
    lowering = {
        "NO_VALID_IP": (class_i + class_ii == 0, lost["ip"]),
        "NO_CLASS_I_IP": ((class_i == 0) & (class_ii > 0), lost["ip"]),
        "LOW_RD_INTENSITY": (a.rd_points < t.rd_sales_bands.lookup(f.low_rd_intensity_below), lost["rd_investment"]),
        "LOW_TECH_STAFF_RATIO": (a.tech_staff_points < t.tech_staff_bands.lookup(f.low_tech_staff_below),
                                 lost["talent"]),
        "LOW_REVENUE": (revenue < f.low_revenue_below_wan, lost["commercialisation"]),
        "EARLY_STAGE": (early, lost["growth"]),
        "ELEVATED_PD": ((pd_share > f.elevated_pd_share) & (pd_share <= 1.0), f.pd_factor_weight * pd_share),
    }
    raising = {
        "VALID_INVENTION_PATENT": (class_i >= 1, won["ip"]),
        "HIGH_RD_INTENSITY": (a.rd_points >= t.rd_sales_bands.lookup(f.high_rd_intensity_from), won["rd_investment"]),
        "HIGH_TECH_STAFF_RATIO": (a.tech_staff_points >= t.tech_staff_bands.lookup(f.high_tech_staff_from),
                                  won["talent"]),
        "STRONG_REVENUE": (revenue >= f.high_revenue_from_wan, won["commercialisation"]),
        "RECOGNISED_INNOVATOR": (a.direct, won["recognition"]),
        "LOW_PD": (pd_share <= f.low_pd_share, f.pd_factor_weight * (1.0 - pd_share)),
    }
    return lowering, raising


def _decide(a: FirmArrays, pd: FloatArray, *, spec: ProductSpec, policy: Policy) -> Outcome:
    """Hard conditions, limit and its basis, and reasons, vectorised over the firms."""
    n = len(pd)
    limits = credit_limits(
        spec.kind, rules=spec.rules, product_max_wan=spec.max_amount_wan, policy=policy, revenue_wan=a.revenue_wan,
        grade=a.grade, pledge_capacity_wan=a.pledge_capacity_wan,
    )
    limit = limits.limit_wan
    tech_codes = TECH_SME_CONDITIONS if spec.rules.requires_tech_sme else ("ADVERSE_CREDIT",)
    hard: dict[str, BoolArray] = {c: a.failed[c] for c in tech_codes}
    if spec.sectors:
        covered = set(spec.sectors)
        hard["SECTOR_NOT_COVERED"] = np.array([k not in covered for k in a.sector_key], dtype=bool)
    graded = np.array([g is not None for g in a.grade], dtype=bool)
    no_grade = ~graded if spec.rules.requires_grade else np.zeros(n, dtype=bool)
    hard["NO_GRADE"] = no_grade
    if spec.min_grade is not None:
        worse = np.array([g is None or g > spec.min_grade for g in a.grade], dtype=bool)
        hard["GRADE_BELOW_MIN"] = worse & ~no_grade
    no_ip = (a.pledgeable_ip == 0) if spec.kind is ProductKind.IP_PLEDGE else np.zeros(n, dtype=bool)
    hard["NO_PLEDGEABLE_IP"] = no_ip
    hard["ZERO_CREDIT_LIMIT"] = (limit <= 0) & ~no_grade & ~no_ip
    below_min = (limit > 0) & (limit < spec.rules.min_amount_wan) & ~no_grade & ~no_ip
    hard["LIMIT_BELOW_MINIMUM"] = below_min
    hard["PD_ABOVE_THRESHOLD"] = pd > spec.rules.pd_threshold
    eligible = np.ones(n, dtype=bool)
    for mask in hard.values():
        eligible &= ~mask
    basis = np.where(eligible, limits.bound_by, np.where(below_min, "product_min", "not_eligible")).astype(object)
    lowering, raising = _factors(a, pd, spec=spec, policy=policy)
    return Outcome(eligible, np.where(eligible, limit, 0.0), limit, basis, limits.bound_by, dict(limits.caps),
                   order_codes(hard, lowering, raising, eligible))


@dataclass(frozen=True, slots=True)
class Assessment:
    """A scored frame plus what turns its codes into texts."""

    frame: pl.DataFrame
    reasons: dict[str, Reason]
    spec: ProductSpec
    model: PDModel


def _context(as_of: date, spec: ProductSpec, policy: Policy, model: PDModel) -> dict[str, Any]:
    return {
        "as_of": as_of.isoformat(), "product": spec.as_json(), "policy_version": policy.version,
        "model_version": model.model_version_, "model_source": model.source,
    }


def _assess(
    data: DataSet,
    *,
    product: str | LoanProduct,
    as_of: date,
    model: PDModel | None,
    targets: Sequence[str] | None,
    policy: Policy | None,
) -> Assessment:
    policy = policy or default_policy()
    spec = resolve_product(product, data, policy)
    model = resolve_model(data, as_of=as_of, model=model, policy=policy)
    firms = _select_targets(data.startups, targets)
    n = firms.height
    evaluation = tech_sme_evaluation(firms, data.ip_assets, as_of=as_of, policy=policy)
    tech = evaluation.frame
    kv = kv_frame(firms, tech, policy)
    # The PD is computed for the loan the firm would take: its ask within the product maximum.
    ask = pl.col("funding_ask_wan")
    amount = pl.when(ask > 0).then(pl.min_horizontal(ask, pl.lit(spec.max_amount_wan))).otherwise(spec.max_amount_wan)
    features = pd_features(
        firms, tech, kv, as_of=as_of, product_kind=spec.kind.value, amount_wan=amount,
        term_months=pl.lit(spec.term_months), bank_id=spec.bank_id,
    )
    pd = np.round(model.predict_pd(features), 6)
    if spec.kind is ProductKind.IP_PLEDGE:
        pledge = pledge_frame(firms, data.ip_assets, as_of=as_of, policy=policy)
        pledge_capacity, pledgeable = pledge["pledge_capacity_wan"].to_numpy(), pledge["pledgeable_ip"].to_numpy()
    else:
        pledge_capacity, pledgeable = np.zeros(n), np.zeros(n, dtype=np.int64)
    labels = [s for s in dict.fromkeys(firms["sector"].to_list()) if s is not None]
    # A float Series' nulls come out of to_numpy as NaN (a Series cast is no query, a select would be).
    revenue = firms["revenue_wan"].cast(pl.Float64).to_numpy()
    arrays = FirmArrays(
        failed=evaluation.failed,
        direct=tech["tech_sme_direct"].to_numpy(),
        rd_points=tech["rd_points"].to_numpy(),
        tech_staff_points=tech["tech_staff_points"].to_numpy(),
        valid_class_i=tech["valid_class_i"].to_numpy(),
        valid_class_ii=tech["valid_class_ii"].to_numpy(),
        kv_points={k: kv[f"kv_{k}"].to_numpy() for k in policy.kv.weights},
        grade=kv["grade"].to_numpy().astype(object),
        revenue_wan=revenue,
        stage=np.asarray(firms["stage"].to_list(), dtype=object),
        sector_key=_sector_keys(firms["sector"], labels),
        pledgeable_ip=pledgeable,
        pledge_capacity_wan=pledge_capacity,
    )
    outcome = _decide(arrays, pd, spec=spec, policy=policy)
    caps = {f"cap_{c}": outcome.caps.get(c, np.full(n, np.nan))
            for c in ("grade_line", "product_max", "revenue_capacity", "pledge_value", "per_firm_cap")}
    # Every column in the constructor, constants repeated from one value: literals in a with_columns
    # and a select to order the columns cost the API's one firm two queries; the code lists are one.
    reasons = pl.Series("reasons", outcome.reasons, dtype=pl.Utf8)
    frame = pl.DataFrame(
        {
            "startup_id": firms["startup_id"],
            "product": _constant(spec.kind.value, pl.Utf8, n),
            "eligible": outcome.eligible,
            "tech_sme_score": tech["tech_sme_score"].cast(pl.Int64),
            "tech_sme_qualified": tech["tech_sme_qualified"],
            "grade": kv["grade"].cast(pl.Utf8),
            "pd": pd,
            "credit_limit_wan": outcome.credit_limit_wan,
            "reasons": reasons,
            "policy_version": _constant(policy.version, pl.Utf8, n),
            "model_version": _constant(model.model_version_, pl.Utf8, n),
            "input_hash": pl.Series("input_hash", _hashes(firms, data.ip_assets, _context(as_of, spec, policy, model)),
                                    dtype=pl.Utf8),
            "limit_basis": pl.Series("limit_basis", outcome.limit_basis.tolist(), dtype=pl.Utf8),
            "product_id": _constant(spec.product_id, pl.Utf8, n),
            "kv_score": kv["kv_score"],
            "reason_codes": reasons.to_frame().select(_REASON_CODES).to_series(),
            "model_source": _constant(model.source, pl.Utf8, n),
            "as_of": _constant(as_of, pl.Date, n),
            "revenue_wan": revenue,
            "limit_computed_wan": outcome.limit_computed_wan,
            "limit_bound_by": pl.Series("limit_bound_by", outcome.bound_by.tolist(), dtype=pl.Utf8),
            **caps,
        }
    )
    return Assessment(frame, catalogue(policy, spec.rules, min_grade=spec.min_grade), spec, model)


_REASON_CODES = (
    pl.when(pl.col("reasons") == "").then(pl.lit([], dtype=pl.List(pl.Utf8)))
    .otherwise(pl.col("reasons").str.split(";")).alias("reason_codes")
)


def _constant(value: Any, dtype: pl.DataType | type[pl.DataType], n: int) -> pl.Series:
    return pl.Series([value], dtype=dtype).new_from_index(0, n)


def assess_frame(
    data: DataSet,
    *,
    product: str | LoanProduct,
    as_of: date,
    model: PDModel | None = None,
    targets: Sequence[str] | None = None,
    policy: Policy | None = None,
) -> pl.DataFrame:
    """Score every target (default: every startup) for one product, vectorised.

    The first columns are ``SCORES_COLUMNS``, what ``roadshow eligibility`` writes (reasons as
    ``;``-joined codes); after them come product_id, kv_score, reason_codes (list), model_source,
    as_of, revenue_wan, limit_computed_wan and limit_bound_by (before eligibility) and each cap's value
    (``cap_*``, NaN where the product kind has no such cap).
    """
    return _assess(data, product=product, as_of=as_of, model=model, targets=targets, policy=policy).frame


def _decisions(assessment: Assessment) -> list[Decision]:
    texts, frame, spec = assessment.reasons, assessment.frame, assessment.spec
    caps = CAPS[spec.kind]
    zh, en = derivations(
        _limits_of(frame, caps), kind=spec.kind, rules=spec.rules,
        grade=np.asarray(frame["grade"].to_list(), dtype=object),
        revenue_wan=frame["revenue_wan"].to_numpy(),  # NaN where missing, never null (see _assess)
        basis=np.asarray(frame["limit_basis"].to_list(), dtype=object),
        offered_wan=frame["credit_limit_wan"].to_numpy(),
    )
    return [
        Decision(
            startup_id=r["startup_id"], product=r["product"], product_id=r["product_id"], eligible=r["eligible"],
            tech_sme_score=r["tech_sme_score"], tech_sme_qualified=r["tech_sme_qualified"], kv_score=r["kv_score"],
            grade=r["grade"], pd=r["pd"], credit_limit_wan=r["credit_limit_wan"],
            reasons=tuple(texts[c] for c in r["reason_codes"]), policy_version=r["policy_version"],
            model_version=r["model_version"], model_source=r["model_source"], input_hash=r["input_hash"],
            as_of=r["as_of"],
            limit=LimitDerivation(
                basis=r["limit_basis"], zh=zh[i], en=en[i],
                caps={c: float(r[f"cap_{c}"]) for c in caps if np.isfinite(r[f"cap_{c}"])},
            ),
        )
        for i, r in enumerate(frame.iter_rows(named=True))
    ]


def _limits_of(frame: pl.DataFrame, caps: Sequence[str]) -> Limits:
    return Limits(frame["limit_computed_wan"].to_numpy(), np.asarray(frame["limit_bound_by"].to_list(), dtype=object),
                  {c: frame[f"cap_{c}"].to_numpy() for c in caps})


def assess(
    data: DataSet,
    *,
    product: str | LoanProduct,
    as_of: date,
    model: PDModel | None = None,
    targets: Sequence[str] | None = None,
    policy: Policy | None = None,
) -> list[Decision]:
    """Decision records for every target (default: every startup) and one product.

    ``product`` is a kind (``knowledge_value_credit``, ``ip_pledge``, ``other``: the policy's defaults),
    a ``product_id`` of ``data.loan_products`` or a ``LoanProduct``. Without ``model`` the PD model is
    trained on ``data.loans`` issued before ``as_of``, or the prior is used when there are too few.
    """
    return _decisions(_assess(data, product=product, as_of=as_of, model=model, targets=targets, policy=policy))
