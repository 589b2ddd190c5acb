"""``roadshow demo``: the main job on the bundled sample world, with no network and no server."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.panel import Panel
from rich.table import Table

from matcher.domain import Outcome
from matcher.io import DataSet
from matcher.ranking import get_model
from roadshow.commands._common import console, load_data, user_errors
from roadshow.commands.eligibility import DEMO_AS_OF, eligibility_demo_table


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
    by_stage = s.group_by(pl.col("stage").fill_null("(unknown)")).len("startups").sort("startups", descending=True)
    ip = (
        data.ip_assets.group_by("kind", "status")
        .len("assets")
        .pivot(on="status", index="kind", values="assets")
        .fill_null(0)
        .sort("kind")
    )
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


def _names(frame: pl.DataFrame, id_column: str) -> dict[str, str]:
    return dict(frame.select(id_column, "name").iter_rows())


def ranking_tables(data: DataSet, *, as_of: date, startups: int = 3, k: int = 5) -> list[Table]:
    """Top investors and banks for the first few startups, and the top startups for one investor."""
    model = get_model("learned").fit(data, as_of)
    targets = data.startups["startup_id"].head(startups).to_list()
    firm_names = _names(data.startups, "startup_id")
    investor_names = _names(data.investors, "investor_id")
    kinds = dict(data.investors.select("investor_id", pl.col("kind").fill_null("other")).iter_rows())
    tables: list[Table] = []
    # Rank everyone, then show the best investors and the best banks side by side: banks attend most
    # roadshows and would otherwise fill a short list on their own.
    ranked = model.recommend(data, targets, k=data.investors.height).with_columns(
        pl.col("investor_id").replace_strict(kinds, default="other").alias("kind")
    )
    for startup_id in targets:
        mine = ranked.filter(pl.col("startup_id") == startup_id).sort("rank")
        shown = pl.concat(
            [mine.filter(pl.col("kind") != "bank").head(k - 2), mine.filter(pl.col("kind") == "bank").head(2)]
        )
        table = Table(
            "rank",
            "kind",
            "investor / bank",
            "score",
            "reasons",
            title_justify="left",
            title=f"Best matches for {startup_id} {firm_names.get(startup_id, '')}",
        )
        for row in shown.iter_rows(named=True):
            table.add_row(
                str(row["rank"]),
                row["kind"],
                f"{row['investor_id']} {investor_names.get(row['investor_id'], '')}",
                f"{row['score']:.3f}",
                "；".join(row["reasons"]),
            )
        tables.append(table)
    investor_id = data.investors.filter(pl.col("kind") != "bank")["investor_id"].head(1).to_list()
    for_investor = model.recommend(data, investor_id, k=k, side="startups").sort("rank")
    if investor_id:
        table = Table(
            "rank",
            "startup",
            "score",
            "reasons",
            title_justify="left",
            title=f"Top {k} startups for {investor_id[0]} {investor_names.get(investor_id[0], '')}",
        )
        for row in for_investor.iter_rows(named=True):
            table.add_row(
                str(row["rank"]),
                f"{row['startup_id']} {firm_names.get(row['startup_id'], '')}",
                f"{row['score']:.3f}",
                "；".join(row["reasons"]),
            )
        tables.append(table)
    return tables


def demo(
    data_dir: Annotated[Path, typer.Option("--data", help="Data directory to show.")] = Path("data/sample"),
) -> None:
    """Show the sample world and what the product does with it."""
    with user_errors():
        data = load_data(data_dir)
    console.print(Panel.fit(f"智造莲城 Roadshow Matcher — sample world from [bold]{data_dir}[/bold]"))
    for table in world_summary(data):
        console.print(table)
    as_of = DEMO_AS_OF
    with user_errors():
        for table in ranking_tables(data, as_of=as_of):
            console.print(table)
        console.print(eligibility_demo_table(data, as_of=as_of))
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
