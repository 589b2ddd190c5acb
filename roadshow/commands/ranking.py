"""Ranking commands: ``recommend`` and ``evaluate`` (DATA_FORMAT.md, "Batch commands")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from matcher.errors import InvalidInputError
from roadshow.commands._common import DataDirOption, console, load_data, parse_date, progress, user_errors
from roadshow.commands.choices import Kind, RankingModel, Side

if TYPE_CHECKING:
    from matcher.ranking.tuning import TuningResult

AsOfOpt = Annotated[str, typer.Option("--as-of", help="Fit on interactions before this date (YYYY-MM-DD).")]
EncodingOpt = Annotated[str, typer.Option(help="Text encoding of the CSV files, e.g. utf-8, gbk, cp1252.")]


def _read_targets(path: Path, side: str) -> list[str]:
    import polars as pl

    column = "startup_id" if side == "investors" else "investor_id"
    frame = pl.read_csv(path, infer_schema=False)
    if column not in frame.columns:
        raise InvalidInputError(f"{path} needs a {column!r} column for --side {side}", field="targets")
    return frame[column].drop_nulls().str.strip_chars().unique(maintain_order=True).to_list()


def recommend(
    *,
    data: DataDirOption = None,
    as_of: AsOfOpt,
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="CSV to write.")],
    k: Annotated[int, typer.Option("--k", help="Recommendations per target.")] = 10,
    targets: Annotated[
        Path | None,
        typer.Option("--targets", exists=True, dir_okay=False, help="CSV with a startup_id (or investor_id) column."),
    ] = None,
    side: Annotated[Side, typer.Option("--side", help="investors: rank investors per startup; startups: the reverse.")]
    = "investors",
    kind: Annotated[
        Kind,
        typer.Option("--kind", help="investor: every kind but banks; bank: banks only; all: both, on one scale. "
                                    "With --side startups: whose lists are made."),
    ] = "all",
    model: Annotated[
        RankingModel, typer.Option("--model", help="The learned model or a baseline to compare it with.")
    ] = "learned",
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Top-K investors per startup (or startups per investor), excluding pairs seen before --as-of."""
    import polars as pl

    from matcher.ranking import get_model
    from matcher.spreadsheet import write_csv

    with user_errors(), progress("reading the data") as steps:
        day = parse_date(as_of, "--as-of")
        assert day is not None
        ds = load_data(data, encoding)
        wanted = _read_targets(targets, side) if targets is not None else None
        steps.step(f"fitting the {model} model")
        # The self-tuning model tunes at the K its lists are cut at, as `evaluate` does.
        recommender = get_model(model, **({"k": k} if model == "learned" else {})).fit(ds, day)
        steps.step("ranking")
        recs = recommender.recommend(ds, wanted, k=k, side=side, kind=kind, on_progress=steps.advance)
        if side == "investors":
            first, second = "startup_id", "investor_id"
            names = ds.investors.select("investor_id", pl.col("name").alias("investor_name"),
                                        pl.col("kind").alias("investor_kind"))
        else:
            first, second = "investor_id", "startup_id"
            names = ds.startups.select("startup_id", pl.col("name").alias("startup_name"))
        table = (recs.sort(first, "rank")
                 .select(first, second, "rank", "score", "reasons")
                 .join(names, on=second, how="left", maintain_order="left"))
        out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(table, out)
    listed = table[first].n_unique()
    asked = len(wanted) if wanted is not None else (ds.startups if side == "investors" else ds.investors).height
    # A target comes out empty when the data holds no counterpart of the kind asked outside its history.
    counterpart = {"investor": "investor", "bank": "bank", "all": "investor or bank"}[kind] \
        if side == "investors" else "startup"
    empty = f" ({asked - listed} got none: no {counterpart} in the data that it had not met before --as-of)" \
        if asked > listed else ""
    console.print(f"wrote {len(table)} recommendations for {listed} of {asked} target(s){empty} to {out}",
                  highlight=False, soft_wrap=True)


def evaluate_command(
    *,
    data: DataDirOption = None,
    as_of: AsOfOpt,
    k: Annotated[int, typer.Option("--k", help="Cut-off K for recall, NDCG and MAP.")] = 10,
    json_out: Annotated[
        Path | None, typer.Option("--json", dir_okay=False, help="Also write the metrics as JSON.")
    ] = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Temporal-split evaluation of the model and every baseline, cold and warm startups separately."""
    from rich.table import Table

    from matcher.ranking import evaluate

    with user_errors():
        day = parse_date(as_of, "--as-of")
        assert day is not None
        if k < 1:
            raise InvalidInputError("must be at least 1", field="--k")
        with progress("reading the data") as steps:
            report = evaluate(load_data(data, encoding), day, k=k, on_progress=steps.step)
    table = Table(title=f"Ranking quality at K={k}, as of {day.isoformat()}")
    for name in ("model", "segment", "targets", f"recall@{k}", f"NDCG@{k}", f"MAP@{k}", "fit s"):
        table.add_column(name, justify="left" if name in ("model", "segment") else "right")
    for row in report.metrics.iter_rows(named=True):
        table.add_row(row["model"], row["segment"], str(row["targets"]), f"{row['recall']:.3f}",
                      f"{row['ndcg']:.3f}", f"{row['map']:.3f}", f"{row['fit_seconds']:.1f}")
    console.print(table)
    if report.tuning is not None:
        _print_tuning(report.tuning)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        console.print(f"wrote {json_out}", highlight=False)


def _print_tuning(tuning: TuningResult) -> None:
    """What the default model chose per segment, and the validation table it chose on."""
    from rich.table import Table

    from matcher.ranking.tuning import TOP_AVERAGED

    if not tuning.cutoffs:
        console.print(f"learned: {tuning.note}", highlight=False)
        return
    periods = ", ".join(c.isoformat() for c in tuning.cutoffs)
    table = Table(title=f"learned: configurations tried on validation periods from {periods} "
                        f"(NDCG@{tuning.k}; se = standard error of the paired difference from the best)")
    for name in ("segment", "candidate", "targets", f"NDCG@{tuning.k}", "se", "chosen"):
        table.add_column(name, justify="left" if name in ("segment", "candidate", "chosen") else "right")
    for row in tuning.table.iter_rows(named=True):
        table.add_row(row["segment"], row["candidate"], str(row["targets"]), f"{row['ndcg']:.3f}",
                      f"{row['se']:.3f}", "chosen" if row["chosen"] else "")
    console.print(table)
    chosen = "; ".join(f"{segment} startups: {c.label}" for segment, c in tuning.chosen.items())
    console.print(
        f"learned chose {chosen}. Rule: the mean of the weights of the {TOP_AVERAGED} best candidates on "
        "validation, shrunk toward the best baseline as far as needed not to fall below it."
        + (f" {tuning.note}." if tuning.note else ""),
        highlight=False)


def register(app: typer.Typer) -> None:
    app.command("recommend")(recommend)
    app.command("evaluate")(evaluate_command)
