"""The default-risk model's features: one row per (firm, loan) as of the loan's issue date.

The same ``pd_features`` builds the training rows (each loan's firm evaluated on its own issue date,
its own amount, term, bank and kind) and the scoring rows (the firm today, the product's terms), so
what is measured is what runs.

Families:
- the firm's profile: head count, R&D staff, the fiscal figures and their ratios, age at issue (new or
  existing firm), stage, recognition flags, credit flags, valid IP counts, the tech-SME score and the
  knowledge-value index;
- the loan: amount, term, amount relative to revenue and assets, issue year and month (vintage and
  season), product kind, bank;
- places and sectors as categories: sector label (e.g. a 6-digit NAICS or GB/T 4754 code, or free
  text), its group (the zone's taxonomy, else the code's 2-digit prefix: NAICS 541511 → 54), region,
  city. ``matcher.eligibility.woe`` encodes them.

Every column may be missing on a real loan book; the model drops the ones that carry no information
(``pd_model``), so nothing here assumes a column is filled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import STAGE_ORDER
from matcher.eligibility.kv_index import kv_frame
from matcher.eligibility.policy import Policy
from matcher.eligibility.tech_sme import AsOf, tech_sme_frame
from matcher.taxonomy import sector_code

NUMERIC_FEATURES: tuple[str, ...] = (
    "employees", "rd_staff", "revenue_wan", "rd_expense_wan", "total_cost_wan", "total_assets_wan",
    "tech_staff_ratio", "rd_sales_ratio", "rd_cost_ratio", "firm_age_years", "stage_ordinal",
    "high_tech_enterprise", "provincial_rd_center", "national_award_5y", "standards_led_5y", "credit_flags",
    "valid_invention_patents", "valid_class_i", "valid_class_ii", "valid_trademarks",
    "tech_sme_score", "kv_score", "amount_wan", "term_months", "amount_to_revenue", "amount_to_assets",
    "issue_year", "issue_month",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("product_kind", "bank_id", "sector", "sector_group", "region", "city")
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES
# Features that describe one bank's book rather than the firm: a model meant for other banks (the
# prior) leaves them out.
BOOK_SPECIFIC: tuple[str, ...] = ("issue_year", "bank_id", "city")

_FIRM_COLUMNS: tuple[str, ...] = (
    "employees", "rd_staff", "revenue_wan", "rd_expense_wan", "total_cost_wan", "total_assets_wan",
    "standards_led_5y", "credit_flags", "high_tech_enterprise", "provincial_rd_center", "national_award_5y",
)
_STAGES = pl.Enum([s.value for s in STAGE_ORDER])
MATURE_SHARE = 0.9
# A code-like sector label: an optional GB/T 4754 section letter, then digits (NAICS 541511, C3511).
_CODE_PREFIX = r"^([a-z]?\d{2})\d*$"


def _positive(column: str) -> pl.Expr:
    """The column where positive, else null (a ratio over a zero or missing amount is missing)."""
    return pl.when(pl.col(column) > 0).then(pl.col(column))


def _clean(column: str) -> pl.Expr:
    text = pl.col(column).cast(pl.Utf8).str.strip_chars().str.to_lowercase()
    return pl.when(text == "").then(None).otherwise(text)


def _sector_columns(firms: pl.DataFrame) -> list[pl.Expr]:
    labels = dict.fromkeys(firms["sector"].to_list())  # distinct labels (a Series' unique() is a query)
    group = pl.col("sector").replace_strict(
        {s: sector_code(s) for s in labels if s is not None}, default=None, return_dtype=pl.Utf8
    )
    label = _clean("sector")
    return [
        label.alias("sector"),
        pl.coalesce(group, label.str.extract(_CODE_PREFIX, 1)).alias("sector_group"),
    ]


def pd_features(
    firms: pl.DataFrame,
    tech: pl.DataFrame,
    kv: pl.DataFrame,
    *,
    as_of: AsOf,
    product_kind: str | pl.Expr,
    amount_wan: pl.Expr,
    term_months: pl.Expr,
    bank_id: str | pl.Expr | None = None,
) -> pl.DataFrame:
    """The feature frame, one row per row of ``firms`` (same order), columns ``FEATURES``.

    ``firms`` has the startups columns; ``tech`` and ``kv`` are ``tech_sme_frame`` / ``kv_frame``
    outputs over the same rows. ``as_of`` is a date or the name of a date column of ``firms`` (the
    loan's issue date when training).
    """
    on = pl.col(as_of) if isinstance(as_of, str) else pl.lit(as_of, dtype=pl.Date)
    kind = pl.lit(product_kind) if isinstance(product_kind, str) else product_kind
    bank = bank_id if isinstance(bank_id, pl.Expr) else pl.lit(bank_id, dtype=pl.Utf8)
    own = firms.select(
        *_FIRM_CASTS,
        ((on - pl.col("founded_on")).dt.total_days() / 365.25).alias("firm_age_years"),
        _STAGE_ORDINAL,
        amount_wan.cast(pl.Float64).alias("amount_wan"),
        term_months.cast(pl.Float64).alias("term_months"),
        (amount_wan / _POSITIVE_REVENUE).alias("amount_to_revenue"),
        (amount_wan / _POSITIVE_ASSETS).alias("amount_to_assets"),
        on.dt.year().cast(pl.Float64).alias("issue_year"),
        on.dt.month().cast(pl.Float64).alias("issue_month"),
        kind.cast(pl.Utf8).alias("product_kind"),
        bank.cast(pl.Utf8).str.strip_chars().alias("bank_id"),
        *_sector_columns(firms),
        _REGION,
        _CITY,
    )
    # The tech-SME and index columns are Series casts and the frame is assembled in FEATURES order
    # from Series: each polars query costs the API's one firm a fixed ≈ 0.15 ms, a Series cast does not.
    columns = {s.name: s for s in own.get_columns()}
    columns.update((c, tech[c]) for c in ("tech_staff_ratio", "rd_sales_ratio", "rd_cost_ratio"))
    columns.update((c, tech[c].cast(pl.Float64)) for c in (
        "valid_invention_patents", "valid_class_i", "valid_class_ii", "valid_trademarks", "tech_sme_score"))
    columns["kv_score"] = kv["kv_score"].cast(pl.Float64)
    return pl.DataFrame([columns[c] for c in FEATURES])


# Built once: constructing polars expressions costs more than running them on one row.
_FIRM_CASTS = tuple(pl.col(c).cast(pl.Float64) for c in _FIRM_COLUMNS)
# The stage's position in STAGE_ORDER as an Enum code (an unknown stage becomes null): a replace_strict
# is a join inside the query and cost the one-firm select about three times as much.
_STAGE_ORDINAL = (
    pl.col("stage").cast(_STAGES, strict=False).to_physical().cast(pl.Float64)
    .alias("stage_ordinal")
)
_POSITIVE_REVENUE = _positive("revenue_wan")
_POSITIVE_ASSETS = _positive("total_assets_wan")
_REGION = _clean("region").alias("region")
_CITY = _clean("city").alias("city")


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
    mature_only: bool = True,
) -> TrainingSet:
    """Loans issued before ``as_of`` (all when None) with a known, final outcome, featurised as of issue.

    A quarter of issue in which fewer than ``MATURE_SHARE`` of the loans have a known outcome is left
    out: its loans are mostly still running, and the few outcomes already known are its early defaults,
    so keeping them would teach the model that recent loans default (a performance-window rule).
    ``mature_only=False`` keeps every labelled loan (an evaluation that picks its own test loans)."""
    book = loans if as_of is None else loans.filter(pl.col("issued_on") < as_of)
    quarter = pl.col("issued_on").dt.truncate("3mo")
    mature = (
        book.group_by(quarter.alias("_quarter"))
        .agg(pl.col("defaulted").is_not_null().mean().alias("_known"))
        .filter(pl.col("_known") >= (MATURE_SHARE if mature_only else 0.0))["_quarter"]
    )
    labelled = book.filter(pl.col("defaulted").is_not_null() & quarter.is_in(mature.implode()))
    labelled = labelled.join(startups, on="startup_id", how="inner").sort("issued_on", "loan_id")
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
        bank_id=pl.col("bank_id"),
    )
    defaulted = labelled["defaulted"].cast(pl.Int64).to_numpy()
    return TrainingSet(labelled["loan_id"], feats, defaulted, labelled["issued_on"])
