"""Credit limits per product kind, in whole 万 (rounded down: a bank never lends more than the rule),
with the derivation a credit officer reads: every cap with its number, and which one bound.

- knowledge-value credit: the grade's line, capped by the product maximum and by a revenue-based
  repayment capacity (``revenue_capacity_multiple`` × last-year revenue; missing revenue = none);
- IP pledge: Σ pledge rate × value over pledgeable IP, capped by the per-firm cap and the product
  maximum. Pledgeable = valid on the date, a kind with a pledge rate, and at least the kind's minimum
  remaining life left. The value is the appraisal when one is given, otherwise the policy's estimate
  ``base_value_wan[kind] × min(1, remaining_years / reference_years) × size_factor(revenue)`` — a
  conservative cost-approach proxy. A right whose expiry is missing expires ``statutory_years`` after
  its grant; with neither date its remaining life is unknown and it is not pledged;
- other: the product maximum, capped by the revenue capacity.

The binding cap is the smallest (ties go to the one listed first for the kind); a limit below the
product's minimum loan is not offered (basis ``product_min``); a firm refused on another condition has
basis ``not_eligible``. Basis codes are a public contract (``scores.csv`` column ``limit_basis``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import ProductKind
from matcher.eligibility.policy import Policy, ProductRules
from matcher.eligibility.tech_sme import valid_ip_expr

FloatArray = npt.NDArray[np.float64]
DAYS_PER_YEAR = 365.25


def revenue_capacity(revenue_wan: FloatArray, rules: ProductRules) -> FloatArray:
    """Repayment capacity; a multiple of 0 means the product has no revenue cap."""
    if rules.revenue_capacity_multiple <= 0:
        return np.full(revenue_wan.shape, np.inf)
    revenue = np.where(np.isnan(revenue_wan), 0.0, np.maximum(revenue_wan, 0.0))
    return revenue * rules.revenue_capacity_multiple


def _map_expr(column: str, mapping: Mapping[str, float]) -> pl.Expr:
    return pl.col(column).replace_strict(
        list(mapping), list(mapping.values()), default=None, return_dtype=pl.Float64
    )


def pledge_frame(
    startups: pl.DataFrame, ip_assets: pl.DataFrame, *, as_of: date, policy: Policy
) -> pl.DataFrame:
    """Per startup (input order): pledgeable_ip (count) and pledge_capacity_wan (Σ rate × value, uncapped)."""
    rules = policy.pledge
    size_bands = rules.size_bands
    revenue = startups.select("startup_id", pl.col("revenue_wan").fill_null(0.0).alias("_rev"))
    size_factor = pl.lit(size_bands.values[0])
    for edge, value in zip(size_bands.lowers[1:], size_bands.values[1:], strict=True):
        size_factor = pl.when(pl.col("_rev") >= float(edge)).then(pl.lit(value)).otherwise(size_factor)
    expiry = pl.coalesce(
        pl.col("expires_on"),
        pl.col("granted_on").dt.offset_by(
            pl.format("{}mo", (_map_expr("kind", rules.statutory_years) * 12).cast(pl.Int64))
        ),
    )
    remaining = (expiry - pl.lit(as_of)).dt.total_days() / DAYS_PER_YEAR
    # Eager: a lazy query's planning costs the API's one firm more than the work itself.
    per_ip = (
        ip_assets
        .filter(valid_ip_expr(as_of))
        .join(revenue, on="startup_id", how="inner")
        .with_columns(
            _map_expr("kind", rules.pledge_rates).alias("_rate"),
            _map_expr("kind", rules.min_remaining_years).fill_null(0.0).alias("_min_years"),
            _map_expr("kind", rules.base_value_wan).alias("_base"),
            remaining.alias("_remaining"),
            size_factor.alias("_size"),
        )
        .filter(
            (pl.col("_rate") > 0)
            & pl.col("_remaining").is_not_null()
            & (pl.col("_remaining") >= pl.col("_min_years"))
        )
        .with_columns(
            pl.when(pl.col("appraised_value_wan") > 0)
            .then(pl.col("appraised_value_wan"))
            .otherwise(
                pl.col("_base") * (pl.col("_remaining") / rules.reference_years).clip(upper_bound=1.0) * pl.col("_size")
            )
            .alias("_value")
        )
        .group_by("startup_id")
        .agg(
            pl.len().cast(pl.Int64).alias("pledgeable_ip"),
            (pl.col("_rate") * pl.col("_value")).sum().alias("pledge_capacity_wan"),
        )
    )
    return (
        startups
        .select("startup_id")
        .join(per_ip, on="startup_id", how="left", maintain_order="left")
        .with_columns(pl.col("pledgeable_ip").fill_null(0), pl.col("pledge_capacity_wan").fill_null(0.0))
    )


# The caps of each kind, in the order ties are resolved.
CAPS: Mapping[ProductKind, tuple[str, ...]] = {
    ProductKind.KNOWLEDGE_VALUE_CREDIT: ("grade_line", "product_max", "revenue_capacity"),
    ProductKind.IP_PLEDGE: ("pledge_value", "per_firm_cap", "product_max", "revenue_capacity"),
    ProductKind.OTHER: ("product_max", "revenue_capacity"),
}
LIMIT_BASES: tuple[str, ...] = (
    "grade_line", "revenue_capacity", "product_max", "pledge_value", "per_firm_cap", "product_min", "not_eligible",
)
_CAP_TEXT: Mapping[str, tuple[str, str]] = {
    "grade_line": ("{grade}级授信线 {value}万", "grade {grade} line {value}万"),
    "product_max": ("产品上限 {value}万", "product maximum {value}万"),
    "revenue_capacity": ("还款能力 {multiple}×营业收入 {revenue}万 = {value}万",
                         "repayment capacity {multiple} × revenue {revenue}万 = {value}万"),
    "pledge_value": ("Σ质押率×知识产权价值 {value}万", "Σ pledge rate × IP value {value}万"),
    "per_firm_cap": ("单户上限 {value}万", "per-firm cap {value}万"),
}
_BOUND_TEXT: Mapping[str, tuple[str, str]] = {
    "grade_line": ("受等级授信线约束", "bound by the grade line"),
    "product_max": ("受产品上限约束", "bound by the product maximum"),
    "revenue_capacity": ("受还款能力约束", "bound by repayment capacity"),
    "pledge_value": ("受质押价值约束", "bound by the pledge value"),
    "per_firm_cap": ("受单户上限约束", "bound by the per-firm cap"),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Per firm: the computed limit before eligibility, the binding cap, and every cap's value."""

    limit_wan: FloatArray
    bound_by: npt.NDArray[np.object_]
    caps: Mapping[str, FloatArray]  # cap → value per firm (inf = no such cap)


def credit_limits(
    kind: ProductKind,
    *,
    rules: ProductRules,
    product_max_wan: float,
    policy: Policy,
    revenue_wan: FloatArray,
    grade: npt.NDArray[np.object_],
    pledge_capacity_wan: FloatArray,
) -> Limits:
    """The limit per firm in whole 万 before eligibility (an ineligible firm's limit is zeroed later)."""
    n = revenue_wan.shape[0]
    values: dict[str, FloatArray] = {
        "product_max": np.full(n, product_max_wan),
        "revenue_capacity": revenue_capacity(revenue_wan, rules),
    }
    if kind is ProductKind.KNOWLEDGE_VALUE_CREDIT:
        lines = policy.kv.grade_lines_wan
        values["grade_line"] = np.array([lines.get(g, 0.0) if g else 0.0 for g in grade], dtype=np.float64)
    elif kind is ProductKind.IP_PLEDGE:
        values["pledge_value"] = np.asarray(pledge_capacity_wan, dtype=np.float64)
        values["per_firm_cap"] = np.full(n, policy.pledge.per_firm_cap_wan)
    names = CAPS[kind]
    stacked = np.column_stack([values[c] for c in names]) if n else np.zeros((0, len(names)))
    bound = np.argmin(stacked, axis=1) if n else np.zeros(0, dtype=np.int64)
    raw = stacked[np.arange(n), bound] if n else np.zeros(0)
    return Limits(np.floor(raw + 1e-9), np.asarray(names, dtype=object)[bound], {c: values[c] for c in names})


def _amount(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def derivations(
    limits: Limits,
    *,
    kind: ProductKind,
    rules: ProductRules,
    grade: npt.NDArray[np.object_],
    revenue_wan: FloatArray,
    basis: npt.NDArray[np.object_],
    offered_wan: FloatArray,
) -> tuple[list[str], list[str]]:
    """The derivation of each firm's limit, in Chinese and in English: the caps with their numbers, the
    result and the cap that bound it (or why nothing is offered)."""
    zh_out, en_out = [], []
    names = [c for c in CAPS[kind] if not (c == "revenue_capacity" and rules.revenue_capacity_multiple <= 0)]
    multiple = _amount(rules.revenue_capacity_multiple)
    columns = {c: limits.caps[c].tolist() for c in names}
    revenue = np.where(np.isnan(revenue_wan), 0.0, revenue_wan).tolist()
    for i, (b, computed, offered) in enumerate(zip(basis.tolist(), limits.limit_wan.tolist(), offered_wan.tolist(),
                                                   strict=True)):
        fill = {"grade": grade[i] or "—", "multiple": multiple, "revenue": _amount(revenue[i])}
        terms_zh = [_CAP_TEXT[c][0].format(value=_amount(columns[c][i]), **fill) for c in names]
        terms_en = [_CAP_TEXT[c][1].format(value=_amount(columns[c][i]), **fill) for c in names]
        bound = str(limits.bound_by[i])
        zh = f"额度 = min({', '.join(terms_zh)}) = {_amount(computed)}万，{_BOUND_TEXT[bound][0]}"
        en = f"limit = min({', '.join(terms_en)}) = {_amount(computed)}万, {_BOUND_TEXT[bound][1]}"
        if b == "product_min":
            zh += f"；低于产品最低贷款额 {_amount(rules.min_amount_wan)}万，不予授信"
            en += f"; below the product minimum of {_amount(rules.min_amount_wan)}万, not offered"
        elif b == "not_eligible":
            zh += "；未通过准入条件，不予授信"
            en += "; a condition is not met, not offered"
        elif offered != computed:
            zh += f"；授信 {_amount(offered)}万"
            en += f"; offered {_amount(offered)}万"
        zh_out.append(zh)
        en_out.append(en)
    return zh_out, en_out
