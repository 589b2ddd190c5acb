"""Per-startup features as of a date: IP, R&D, staff, size, age, stage, sector, region, ask, text.

Only ``ip_assets`` depends on the date (validity and remaining life); the profile columns describe the
startup as it is now, which is what an organiser sees when building a pairing list.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from matcher.domain import IP_CLASS_I, IP_CLASS_II, STAGE_ORDER
from matcher.taxonomy import sector_code

STAGE_ORDINAL: dict[str, int] = {s.value: i for i, s in enumerate(STAGE_ORDER)}
_DAYS_PER_YEAR = 365.25

STARTUP_NUMERIC: tuple[str, ...] = (
    "ip_class1_valid",
    "ip_class2_valid",
    "ip_years_since_last_grant",
    "ip_remaining_years_max",
    "rd_intensity",
    "tech_staff_ratio",
    "log_employees",
    "log_revenue",
    "age_years",
    "stage_ordinal",
    "log_funding_ask",
)


def normalise_token(expr: pl.Expr) -> pl.Expr:
    """Lower-cased, trimmed label; empty strings become null."""
    text = expr.cast(pl.Utf8).str.strip_chars().str.to_lowercase()
    return pl.when(text.str.len_chars() > 0).then(text).otherwise(None)


def sector_token(expr: pl.Expr) -> pl.Expr:
    """The taxonomy code of a free-text sector, or the lower-cased label itself when the taxonomy does not
    know it, so sectors from other markets ("FinTech", "Agritech") still match across startups/investors."""
    label = normalise_token(expr)
    code = label.map_elements(sector_code, return_dtype=pl.Utf8, skip_nulls=True)
    return pl.coalesce(code, label)


def sector_tokens(labels: pl.Series) -> pl.Series:
    """:func:`sector_token` for a column, looking each distinct label up once."""
    normalised = labels.to_frame("label").select(normalise_token(pl.col("label")))["label"]
    distinct = normalised.drop_nulls().unique().to_list()
    codes = {label: sector_code(label) or label for label in distinct}
    return normalised.replace_strict(codes, default=None, return_dtype=pl.Utf8)


def _ip_features(ip_assets: pl.DataFrame, as_of: date) -> pl.DataFrame:
    class1 = [k.value for k in IP_CLASS_I]
    class2 = [k.value for k in IP_CLASS_II]
    status = pl.col("status").fill_null("granted")
    # POLICY.md §1: granted (or no status), granted on or before the date, expiring after it.
    valid = (
        (status == "granted")
        & (pl.col("granted_on").is_null() | (pl.col("granted_on") <= as_of))
        & (pl.col("expires_on").is_null() | (pl.col("expires_on") > as_of))
    )
    # Grants after the date are invisible as of it, whatever their status.
    visible = ip_assets.filter(pl.col("granted_on").is_null() | (pl.col("granted_on") <= as_of))
    return visible.group_by("startup_id").agg(
        (valid & pl.col("kind").is_in(class1)).sum().cast(pl.Float64).alias("ip_class1_valid"),
        (valid & pl.col("kind").is_in(class2)).sum().cast(pl.Float64).alias("ip_class2_valid"),
        ((pl.lit(as_of) - pl.col("granted_on").filter(valid).max()).dt.total_days() / _DAYS_PER_YEAR).alias(
            "ip_years_since_last_grant"
        ),
        ((pl.col("expires_on").filter(valid).max() - pl.lit(as_of)).dt.total_days() / _DAYS_PER_YEAR).alias(
            "ip_remaining_years_max"
        ),
    )


def text_document() -> pl.Expr:
    """What the text features read of a startup: its name, sector labels and description. Many real
    records have no description, and the name and the sector's own words (free text, any language) are
    then all there is; character n-grams match "FinTech"/"fintech platform" or 人工智能/智能 alike."""
    return pl.concat_str([pl.col(c).cast(pl.Utf8) for c in ("name", "sector", "sub_sector", "description")],
                         separator=" ", ignore_nulls=True).fill_null("").alias("text")


def _ratio(num: str, den: str) -> pl.Expr:
    # POLICY.md convention: a zero or missing denominator gives no ratio.
    return pl.when(pl.col(den) > 0).then(pl.col(num).cast(pl.Float64) / pl.col(den)).otherwise(None)


def startup_features(startups: pl.DataFrame, ip_assets: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """One row per startup: ``startup_id``, the numeric ``STARTUP_NUMERIC`` columns (null when unknown),
    ``sector_token``, ``sub_sector_token``, ``region_token`` (region, else city), ``city_token`` (city, else
    region), ``funding_ask_wan``, ``description``, ``text`` (:func:`text_document`) and ``sector_label`` (the
    sector as the startup wrote it, which reasons quote)."""
    # A filter, not a semi join: same rows, and on the serving path (one startup against every IP record)
    # an equality test is several times cheaper than either a join or ``is_in``.
    ids = startups["startup_id"]
    ip = _ip_features(ip_assets.filter(pl.col("startup_id") == ids[0] if len(ids) == 1
                                       else pl.col("startup_id").is_in(ids.implode())), as_of)
    frame = startups.select(
        "startup_id",
        pl.max_horizontal(_ratio("rd_expense_wan", "revenue_wan"), _ratio("rd_expense_wan", "total_cost_wan"))
        .alias("rd_intensity"),
        _ratio("rd_staff", "employees").alias("tech_staff_ratio"),
        (pl.col("employees").cast(pl.Float64) + 1).log().alias("log_employees"),
        (pl.col("revenue_wan").clip(lower_bound=0) + 1).log().alias("log_revenue"),
        ((pl.lit(as_of) - pl.col("founded_on")).dt.total_days() / _DAYS_PER_YEAR).alias("age_years"),
        pl.col("stage").replace_strict(STAGE_ORDINAL, default=None, return_dtype=pl.Float64).alias("stage_ordinal"),
        (pl.col("funding_ask_wan").clip(lower_bound=0) + 1).log().alias("log_funding_ask"),
        normalise_token(pl.col("sub_sector")).alias("sub_sector_token"),
        normalise_token(pl.coalesce(pl.col("region"), pl.col("city"))).alias("region_token"),
        normalise_token(pl.coalesce(pl.col("city"), pl.col("region"))).alias("city_token"),
        pl.col("description").fill_null("").alias("description"),
        text_document(),
        pl.col("funding_ask_wan").alias("funding_ask_wan"),
        pl.col("sector").cast(pl.Utf8).str.strip_chars().alias("sector_label"),
    )
    frame = frame.with_columns(sector_tokens(startups["sector"]).alias("sector_token")).join(
        ip, on="startup_id", how="left").with_columns(
        pl.col("ip_class1_valid").fill_null(0.0),
        pl.col("ip_class2_valid").fill_null(0.0),
    )
    return frame.select("startup_id", *STARTUP_NUMERIC, "sector_token", "sub_sector_token", "region_token",
                        "city_token", "funding_ask_wan", "description", "text", "sector_label")
