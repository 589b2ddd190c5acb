"""科技型中小企业 evaluation (国科发政〔2017〕115号) exactly as POLICY.md §1 describes it.

One implementation: ``tech_sme_frame`` scores a polars frame of firms (one or many) with vectorised
integer arithmetic.

Exactness: amounts are taken at 1-yuan resolution (4 decimals of 万, rounded half-to-even), head
counts are integers, and band edges are exact decimals from the policy. A ratio ``a / b`` is compared
with an edge ``p / q`` as ``a·q ≥ p·b`` in integers, so R&D of 8.04万 on revenue of
134万 is exactly 6% and gets the 6% band.

Conventions where the method is silent (POLICY.md §1): a zero or missing denominator scores that ratio
0 (zero employees → 科技人员 0 → no qualification by score; zero revenue → only R&D ÷ total cost can
score); missing booleans and counts are false / 0; a missing amount is not evidence of exceeding a size
limit; conditions 1 and 3 (residency, catalogues) are not in the data and are taken as met.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import IP_CLASS_I, IP_CLASS_II, IPKind, IPStatus
from matcher.eligibility.policy import BandTable, Policy

SCALE = 10_000  # 1 yuan = 0.0001 万
_INT64_SAFE = 2**62

# Hard conditions of the method, in the order they are reported.
STAFF_OVER_LIMIT = "STAFF_OVER_LIMIT"
REVENUE_OVER_LIMIT = "REVENUE_OVER_LIMIT"
ASSETS_OVER_LIMIT = "ASSETS_OVER_LIMIT"
ADVERSE_CREDIT = "ADVERSE_CREDIT"
NO_TECH_STAFF_SCORE = "NO_TECH_STAFF_SCORE"
TECH_SME_SCORE_LOW = "TECH_SME_SCORE_LOW"
TECH_SME_CONDITIONS: tuple[str, ...] = (
    STAFF_OVER_LIMIT, REVENUE_OVER_LIMIT, ASSETS_OVER_LIMIT, ADVERSE_CREDIT, NO_TECH_STAFF_SCORE, TECH_SME_SCORE_LOW,
)

CLASS_I_KINDS: tuple[str, ...] = tuple(sorted(k.value for k in IP_CLASS_I))
CLASS_II_KINDS: tuple[str, ...] = tuple(sorted(k.value for k in IP_CLASS_II))


AsOf = date | str  # an evaluation date, or the name of a date column giving one per row


def _as_of_expr(as_of: AsOf) -> pl.Expr:
    return pl.col(as_of) if isinstance(as_of, str) else pl.lit(as_of, dtype=pl.Date)


def valid_ip_expr(as_of: AsOf) -> pl.Expr:
    """IP valid on ``as_of``: granted or no status, granted on/before it (or undated), expiring after it."""
    on = _as_of_expr(as_of)
    return (
        (pl.col("status").is_null() | (pl.col("status") == IPStatus.GRANTED.value))
        & (pl.col("granted_on").is_null() | (pl.col("granted_on") <= on))
        & (pl.col("expires_on").is_null() | (pl.col("expires_on") > on))
    )


IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_EPOCH = date(1970, 1, 1)


def _days(values: pl.Series) -> npt.NDArray[np.float64]:
    """Days since 1970 of a date Series, NaN where missing."""
    return values.to_physical().cast(pl.Float64).to_numpy()


def ip_counts(firm_ids: pl.Series, ip_assets: pl.DataFrame, as_of: AsOf) -> dict[str, IntArray]:
    """Per row of ``firm_ids``: valid class-I, class-II, invention-patent and trademark counts on
    ``as_of``, the rule of ``valid_ip_expr``. Arrays, not a polars query: on the API's one firm the
    filter, group-by and join cost more than the counting."""
    n = len(firm_ids)
    names = ("valid_class_i", "valid_class_ii", "valid_invention_patents", "valid_trademarks")
    if ip_assets.height == 0 or n == 0:
        return {c: np.zeros(n, dtype=np.int64) for c in names}
    # Each IP row's firm as a code of the distinct firm ids (an Enum cast: unknown ids become null).
    firms = pl.Enum(list(dict.fromkeys(firm_ids.to_list())))
    owner = ip_assets["startup_id"].cast(firms, strict=False).to_physical().cast(pl.Float64).to_numpy()
    on = _days(ip_assets[as_of]) if isinstance(as_of, str) else float((as_of - _EPOCH).days)
    status = ip_assets["status"]
    granted, expires = _days(ip_assets["granted_on"]), _days(ip_assets["expires_on"])
    with np.errstate(invalid="ignore"):
        valid = (
            ~np.isnan(owner)
            & (status.is_null().to_numpy() | (status.to_numpy() == IPStatus.GRANTED.value))
            & (np.isnan(granted) | (granted <= on))
            & (np.isnan(expires) | (expires > on))
        )
    # The kind as a code of every IP kind (an unknown kind counts in no column), then one table per column.
    kind = ip_assets["kind"].cast(_KINDS, strict=False).to_physical().cast(pl.Float64).to_numpy()
    known = ~np.isnan(kind)
    kind_code = np.where(known, kind, 0).astype(np.int64)
    valid &= known
    firm_code = firm_ids.cast(firms).to_physical().to_numpy().astype(np.int64)
    code = np.where(valid, owner, 0).astype(np.int64)
    return {c: np.bincount(code[valid & table[kind_code]], minlength=len(firms.categories))[firm_code].astype(np.int64)
            for c, table in zip(names, _KIND_TABLES, strict=True)}


_KINDS = pl.Enum([k.value for k in IPKind])
_KIND_TABLES = tuple(
    np.array([k.value in members for k in IPKind], dtype=bool)
    for members in (CLASS_I_KINDS, CLASS_II_KINDS, (IPKind.INVENTION_PATENT.value,), (IPKind.TRADEMARK.value,))
)


def _units(x: npt.NDArray[np.float64]) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    present = ~np.isnan(x)
    return np.rint(np.where(present, x, 0.0) * SCALE).astype(np.int64), present


def _ge(a: IntArray, b: IntArray, edge: Fraction) -> npt.NDArray[np.bool_]:
    """``a / b ≥ edge`` as ``a·q ≥ p·b`` — exact; falls back to Python integers if int64 could overflow."""
    p, q = edge.numerator, edge.denominator
    bound = max(int(np.abs(a).max(initial=0)) * q, int(np.abs(b).max(initial=0)) * abs(p))
    if bound < _INT64_SAFE:
        return np.asarray(a * q >= p * b)
    return np.asarray(a.astype(object) * q >= p * b.astype(object), dtype=bool)


def band_points(num: IntArray, den: IntArray, bands: BandTable[int]) -> IntArray:
    """Vectorised ``bands.lookup(num / den)``; zero or negative denominators score 0."""
    points = np.full(num.shape, bands.values[0], dtype=np.int64)
    for edge, value in zip(bands.lowers[1:], bands.values[1:], strict=True):
        points = np.where(_ge(num, den, edge), value, points)
    return np.where(den > 0, points, 0)


@dataclass(frozen=True, slots=True)
class TechSME:
    """``frame`` (``tech_sme_frame`` but its list of failed conditions) and, per condition code, which
    rows fail it: the engine reads the masks, and building the list column cost its one firm a query."""

    frame: pl.DataFrame
    failed: dict[str, BoolArray]


def tech_sme_frame(
    startups: pl.DataFrame, ip_assets: pl.DataFrame, *, as_of: AsOf, policy: Policy
) -> pl.DataFrame:
    """The evaluation of every startup, one row each, in the order of ``startups``.

    ``as_of`` is the evaluation date, or the name of a date column of ``ip_assets`` (one date per
    row: the PD model evaluates each loan as of its own issue date this way).

    Columns: startup_id, tech_staff_points, rd_points, ip_points, tech_sme_score, tech_sme_direct,
    tech_sme_qualified, tech_sme_failed (list of condition codes in reporting order), valid_class_i,
    valid_class_ii, valid_invention_patents, valid_trademarks, and the float ratios tech_staff_ratio,
    rd_sales_ratio, rd_cost_ratio (NaN where the denominator is zero or missing).
    """
    evaluation = tech_sme_evaluation(startups, ip_assets, as_of=as_of, policy=policy)
    failed = pl.DataFrame({f"_fail_{c}": evaluation.failed[c] for c in TECH_SME_CONDITIONS}).select(_FAILED_LIST)
    return evaluation.frame.hstack(failed)


def tech_sme_evaluation(startups: pl.DataFrame, ip_assets: pl.DataFrame, *, as_of: AsOf, policy: Policy) -> TechSME:
    """``tech_sme_frame`` with the failed conditions also as arrays (the engine reads them so)."""
    rules = policy.tech_sme
    counts = ip_counts(startups["startup_id"], ip_assets, as_of)
    schema = startups.schema  # built anew on every access
    # Every input in one pass over the frame: one firm (the API) pays for one query, not thirty.
    inputs = startups.select(*_INPUTS, *_routes(tuple((r, schema[r] == pl.Boolean) for r in rules.direct_routes)))
    class_i, class_ii = counts["valid_class_i"], counts["valid_class_ii"]
    employees, rd_staff, credit_flags = (inputs[c].to_numpy() for c in ("employees", "rd_staff", "credit_flags"))
    (rd, _), (revenue, has_revenue), (cost, has_cost), (assets, has_assets) = (
        _units(inputs[c].to_numpy()) for c in _AMOUNTS)
    revenue_den = np.where(has_revenue, revenue, 0)
    cost_den = np.where(has_cost, cost, 0)

    staff_points = band_points(rd_staff, employees, rules.tech_staff_bands)
    rd_points = np.maximum(
        band_points(rd, revenue_den, rules.rd_sales_bands), band_points(rd, cost_den, rules.rd_cost_bands)
    )
    ones = np.ones_like(class_ii)
    class_ii_points = band_points(class_ii, ones, rules.class_ii_bands)
    ip_points = np.where(
        class_i >= rules.class_i_min_count, np.maximum(rules.class_i_points, class_ii_points), class_ii_points
    )
    score = staff_points + rd_points + ip_points

    direct = np.zeros(len(startups), dtype=bool)
    for route in rules.direct_routes:
        direct |= inputs[f"_route_{route}"].to_numpy().astype(bool)

    failed_masks = {
        STAFF_OVER_LIMIT: employees > rules.max_employees,
        REVENUE_OVER_LIMIT: has_revenue & _gt(revenue, Fraction(rules.max_revenue_wan)),
        ASSETS_OVER_LIMIT: has_assets & _gt(assets, Fraction(rules.max_total_assets_wan)),
        ADVERSE_CREDIT: credit_flags > rules.max_credit_flags,
        NO_TECH_STAFF_SCORE: ~direct & (staff_points == 0),
        TECH_SME_SCORE_LOW: ~direct & (score < rules.min_total_score),
    }
    any_failed = np.zeros(len(startups), dtype=bool)
    for mask in failed_masks.values():
        any_failed |= mask

    def ratio(num: IntArray, den: IntArray) -> npt.NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    frame = pl.DataFrame(
        {
            "startup_id": startups["startup_id"],
            "tech_staff_points": staff_points,
            "rd_points": rd_points,
            "ip_points": ip_points,
            "tech_sme_score": score,
            "tech_sme_direct": direct,
            "tech_sme_qualified": ~any_failed,
            "valid_class_i": class_i,
            "valid_class_ii": class_ii,
            "valid_invention_patents": counts["valid_invention_patents"],
            "valid_trademarks": counts["valid_trademarks"],
            "tech_staff_ratio": ratio(rd_staff, employees),
            "rd_sales_ratio": ratio(rd, revenue_den),
            "rd_cost_ratio": ratio(rd, cost_den),
        }
    )
    return TechSME(frame, failed_masks)


# Built once: constructing polars expressions costs more than running them on one row.
_AMOUNTS = ("rd_expense_wan", "revenue_wan", "total_cost_wan", "total_assets_wan")
_INPUTS: tuple[pl.Expr, ...] = (
    *(pl.col(c).fill_null(0).cast(pl.Int64) for c in ("employees", "rd_staff", "credit_flags")),
    *(pl.col(c).cast(pl.Float64).fill_null(np.nan) for c in _AMOUNTS),
)


@functools.lru_cache(maxsize=32)
def _routes(routes: tuple[tuple[str, bool], ...]) -> tuple[pl.Expr, ...]:
    """Per direct route (name, whether the column is boolean): met, as ``_route_<name>``."""
    return tuple((pl.col(r).fill_null(False) if boolean else pl.col(r).fill_null(0) >= 1).alias(f"_route_{r}")
                 for r, boolean in routes)


_FAILED_LIST = pl.concat_list(
    [pl.when(pl.col(f"_fail_{c}")).then(pl.lit(c)) for c in TECH_SME_CONDITIONS]
).list.drop_nulls().alias("tech_sme_failed")


def _gt(units: IntArray, limit: Fraction) -> npt.NDArray[np.bool_]:
    """``units / SCALE > limit`` exactly, as ``units·q > p·SCALE``."""
    p, q = limit.numerator, limit.denominator
    if int(np.abs(units).max(initial=0)) * q < _INT64_SAFE and abs(p) * SCALE < _INT64_SAFE:
        return np.asarray(units * q > p * SCALE)
    return np.asarray(units.astype(object) * q > p * SCALE, dtype=bool)
