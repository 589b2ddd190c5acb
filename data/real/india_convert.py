"""Convert the Indian startup funding data set (Kaggle, 2015–2020) to the interchange format.

Not part of the product: a documented, reproducible bridge from one real, messy market to
``shared/contracts/DATA_FORMAT.md`` so the ranking can be evaluated on data nobody here generated.
See ``data/real/README.md`` for every decision. Usage::

    python data/real/india_convert.py [SRC_CSV] [OUT_DIR]
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import polars as pl

from matcher.io import from_frames, write_data_dir

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "india_startup_funding" / "startup_funding.csv"
# Average USD→CNY rate over 2015–2019 (yearly averages 6.23, 6.64, 6.75, 6.61, 6.91; PBoC central parity).
USD_TO_CNY = 6.63
WAN = 10_000.0
JUNK_INVESTORS = ("undisclosed", "unknown", "others", "n/a", "nan", "", "and others", "existing investors")
ORG_WORDS = ("capital", "venture", "partners", "fund", "invest", "equity", "holding", "group", "labs", "advisors",
             "management", "ltd", "llc", "inc", "limited", "bank", "finance", "angels", "network", "accelerator",
             "incubator", "corporation", "technologies", "trust", "family office", "securities", "global")
# InvestmentType → the contract's stage; "Private Equity" and debt carry no stage.
STAGE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("pre-series a", "pre_a"), ("pre series a", "pre_a"), ("series a", "a"), ("series b", "b"),
    ("series c", "c"), ("series d", "d_plus"), ("series e", "d_plus"), ("series f", "d_plus"),
    ("series g", "d_plus"), ("series h", "d_plus"), ("series j", "d_plus"), ("angel", "angel"), ("seed", "seed"),
)


def _clean(expr: pl.Expr) -> pl.Expr:
    # The file holds literal escape sequences ("\\xc2\\xa0", "\\n") left over from scraping.
    cleaned = (
        expr.str.replace_all(r"\\\\x[0-9a-fA-F]{2}", " ")
        .str.replace_all(r"\\\\n|\\n", " ")
        .str.replace_all(r"[\u00a0\s]+", " ")
        .str.strip_chars(" .,\"'")
    )
    # pandas wrote missing values as the text "nan"
    return pl.when(cleaned.str.to_lowercase().is_in(["nan", "n/a", ""])).then(None).otherwise(cleaned)


def _slug(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().str.replace_all(r"^https?://(www\.)?", "").str.replace_all(r"[^0-9a-z]+", "-") \
        .str.strip_chars("-")


def read_raw(src: Path) -> pl.DataFrame:
    text = Path(src).read_bytes().decode("cp1252", errors="replace")
    raw = pl.read_csv(io.StringIO(text), infer_schema=False)
    return raw.rename({c: c.strip() for c in raw.columns})


def convert(src: Path = SOURCE) -> dict[str, pl.DataFrame]:
    """Frames for startups, investors and interactions (outcome ``invested``)."""
    raw = read_raw(src)
    date_parts = pl.col("Date").str.extract_groups(r"(\d{1,2})[/.\-]+(\d{1,2})[/.\-]+(\d{2,4})")
    deals = (
        raw.select(
            pl.col("StartupName").pipe(_clean).alias("name"),
            pl.col("IndustryVertical").pipe(_clean).alias("sector"),
            pl.col("SubVertical").pipe(_clean).alias("sub_sector"),
            pl.col("CityLocation").pipe(_clean).str.split("/").list.first().str.strip_chars().alias("city"),
            pl.col("InvestorsName").pipe(_clean).alias("investors"),
            pl.col("InvestmentType").pipe(_clean).str.to_lowercase().alias("round"),
            pl.col("AmountInUSD").str.replace_all(r"[^0-9.]", "").cast(pl.Float64, strict=False).alias("usd"),
            date_parts.struct.field("1").cast(pl.Int32).alias("d"),
            date_parts.struct.field("2").cast(pl.Int32).alias("m"),
            date_parts.struct.field("3").cast(pl.Int32).alias("y"),
        )
        .with_columns(pl.when(pl.col("y") < 100).then(pl.col("y") + 2000).otherwise(pl.col("y")).alias("y"))
        .with_columns(pl.date(pl.col("y"), pl.col("m"), pl.col("d"), ).alias("occurred_on"))
        .filter(pl.col("occurred_on").is_not_null() & pl.col("name").is_not_null()
                & (pl.col("name").str.len_chars() > 0))
        .with_columns(
            ("IN-" + _slug(pl.col("name"))).alias("startup_id"),
            pl.when(pl.col("usd") > 0).then(pl.col("usd") * USD_TO_CNY / WAN).alias("amount_wan"),
            pl.lit(None, pl.Utf8).alias("stage"),
        )
    )
    stage = pl.lit(None, pl.Utf8)
    for pattern, value in reversed(STAGE_PATTERNS):
        stage = pl.when(pl.col("round").str.contains(pattern, literal=True)).then(pl.lit(value)).otherwise(stage)
    deals = deals.with_columns(stage.alias("stage")).filter(pl.col("startup_id") != "IN-")

    pairs = (
        deals.with_columns(pl.col("investors").str.split(","))
        .explode("investors")
        .with_columns(pl.col("investors").str.split(" and "))
        .explode("investors")
        .with_columns(pl.col("investors").pipe(_clean).alias("investor_name"))
        .filter(pl.col("investor_name").is_not_null()
                & ~pl.col("investor_name").str.to_lowercase().is_in(JUNK_INVESTORS)
                & ~pl.col("investor_name").str.to_lowercase().str.contains("undisclosed"))
        .with_columns(("INV-" + _slug(pl.col("investor_name"))).alias("investor_id"))
        .filter(pl.col("investor_id") != "INV-")
        .with_columns((pl.col("amount_wan") / pl.len().over("startup_id", "occurred_on")).alias("amount_wan"))
    )
    interactions = pairs.select(
        "startup_id", "investor_id", "occurred_on", pl.lit("invested").alias("outcome"), "stage", "amount_wan",
    ).unique(["startup_id", "investor_id", "occurred_on"], keep="first").sort("occurred_on", "startup_id")

    # A startup's profile is its latest deal: sector, city and stage as last reported, ask = last round.
    startups = (
        deals.sort("occurred_on")
        .group_by("startup_id")
        .agg(
            pl.col("name").last(), pl.col("sector").drop_nulls().last(), pl.col("sub_sector").drop_nulls().last(),
            pl.col("city").drop_nulls().last(), pl.col("stage").drop_nulls().last(),
            pl.col("amount_wan").drop_nulls().last().alias("funding_ask_wan"),
        )
        .with_columns(
            pl.lit("India").alias("region"),
            pl.concat_str([pl.col("sector"), pl.col("sub_sector")], separator=": ", ignore_nulls=True)
            .alias("description"),
        )
        .sort("startup_id")
    )
    lower = pl.col("name").str.to_lowercase()
    investors = (
        pairs.group_by("investor_id")
        .agg(pl.col("investor_name").mode().first().alias("name"))
        .with_columns(
            pl.when(lower.str.contains("private equity")).then(pl.lit("pe"))
            .when(lower.str.contains("bank")).then(pl.lit("bank"))
            .when(lower.str.contains("angel")).then(pl.lit("angel"))
            .when(pl.any_horizontal([lower.str.contains(w, literal=True) for w in ORG_WORDS])).then(pl.lit("vc"))
            # A name with no organisation word is most often a person: an angel investor.
            .otherwise(pl.lit("angel")).alias("kind")
        )
        .sort("investor_id")
    )
    return {"startups": startups, "investors": investors, "interactions": interactions}


def main(src: Path = SOURCE, out: Path = HERE / "india_interchange") -> Path:
    frames = convert(src)
    write_data_dir(from_frames(**frames), out)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    written = main(Path(args[0]) if args else SOURCE, Path(args[1]) if len(args) > 1 else HERE / "india_interchange")
    print(f"wrote {written}")
