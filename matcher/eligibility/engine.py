"""The eligibility pipeline: rules → knowledge-value index → PD → limit → reasons → decision record.

``assess_frame`` runs every stage vectorised over the target startups; ``assess`` wraps its rows into
``Decision`` records. ``assess_one`` serves the API: it computes the same inputs for one firm without
frames (``evaluate_tech_sme``, ``features_one``, ``pledge_one``) and then runs the shared decision stage
(``_decide``), so the API and the batch command give identical decisions, hash included — the property
tests check this on random firms.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import IPAsset, IPStatus, LoanProduct, ProductKind, Startup
from matcher.eligibility.decision import Decision, canonical_json
from matcher.eligibility.kv_index import KVInputs, grade_of, indicator_points, kv_frame, kv_score
from matcher.eligibility.limits import credit_limits, pledge_frame, pledge_one
from matcher.eligibility.pd_model import PDModel, features_one, load_pd_model, pd_features, train_pd_model
from matcher.eligibility.policy import GRADES, Policy, ProductRules, default_policy
from matcher.eligibility.reasons import Reason, catalogue, order_codes
from matcher.eligibility.tech_sme import TECH_SME_CONDITIONS, evaluate_tech_sme, tech_sme_frame
from matcher.errors import InvalidInputError, NotFittedError
from matcher.io import TABLES, DataSet
from matcher.taxonomy import sector_code

PRIOR_MODEL_PATH = Path(__file__).parent / "models" / "prior.skops"
CONTRACT_COLUMNS: tuple[str, ...] = (
    "startup_id", "product", "eligible", "tech_sme_score", "tech_sme_qualified", "grade", "pd",
    "credit_limit_wan", "reasons",
)
# The firm and IP columns a decision reads: exactly these enter the input hash.
FIRM_INPUTS: tuple[str, ...] = (
    "startup_id", "sector", "stage", "founded_on", "region", "employees", "rd_staff", "revenue_wan",
    "rd_expense_wan", "total_cost_wan", "total_assets_wan", "funding_ask_wan", "high_tech_enterprise",
    "provincial_rd_center", "national_award_5y", "standards_led_5y", "credit_flags",
)
IP_INPUTS: tuple[str, ...] = ("kind", "status", "granted_on", "expires_on", "appraised_value_wan")
EXTRA_COLUMNS: tuple[str, ...] = (
    "product_id", "kv_score", "reason_codes", "policy_version", "model_version", "model_source", "input_hash",
    "as_of",
)
_FIRM_SCHEMA: dict[str, pl.DataType] = {c: TABLES["startups"].schema[c] for c in FIRM_INPUTS}
_IP_SCHEMA: dict[str, pl.DataType] = {c: TABLES["ip_assets"].schema[c] for c in IP_INPUTS}
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
            return ProductSpec(kind, None, rules, rules.max_amount_wan, rules.term_months, None, ())
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
        product.kind, product.product_id, rules, cap, term, min_grade,
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
    """The given model; else one trained on ``data.loans`` issued before ``as_of``; else the prior."""
    if model is not None:
        return model
    try:
        return train_pd_model(data.startups, data.ip_assets, data.loans, as_of=as_of, policy=policy)
    except NotFittedError:
        return prior_model()


# --- the pipeline --------------------------------------------------------------------------------


def _select_targets(startups: pl.DataFrame, targets: Sequence[str] | None) -> pl.DataFrame:
    if targets is None:
        return startups
    wanted = list(dict.fromkeys(targets))
    known = set(startups["startup_id"].to_list())
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise InvalidInputError(
            f"{len(unknown)} target startup_id(s) not in startups.csv: {', '.join(unknown[:5])}", field="targets"
        )
    order = pl.DataFrame({"startup_id": wanted}, schema={"startup_id": pl.Utf8})
    return order.join(startups, on="startup_id", how="left", maintain_order="left")


def _ip_hash_frame(ip_assets: pl.DataFrame) -> pl.DataFrame:
    """The hashed IP of each firm: its rows' inputs, sorted so row order never changes a hash."""
    return (
        ip_assets.select("startup_id", *IP_INPUTS)
        # No status means granted (the contract's default), so both spellings hash alike.
        .with_columns(pl.col("status").fill_null(IPStatus.GRANTED.value))
        .sort(["startup_id", *IP_INPUTS], nulls_last=True)
        .group_by("startup_id", maintain_order=True)
        .agg(pl.struct(IP_INPUTS).alias("ip"))
    )


def _hashes(firms: pl.DataFrame, ip: pl.DataFrame, context: dict[str, Any]) -> list[str]:
    """sha256 of the context JSON plus the firm's inputs and its IP as one JSON object per firm."""
    rows = (
        firms.select(FIRM_INPUTS)
        .join(ip, on="startup_id", how="left", maintain_order="left")
        .select(pl.struct(pl.all()).struct.json_encode().alias("j"))["j"]
        .to_list()
    )
    prefix = (canonical_json(context) + "\n").encode()
    return [hashlib.sha256(prefix + r.encode()).hexdigest() for r in rows]


@dataclass(frozen=True, slots=True)
class FirmArrays:
    """What the decision stage needs per firm, as arrays (length 1 on the API path)."""

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
    """Hard conditions, limit and reasons — the same code for a frame of firms and for one firm."""
    n = len(pd)
    limit = credit_limits(
        spec.kind, rules=spec.rules, product_max_wan=spec.max_amount_wan, policy=policy, revenue_wan=a.revenue_wan,
        grade=a.grade, pledge_capacity_wan=a.pledge_capacity_wan,
    )
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
    hard["LIMIT_BELOW_MINIMUM"] = (limit > 0) & (limit < spec.rules.min_amount_wan) & ~no_grade & ~no_ip
    hard["PD_ABOVE_THRESHOLD"] = pd > spec.rules.pd_threshold
    eligible = np.ones(n, dtype=bool)
    for mask in hard.values():
        eligible &= ~mask
    lowering, raising = _factors(a, pd, spec=spec, policy=policy)
    return Outcome(eligible, np.where(eligible, limit, 0.0), order_codes(hard, lowering, raising, n))


def _amount_wan(ask: float | None, spec: ProductSpec) -> float:
    """The loan amount the PD is computed for: the firm's ask within the product maximum."""
    return min(ask, spec.max_amount_wan) if ask is not None and ask > 0 else spec.max_amount_wan


@dataclass(frozen=True, slots=True)
class Assessment:
    """A scored frame plus what turns its codes into texts."""

    frame: pl.DataFrame
    reasons: dict[str, Reason]


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
    tech = tech_sme_frame(firms, data.ip_assets, as_of=as_of, policy=policy)
    kv = kv_frame(firms, tech, policy)
    ask = pl.col("funding_ask_wan")
    amount = pl.when(ask > 0).then(pl.min_horizontal(ask, pl.lit(spec.max_amount_wan))).otherwise(spec.max_amount_wan)
    features = pd_features(
        firms, tech, kv, as_of=as_of, product_kind=spec.kind.value, amount_wan=amount,
        term_months=pl.lit(spec.term_months),
    )
    pd = np.round(model.predict_pd(features), 6)
    if spec.kind is ProductKind.IP_PLEDGE:
        pledge = pledge_frame(firms, data.ip_assets, as_of=as_of, policy=policy)
        pledge_capacity, pledgeable = pledge["pledge_capacity_wan"].to_numpy(), pledge["pledgeable_ip"].to_numpy()
    else:
        pledge_capacity, pledgeable = np.zeros(n), np.zeros(n, dtype=np.int64)
    labels = firms["sector"].drop_nulls().unique().to_list()
    failed = tech["tech_sme_failed"]
    arrays = FirmArrays(
        failed={c: failed.list.contains(c).to_numpy() for c in TECH_SME_CONDITIONS},
        direct=tech["tech_sme_direct"].to_numpy(),
        rd_points=tech["rd_points"].to_numpy(),
        tech_staff_points=tech["tech_staff_points"].to_numpy(),
        valid_class_i=tech["valid_class_i"].to_numpy(),
        valid_class_ii=tech["valid_class_ii"].to_numpy(),
        kv_points={k: kv[f"kv_{k}"].to_numpy() for k in policy.kv.weights},
        grade=kv["grade"].to_numpy().astype(object),
        revenue_wan=firms["revenue_wan"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        stage=np.asarray(firms["stage"].to_list(), dtype=object),
        sector_key=np.asarray(
            firms["sector"].replace_strict({s: _sector_key(s) for s in labels}, default=None, return_dtype=pl.Utf8)
            .to_list(), dtype=object,
        ),
        pledgeable_ip=pledgeable,
        pledge_capacity_wan=pledge_capacity,
    )
    outcome = _decide(arrays, pd, spec=spec, policy=policy)
    reasons = pl.Series("reasons", outcome.reasons, dtype=pl.Utf8)
    frame = pl.DataFrame(
        {
            "startup_id": firms["startup_id"],
            "product": pl.repeat(spec.kind.value, n, eager=True, dtype=pl.Utf8),
            "eligible": outcome.eligible,
            "tech_sme_score": tech["tech_sme_score"],
            "tech_sme_qualified": tech["tech_sme_qualified"],
            "grade": kv["grade"],
            "pd": pd,
            "credit_limit_wan": outcome.credit_limit_wan,
            "reasons": reasons,
            "kv_score": kv["kv_score"],
            "input_hash": _hashes(firms, _ip_hash_frame(data.ip_assets), _context(as_of, spec, policy, model)),
        },
        schema_overrides={"grade": pl.Utf8, "tech_sme_score": pl.Int64, "input_hash": pl.Utf8},
    ).with_columns(
        pl.lit(spec.product_id, dtype=pl.Utf8).alias("product_id"),
        pl.when(pl.col("reasons") == "").then(pl.lit([], dtype=pl.List(pl.Utf8)))
        .otherwise(pl.col("reasons").str.split(";")).alias("reason_codes"),
        pl.lit(policy.version).alias("policy_version"),
        pl.lit(model.model_version_).alias("model_version"),
        pl.lit(model.source).alias("model_source"),
        pl.lit(as_of, dtype=pl.Date).alias("as_of"),
    ).select(*CONTRACT_COLUMNS, *EXTRA_COLUMNS)
    return Assessment(frame, catalogue(policy, spec.rules, min_grade=spec.min_grade))


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

    The first nine columns are the contract of ``roadshow eligibility`` (reasons as ``;``-joined
    codes); after them come product_id, kv_score, reason_codes (list), policy_version,
    model_version, model_source, input_hash and as_of.
    """
    return _assess(data, product=product, as_of=as_of, model=model, targets=targets, policy=policy).frame


def _decisions(assessment: Assessment) -> list[Decision]:
    texts = assessment.reasons
    return [
        Decision(
            startup_id=r["startup_id"], product=r["product"], product_id=r["product_id"], eligible=r["eligible"],
            tech_sme_score=r["tech_sme_score"], tech_sme_qualified=r["tech_sme_qualified"], kv_score=r["kv_score"],
            grade=r["grade"], pd=r["pd"], credit_limit_wan=r["credit_limit_wan"],
            reasons=tuple(texts[c] for c in r["reason_codes"]), policy_version=r["policy_version"],
            model_version=r["model_version"], model_source=r["model_source"], input_hash=r["input_hash"],
            as_of=r["as_of"],
        )
        for r in assessment.frame.iter_rows(named=True)
    ]


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


def _ip_sort_key(ip: IPAsset) -> tuple[tuple[bool, Any], ...]:
    """The batch sort order of one firm's IP (by IP_INPUTS, nulls last)."""
    values = (ip.kind.value, ip.status.value, ip.granted_on, ip.expires_on, ip.appraised_value_wan)
    return tuple((v is None, v if v is not None else 0) for v in values)


def _hash_row(startup: Startup) -> dict[str, Any]:
    """The record as the batch path's hashed row: firm inputs, stage as its value, IP sorted the batch
    way into a list of structs (null when none)."""
    row: dict[str, Any] = {c: getattr(startup, c) for c in FIRM_INPUTS}
    row["stage"] = None if startup.stage is None else startup.stage.value
    row["ip"] = [
        {"kind": a.kind.value, "status": a.status.value, "granted_on": a.granted_on, "expires_on": a.expires_on,
         "appraised_value_wan": a.appraised_value_wan}
        for a in sorted(startup.ip_assets, key=_ip_sort_key)
    ] or None
    return row


def _polars_json(row: dict[str, Any]) -> str:
    """The canonical text: the batch path's polars encoding of the row in canonical dtypes."""
    schema = {**_FIRM_SCHEMA, "ip": pl.List(pl.Struct(_IP_SCHEMA))}
    frame = pl.DataFrame([row], schema=schema, orient="row")
    return str(frame.select(pl.struct(pl.all()).struct.json_encode())[0, 0])


_INT64 = (-(2**63), 2**63 - 1)
_CONTROL = re.compile(r"[\x00-\x1f]")


def _json_scalar(value: Any, dtype: pl.DataType) -> str | None:
    """``value`` as polars' JSON encoder writes it in a ``dtype`` column, or None where this plain
    formatter is not sure to agree (exponent or non-finite floats, control characters, unexpected
    types) — the caller then asks polars itself."""
    if value is None:
        return "null"
    if dtype == pl.Utf8:
        return None if type(value) is not str or _CONTROL.search(value) else json.dumps(value, ensure_ascii=False)
    if dtype == pl.Float64:
        if type(value) is not float and type(value) is not int:
            return None
        text = repr(float(value))
        return None if "e" in text or "n" in text else text  # polars writes 1e-05 as 0.00001, nan as null
    if dtype == pl.Int64:
        return str(value) if type(value) is int and _INT64[0] <= value <= _INT64[1] else None
    if dtype == pl.Boolean:
        return ("true" if value else "false") if type(value) is bool else None
    if dtype == pl.Date:
        return f'"{value.isoformat()}"' if type(value) is date else None
    return None


def _struct_json(values: dict[str, Any], schema: dict[str, pl.DataType]) -> str | None:
    parts = []
    for column, dtype in schema.items():
        text = _json_scalar(values[column], dtype)
        if text is None:
            return None
        parts.append(f'"{column}":{text}')
    return "{" + ",".join(parts) + "}"


def _canonical_row_json(row: dict[str, Any]) -> str:
    """Polars' encoding of a hashed row (``_polars_json``), written directly in the common case:
    building a one-row frame costs about a millisecond, a third of the one-firm budget."""
    firm = _struct_json(row, _FIRM_SCHEMA)
    ips = [_struct_json(ip, _IP_SCHEMA) for ip in row["ip"] or ()]
    if firm is None or None in ips:
        return _polars_json(row)
    ip_text = "null" if row["ip"] is None else "[" + ",".join(t for t in ips if t is not None) + "]"
    return firm[:-1] + ',"ip":' + ip_text + "}"


def _hash_one(startup: Startup, context: dict[str, Any]) -> str:
    """The batch path's hash for one record: the same canonical text (``_polars_json``)."""
    text = canonical_json(context) + "\n" + _canonical_row_json(_hash_row(startup))
    return hashlib.sha256(text.encode()).hexdigest()


def assess_one(
    startup: Startup,
    *,
    product: str | LoanProduct,
    as_of: date,
    model: PDModel,
    policy: Policy | None = None,
) -> Decision:
    """One firm's decision for the API, computed without frames (fast once the model is loaded).

    ``product`` is a kind or a ``LoanProduct``. The rules run through ``evaluate_tech_sme`` and the
    shared array-level decision stage, so the result (input hash included) equals what ``assess``
    gives for the same firm; the property tests check that on random firms.
    """
    policy = policy or default_policy()
    spec = resolve_product(product, None, policy)
    tech = evaluate_tech_sme(startup, as_of, policy)
    routes = ("high_tech_enterprise", "provincial_rd_center", "national_award_5y", "standards_led_5y")
    kv_inputs = KVInputs(
        valid_class_i=np.array([tech.valid_class_i]), valid_class_ii=np.array([tech.valid_class_ii]),
        rd_points=np.array([tech.rd_points]), tech_staff_points=np.array([tech.tech_staff_points]),
        revenue_wan=np.array([np.nan if startup.revenue_wan is None else startup.revenue_wan], dtype=np.float64),
        stage=np.array([None if startup.stage is None else startup.stage.value], dtype=object),
        recognition={r: np.array([bool(getattr(startup, r))]) for r in routes},
    )
    points = indicator_points(kv_inputs, policy)
    kv = kv_score(points, policy)
    grade = grade_of(kv, policy)
    features = features_one(
        startup, tech, float(kv[0]), as_of=as_of, product_kind=spec.kind.value,
        amount_wan=_amount_wan(startup.funding_ask_wan, spec), term_months=spec.term_months,
    )
    pd = np.round(np.array([model.predict_pd_one(features)]), 6)
    pledgeable, capacity = (
        pledge_one(startup, as_of=as_of, policy=policy) if spec.kind is ProductKind.IP_PLEDGE else (0, 0.0)
    )
    sector = startup.sector
    arrays = FirmArrays(
        failed={c: np.array([c in tech.failed]) for c in TECH_SME_CONDITIONS},
        direct=np.array([tech.direct]),
        rd_points=kv_inputs.rd_points,
        tech_staff_points=kv_inputs.tech_staff_points,
        valid_class_i=kv_inputs.valid_class_i,
        valid_class_ii=kv_inputs.valid_class_ii,
        kv_points=points,
        grade=grade,
        revenue_wan=kv_inputs.revenue_wan,
        stage=kv_inputs.stage,
        sector_key=np.array([None if sector is None else _sector_key(sector)], dtype=object),
        pledgeable_ip=np.array([pledgeable]),
        pledge_capacity_wan=np.array([capacity]),
    )
    outcome = _decide(arrays, pd, spec=spec, policy=policy)
    texts = catalogue(policy, spec.rules, min_grade=spec.min_grade)
    codes = outcome.reasons[0]
    return Decision(
        startup_id=startup.startup_id, product=spec.kind.value, product_id=spec.product_id,
        eligible=bool(outcome.eligible[0]), tech_sme_score=tech.score, tech_sme_qualified=tech.qualified,
        kv_score=float(kv[0]), grade=grade[0], pd=float(pd[0]), credit_limit_wan=float(outcome.credit_limit_wan[0]),
        reasons=tuple(texts[c] for c in codes.split(";") if c), policy_version=policy.version,
        model_version=model.model_version_, model_source=model.source,
        input_hash=_hash_one(startup, _context(as_of, spec, policy, model)), as_of=as_of,
    )
