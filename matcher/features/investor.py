"""Per-investor features as of a date: declared preferences plus preferences learned from history.

History is every interaction strictly before ``as_of``. Engagements are weighted by outcome strength
(``met`` 1 … ``invested`` 4; ``requested`` counts half, ``declined`` not at all), so an investor that
invested in three robot makers leans to robots more than one that merely met them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from matcher.domain import OUTCOME_STRENGTH, Outcome
from matcher.features.startup import STAGE_ORDINAL, normalise_token, sector_token

ENGAGEMENT_WEIGHT: dict[str, float] = {
    Outcome.REQUESTED.value: 0.5,
    Outcome.MET.value: 1.0,
    Outcome.DECLINED.value: 0.0,
    Outcome.INTERESTED.value: 2.0,
    Outcome.INTENT_SIGNED.value: 3.0,
    Outcome.INVESTED.value: 4.0,
}
POSITIVE_OUTCOMES: tuple[str, ...] = tuple(
    o.value for o, s in OUTCOME_STRENGTH.items() if s >= OUTCOME_STRENGTH[Outcome.INTERESTED]
)
RECENT_DAYS = 365


def history_before(interactions: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Interactions strictly before ``as_of``: the only ones any feature may see."""
    return interactions.filter(pl.col("occurred_on") < as_of)


@dataclass(frozen=True, slots=True)
class InvestorProfiles:
    """Frames describing investors as of a date.

    ``summary``: one row per investor (declared preferences and activity); ``sector``, ``sub_sector``,
    ``region`` (by the startups' city; investor_id, token, share) and ``stage`` (investor_id,
    stage_ordinal, share): learned distributions; ``portfolio``: (investor_id, startup_id, weight) the
    engagements behind them.
    """

    summary: pl.DataFrame
    sector: pl.DataFrame
    sub_sector: pl.DataFrame
    region: pl.DataFrame
    stage: pl.DataFrame
    portfolio: pl.DataFrame


def _share(engaged: pl.DataFrame, column: str, alias: str) -> pl.DataFrame:
    return (
        engaged.filter(pl.col(column).is_not_null())
        .group_by("investor_id", pl.col(column).alias(alias))
        .agg(pl.col("weight").sum())
        .with_columns(
            (pl.col("weight") / pl.col("weight").sum().over("investor_id")).alias("share"),
        )
        .sort("investor_id", alias)
    )


def investor_profiles(
    investors: pl.DataFrame, interactions: pl.DataFrame, startup_feats: pl.DataFrame, as_of: date
) -> InvestorProfiles:
    """Declared and learned preferences of every investor in ``investors`` as of ``as_of``.

    ``startup_feats`` is the output of :func:`matcher.features.startup.startup_features`.
    """
    history = history_before(interactions, as_of)
    engaged = (
        history.with_columns(
            pl.col("outcome").replace_strict(ENGAGEMENT_WEIGHT, return_dtype=pl.Float64).alias("weight"),
            pl.col("stage").replace_strict(STAGE_ORDINAL, default=None, return_dtype=pl.Float64)
            .alias("stage_at"),
        )
        .filter(pl.col("weight") > 0)
        .join(
            startup_feats.select("startup_id", "sector_token", "sub_sector_token", "city_token",
                                 "stage_ordinal"),
            on="startup_id",
            how="left",
        )
        .with_columns(pl.coalesce("stage_at", "stage_ordinal").alias("stage_seen"))
    )
    activity = history.group_by("investor_id").agg(
        pl.len().cast(pl.Float64).alias("n_interactions"),
        (pl.col("occurred_on") >= as_of - timedelta(days=RECENT_DAYS)).sum().cast(pl.Float64)
        .alias("n_interactions_recent"),
        pl.col("outcome").is_in(POSITIVE_OUTCOMES).sum().cast(pl.Float64).alias("n_positive"),
        (pl.col("outcome").is_in(POSITIVE_OUTCOMES) & (pl.col("occurred_on") >= as_of - timedelta(days=RECENT_DAYS)))
        .sum().cast(pl.Float64).alias("n_positive_recent"),
        (pl.lit(as_of) - pl.col("occurred_on").max()).dt.total_days().cast(pl.Float64).alias("days_since_last"),
        (pl.col("amount_wan").filter(pl.col("amount_wan") > 0) + 1).log().median().alias("log_median_amount"),
    )
    learned_stage = engaged.group_by("investor_id").agg(
        ((pl.col("stage_seen") * pl.col("weight")).sum() / pl.col("weight").filter(pl.col("stage_seen")
         .is_not_null()).sum()).alias("mean_stage_learned"),
    )
    summary = (
        investors.select(
            "investor_id",
            pl.col("kind").fill_null("other"),
            "ticket_min_wan",
            "ticket_max_wan",
            pl.col("sectors").list.eval(sector_token(pl.element())).list.drop_nulls().alias("declared_sectors"),
            pl.col("stages").list.eval(
                pl.element().replace_strict(STAGE_ORDINAL, default=None, return_dtype=pl.Int64)
            ).list.drop_nulls().alias("declared_stages"),
            pl.col("regions").list.eval(normalise_token(pl.element())).list.drop_nulls().alias("declared_regions"),
            pl.col("sectors").alias("sector_labels"),
            pl.col("description").fill_null(""),
        )
        .join(activity, on="investor_id", how="left")
        .join(learned_stage, on="investor_id", how="left")
        .with_columns(
            pl.col("n_interactions", "n_interactions_recent", "n_positive", "n_positive_recent").fill_null(0.0),
            # Smoothed towards the overall rate so a single lucky meeting does not look like 100%.
            ((pl.col("n_positive").fill_null(0.0) + 1) / (pl.col("n_interactions").fill_null(0.0) + 4))
            .alias("positive_rate"),
        )
    )
    portfolio = engaged.group_by("investor_id", "startup_id").agg(pl.col("weight").max())
    return InvestorProfiles(
        summary=summary,
        sector=_share(engaged, "sector_token", "token"),
        sub_sector=_share(engaged, "sub_sector_token", "token"),
        region=_share(engaged, "city_token", "token"),
        stage=_share(engaged.with_columns(pl.col("stage_seen").cast(pl.Int64)), "stage_seen", "stage_ordinal"),
        portfolio=portfolio.sort("investor_id", "startup_id"),
    )
