"""``roadshow demo``: the main job on the bundled sample world, with no network and no server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.panel import Panel
from rich.table import Table

from matcher.domain import Outcome
from matcher.io import DataSet
from roadshow.commands._common import console, load_data, user_errors
from roadshow.commands.eligibility import eligibility_demo_table


def _table(title: str, frame: pl.DataFrame) -> Table:
    table = Table(*frame.columns, title=title, title_justify="left")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else f"{v:,.0f}" if isinstance(v, float) else str(v) for v in row))
    return table


def world_summary(data: DataSet) -> list[Table]:
    """Tables describing the world: startups by sector and stage, IP by kind, investors, roadshow history."""
    s = data.startups
    by_sector = (
        s.group_by(pl.col("sector").fill_null("(未填)"))
        .agg(
            pl.len().alias("startups"),
            pl.col("employees").median().alias("median staff"),
            pl.col("revenue_wan").median().alias("median revenue 万"),
            pl.col("high_tech_enterprise").fill_null(False).sum().alias("高新技术企业"),
        )
        .sort("startups", descending=True)
    )
    by_stage = (
        s.group_by(pl.col("stage").fill_null("(unknown)"))
        .len("startups")
        .sort("startups", descending=True)
    )
    ip = data.ip_assets.group_by("kind", "status").len("assets").pivot(
        on="status", index="kind", values="assets"
    ).fill_null(0).sort("kind")
    investors = data.investors.group_by(pl.col("kind").fill_null("other")).len("institutions").sort("kind")
    # A visit belongs to the year its roadshow was held, even when the outcome is recorded later.
    held = data.events.select("event_id", pl.col("held_on").dt.year().alias("event_year"))
    inter = data.interactions.join(held, on="event_id", how="left").with_columns(
        pl.coalesce("event_year", pl.col("occurred_on").dt.year()).alias("year")
    )
    kinds = data.investors.select("investor_id", pl.col("kind").fill_null("other"))
    signed = (Outcome.INTENT_SIGNED.value, Outcome.INVESTED.value)
    at_event = pl.col("event_id").is_not_null()
    visits = pl.struct("event_id", "investor_id")
    history = (
        inter.join(kinds, on="investor_id", how="left")
        .group_by("year")
        .agg(
            pl.col("event_id").drop_nulls().n_unique().alias("roadshows"),
            visits.filter(at_event & (pl.col("kind") != "bank")).n_unique().alias("investor visits"),
            visits.filter(at_event & (pl.col("kind") == "bank")).n_unique().alias("bank visits"),
            pl.len().alias("interactions"),
            (pl.col("amount_wan").filter(pl.col("outcome").is_in(signed)).sum() / 10_000).alias("intents 亿"),
        )
        .sort("year")
    )
    return [
        _table("Startups by sector", by_sector),
        _table("Startups by stage", by_stage),
        _table("IP assets by kind and status", ip),
        _table("Investors and banks by kind", investors),
        _table("Roadshow history by year", history.with_columns(pl.col("intents 亿").round(2).cast(pl.Utf8))),
    ]


def demo(
    data_dir: Annotated[Path, typer.Option("--data", help="Data directory to show.")] = Path("data/sample"),
) -> None:
    """Show the sample world and what the product does with it."""
    with user_errors():
        data = load_data(data_dir)
    console.print(Panel.fit(f"智造莲城 Roadshow Matcher — sample world from [bold]{data_dir}[/bold]"))
    for table in world_summary(data):
        console.print(table)
    with user_errors():
        console.print(eligibility_demo_table(data))
    console.print(
        Panel.fit(
            "Next steps:\n"
            f"  roadshow validate {data_dir}\n"
            f"  roadshow recommend --data {data_dir} --as-of 2026-01-01 --k 10 --out recs.csv\n"
            f"  roadshow evaluate --data {data_dir} --as-of 2025-01-01\n"
            f"  roadshow schedule {data_dir}/next_event.json --data {data_dir} --out out/schedule\n"
            f"  roadshow eligibility --data {data_dir} --product knowledge_value_credit --out scores.csv\n"
            "  make serve",
            title="Where to go next",
        )
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
