"""``roadshow demo``: the main job on the bundled sample world, with no network and no server."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roadshow.commands._common import console, load_data, user_errors
from roadshow.commands.eligibility import DEMO_AS_OF, eligibility_demo_table
from roadshow.commands.service import open_database

if TYPE_CHECKING:
    import polars as pl
    from rich.table import Table

    from matcher.io import DataSet

# polars, rich tables and the models are imported inside the functions that use them, so the rest of the
# command line does not pay for them at start-up.


def _table(title: str, frame: pl.DataFrame) -> Table:
    from rich.table import Table

    table = Table(*frame.columns, title=title, title_justify="left")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else f"{v:,.0f}" if isinstance(v, float) else str(v) for v in row))
    return table


def roadshow_history(data: DataSet) -> pl.DataFrame:
    """Per year: roadshows, investor and bank visits (distinct roadshow × institution), interactions,
    and the intents signed at that year's roadshows (count and total in 亿元)."""
    import polars as pl

    from matcher.domain import Outcome

    # A visit belongs to the year its roadshow was held, even when the outcome is recorded later.
    held = data.events.select("event_id", pl.col("held_on").dt.year().alias("event_year"))
    inter = data.interactions.join(held, on="event_id", how="left").with_columns(
        pl.coalesce("event_year", pl.col("occurred_on").dt.year()).alias("year")
    )
    kinds = data.investors.select("investor_id", pl.col("kind").fill_null("other"))
    at_event = pl.col("event_id").is_not_null()
    intent = at_event & (pl.col("outcome") == Outcome.INTENT_SIGNED.value)
    visits = pl.struct("event_id", "investor_id")
    return (
        inter.join(kinds, on="investor_id", how="left")
        .group_by("year")
        .agg(
            pl.col("event_id").drop_nulls().n_unique().alias("roadshows"),
            visits.filter(at_event & (pl.col("kind") != "bank")).n_unique().alias("investor visits"),
            visits.filter(at_event & (pl.col("kind") == "bank")).n_unique().alias("bank visits"),
            pl.len().alias("interactions"),
            intent.sum().alias("intents signed"),
            (pl.col("amount_wan").filter(intent).sum() / 10_000).alias("intents 亿"),
        )
        .sort("year")
    )


def world_summary(data: DataSet) -> list[Table]:
    """Tables describing the world: startups by sector and stage, IP by kind, investors, roadshow history."""
    import polars as pl


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
    history = roadshow_history(data)
    return [
        _table("Startups by sector", by_sector),
        _table("Startups by stage", by_stage),
        _table("IP assets by kind and status", ip),
        _table("Investors and banks by kind", investors),
        _table("Roadshow history by year", history.with_columns(pl.col("intents 亿").round(2).cast(pl.Utf8))),
    ]


def _display(
    recs: pl.DataFrame, who: pl.DataFrame, id_column: str, label: str, keep: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Recommendations as printable columns: rank, kind, who (id and name), score, reasons."""
    import polars as pl

    return recs.join(who, left_on=id_column, right_on="id", how="left").select(
        *keep,
        pl.col("rank").cast(pl.Utf8),
        pl.col("kind").fill_null(""),
        pl.concat_str(id_column, pl.col("name").fill_null(""), separator=" ").alias(label),
        pl.col("score").round(3).cast(pl.Utf8),
        pl.col("reasons").list.join("；"),
    )


def ranking_tables(data: DataSet, *, as_of: date, startups: int = 3, k: int = 5) -> list[Table]:
    """For the first few startups, its best investors and its best banks as two lists (each ranked within
    its kind, ``recommend(kind=...)``), and the top startups for one investor."""
    import polars as pl

    from matcher.ranking import get_model

    model = get_model("learned").fit(data, as_of)
    targets = data.startups["startup_id"].head(startups).to_list()
    investors = data.investors.select(pl.col("investor_id").alias("id"), "name", pl.col("kind").fill_null("other"))
    firms = data.startups.select(pl.col("startup_id").alias("id"), "name", pl.col("stage").alias("kind"))
    lists = {kind: model.recommend(data, targets, k=k, kind=kind) for kind in ("investor", "bank")}
    tables: list[Table] = []
    for startup_id in targets:
        name = "".join(firms.filter(pl.col("id") == startup_id)["name"].to_list())
        for kind, label in (("investor", "investors"), ("bank", "banks")):
            mine = lists[kind].filter(pl.col("startup_id") == startup_id).sort("rank")
            shown = _display(mine, investors, "investor_id", label[:-1])
            tables.append(_table(f"Best {label} for {startup_id} {name}", shown))
    investor = investors.filter(pl.col("kind") != "bank").head(1)
    if investor.height:
        investor_id, investor_name = investor["id"][0], investor["name"][0]
        recs = model.recommend(data, [investor_id], k=k, side="startups").sort("rank")
        table = _display(recs, firms, "startup_id", "startup").rename({"kind": "stage"})
        tables.append(_table(f"Top {k} startups for {investor_id} {investor_name}", table))
    return tables


def schedule_table(data: DataSet, event_path: Path, out: Path, *, as_of: date) -> tuple[Table, list[str]]:
    """Solve the next roadshow's meeting grid, write its exports and summarise it per slot."""
    import polars as pl

    from matcher.scheduling import load_event, solve, write_exports
    from matcher.scheduling.handout import participant_names
    from matcher.scheduling.scoring import fitted_pair_scorer

    problem = load_event(event_path, pair_scorer=fitted_pair_scorer(data, as_of), names=participant_names(data))
    result = solve(problem)
    files = write_exports(problem, result, out)
    per_slot = (
        pl.DataFrame([(m.slot_id, m.score) for m in result.meetings], schema=["slot", "score"], orient="row")
        .group_by("slot")
        .agg(pl.len().alias("meetings"), pl.col("score").mean().round(3).alias("mean score"))
        .sort("slot")
    )
    summary = result.summary()
    table = _table(f"Meeting grid of {summary['event_id']}", per_slot.with_columns(pl.col("mean score").cast(pl.Utf8)))
    lines = [
        f"{summary['meetings']} meetings, objective {summary['objective']:.3f}, upper bound "
        f"{summary['upper_bound']:.3f}, gap {summary['gap']:.2%}, solved in {summary['seconds']:.1f} s",
        "Schedule files: "
        + ", ".join(
            f"{len(paths)} calendars in {paths[0].parent}/" if kind == "ics" else str(paths[0])
            for kind, paths in files.items()
        ),
    ]
    return table, lines


SERVER_HELP = """Start the service on the sample data (imported into ./var/roadshow.db on first start):
  make serve                      # or: .venv/bin/roadshow serve --import-if-empty data/sample

Organiser: create a key, then list robotics startups and an investor's best-fitting startups
  ORG=$(.venv/bin/roadshow keys create --role organiser --name 组委会 | grep -o 'rsk_[A-Za-z0-9_-]*')
  curl -G -H "Authorization: Bearer $ORG" http://127.0.0.1:8000/api/startups \\
       --data-urlencode sector=智能机器人 -d limit=5
  curl -H "Authorization: Bearer $ORG" 'http://127.0.0.1:8000/api/investors/I0001/matches?k=10'

Startup: register (no key needed) and let bank B005 assess it;
the answer holds startup.startup_id and api_key (shown once)
  curl -X POST http://127.0.0.1:8000/api/startups -H 'Content-Type: application/json' \\
       -d '{"name": "湘潭示例科技有限公司", "sector": "智能机器人", "stage": "angel", "employees": 20,
            "rd_staff": 8, "revenue_wan": 600, "rd_expense_wan": 90, "consents": ["B005"]}'
  curl -H "Authorization: Bearer $STARTUP_KEY" "http://127.0.0.1:8000/api/startups/$STARTUP_ID/matches?kind=investor&k=10"
  curl -H "Authorization: Bearer $STARTUP_KEY" "http://127.0.0.1:8000/api/startups/$STARTUP_ID/matches?kind=bank&k=5"

Bank: a key bound to bank B005, its products, the startups consenting to it, then decisions
  BANK=$(.venv/bin/roadshow keys create --role bank --name 湖南银行 --bank-id B005 | grep -o 'rsk_[A-Za-z0-9_-]*')
  curl -H "Authorization: Bearer $BANK" http://127.0.0.1:8000/api/products
  curl -H "Authorization: Bearer $BANK" 'http://127.0.0.1:8000/api/startups?limit=5'
  curl -X POST http://127.0.0.1:8000/api/eligibility -H "Authorization: Bearer $BANK" \\
       -H 'Content-Type: application/json' -d "{\\"startup_id\\": \\"$STARTUP_ID\\", \\"product_id\\": \\"P0009\\"}"
  curl -X POST http://127.0.0.1:8000/api/eligibility/batch -H "Authorization: Bearer $BANK" \\
       -H 'Content-Type: application/json' -d '{"product_id": "P0009", "startup_ids": ["S00002", "S00001"]}'

API docs: http://127.0.0.1:8000/schema"""


def demo(
    data_dir: Annotated[
        Path, typer.Option("--data", help="Data directory imported into the database when it is empty.")
    ] = Path("data/sample"),
    out: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Where the demo writes the schedule's files.")
    ] = Path("out/demo-schedule"),
) -> None:
    """Show the sample world and what the product does with it."""
    from rich.panel import Panel

    # The embedded default: the sample goes into the configured database (a SQLite file under ./var
    # unless DATABASE_URL says otherwise) on first run, and everything below runs on what it holds.
    url, imported = open_database(data_dir)
    with user_errors():
        data = load_data(None)
    loaded = f"imported from {data_dir} now" if imported else "already imported"
    console.print(Panel.fit(f"智造莲城 Roadshow Matcher — sample world in [bold]{url}[/bold] ({loaded})"))
    for table in world_summary(data):
        console.print(table)
    as_of = DEMO_AS_OF
    with user_errors():
        for table in ranking_tables(data, as_of=as_of):
            console.print(table)
        console.print(eligibility_demo_table(data, as_of=as_of))
        event_path = data_dir / "next_event.json"
        if event_path.exists():
            grid, lines = schedule_table(data, event_path, out, as_of=as_of)
            console.print(grid)
            for line in lines:
                console.print(line, highlight=False)
    console.print(Panel(SERVER_HELP, title="The HTTP API", expand=False))
    console.print(
        Panel.fit(
            "Next steps:\n"
            f"  roadshow validate {data_dir}\n"
            f"  roadshow recommend --data {data_dir} --as-of 2026-01-01 --k 10 --kind investor --out recs.csv\n"
            f"  roadshow evaluate --data {data_dir} --as-of 2025-01-01\n"
            f"  roadshow schedule {data_dir}/next_event.json --data {data_dir} --out out/schedule\n"
            f"  roadshow eligibility --data {data_dir} --product knowledge_value_credit --out scores.csv\n"
            f"  roadshow model-report --data {data_dir} --as-of 2026-01-01 --out out/model-report\n"
            "  make serve",
            title="Where to go next",
        )
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
