"""Credit limits per product kind, in whole 万 (rounded down: a bank never lends more than the rule).

- knowledge-value credit: the grade's line, capped by the product maximum and by a revenue-based
  repayment capacity (``revenue_capacity_multiple`` × last-year revenue; missing revenue = none);
- IP pledge: Σ pledge rate × value over pledgeable IP, capped by the per-firm cap and the product
  maximum. Pledgeable = valid on the date, a kind with a pledge rate, and at least the kind's minimum
  remaining life left. The value is the appraisal when one is given, otherwise the policy's estimate
  ``base_value_wan[kind] × min(1, remaining_years / reference_years) × size_factor(revenue)`` — a
  conservative cost-approach proxy. A right whose expiry is missing expires ``statutory_years`` after
  its grant; with neither date its remaining life is unknown and it is not pledged;
- other: the product maximum, capped by the revenue capacity.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import ProductKind, Startup
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
    per_ip = (
        ip_assets.lazy()
        .filter(valid_ip_expr(as_of))
        .join(revenue.lazy(), on="startup_id", how="inner")
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
        startups.lazy()
        .select("startup_id")
        .join(per_ip, on="startup_id", how="left", maintain_order="left")
        .with_columns(pl.col("pledgeable_ip").fill_null(0), pl.col("pledge_capacity_wan").fill_null(0.0))
        .collect()
    )


def credit_limits(
    kind: ProductKind,
    *,
    rules: ProductRules,
    product_max_wan: float,
    policy: Policy,
    revenue_wan: FloatArray,
    grade: npt.NDArray[np.object_],
    pledge_capacity_wan: FloatArray,
) -> FloatArray:
    """The limit per firm in whole 万 before eligibility (an ineligible firm's limit is zeroed later)."""
    capacity = revenue_capacity(revenue_wan, rules)
    if kind is ProductKind.KNOWLEDGE_VALUE_CREDIT:
        lines = policy.kv.grade_lines_wan
        line = np.array([lines.get(g, 0.0) if g else 0.0 for g in grade], dtype=np.float64)
        raw = np.minimum(np.minimum(line, product_max_wan), capacity)
    elif kind is ProductKind.IP_PLEDGE:
        cap = min(policy.pledge.per_firm_cap_wan, product_max_wan)
        raw = np.minimum(np.minimum(pledge_capacity_wan, cap), capacity)
    else:
        raw = np.minimum(np.full(revenue_wan.shape, product_max_wan), capacity)
    return np.floor(raw + 1e-9)


def _add_months(day: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (as polars ``offset_by("Nmo")``)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def pledge_one(firm: Startup, *, as_of: date, policy: Policy) -> tuple[int, float]:
    """(pledgeable IP count, Σ rate × value) of one firm: ``pledge_frame`` without frames."""
    rules = policy.pledge
    revenue = firm.revenue_wan if firm.revenue_wan is not None else 0.0
    size = rules.size_bands.values[0]
    for edge, value in zip(rules.size_bands.lowers[1:], rules.size_bands.values[1:], strict=True):
        if revenue >= float(edge):
            size = value
    count, total = 0, 0.0
    for ip in firm.ip_assets:
        kind = ip.kind.value
        rate = rules.pledge_rates.get(kind)
        if not ip.is_valid_on(as_of) or rate is None or rate <= 0:
            continue
        expiry = ip.expires_on
        if expiry is None and ip.granted_on is not None:
            expiry = _add_months(ip.granted_on, int(rules.statutory_years[kind] * 12))
        if expiry is None:
            continue
        remaining = (expiry - as_of).days / DAYS_PER_YEAR
        if remaining < rules.min_remaining_years.get(kind, 0.0):
            continue
        appraised = ip.appraised_value_wan
        if appraised is not None and appraised > 0:
            value = appraised
        else:
            value = rules.base_value_wan[kind] * min(remaining / rules.reference_years, 1.0) * size
        count += 1
        total += rate * value
    return count, total
