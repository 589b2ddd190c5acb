"""Credit-eligibility commands: ``eligibility`` and ``train-eligibility`` (DATA_FORMAT.md, "Batch commands")."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from matcher.errors import InvalidInputError
from roadshow.commands._common import DataDirOption, console, load_data, parse_date, user_errors

if TYPE_CHECKING:
    import polars as pl
    from rich.table import Table

    from matcher.io import DataSet

AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluation date (YYYY-MM-DD); loans before it train the model. Default: today."),
]
PolicyOpt = Annotated[
    Path | None,
    typer.Option("--policy", exists=True, dir_okay=False, help="A bank's policy TOML merged over the default policy."),
]
EncodingOpt = Annotated[str, typer.Option(help="Text encoding of the CSV files, e.g. utf-8, gbk, cp1252.")]


def _read_targets(path: Path) -> list[str]:
    import polars as pl

    frame = pl.read_csv(path, infer_schema=False)
    if "startup_id" not in frame.columns:
        raise InvalidInputError(f"{path} needs a 'startup_id' column", field="--targets")
    return frame["startup_id"].drop_nulls().str.strip_chars().unique(maintain_order=True).to_list()


def _summary(scores: pl.DataFrame, product: str) -> Table:
    import numpy as np
    import polars as pl
    from rich.table import Table

    first = scores.row(0, named=True) if scores.height else {}
    table = Table(
        title=f"Eligibility for {product} — model {first.get('model_source', '-')} {first.get('model_version', '')}, "
        f"policy {first.get('policy_version', '-')}"
    )
    for name in ("grade", "firms", "eligible", "mean PD", "total limit (万)"):
        table.add_column(name, justify="left" if name == "grade" else "right")
    by_grade = (
        scores.group_by(pl.col("grade").fill_null("—"))
        .agg(
            pl.len().alias("firms"),
            pl.col("eligible").sum().alias("eligible"),
            pl.col("pd").mean().alias("pd"),
            pl.col("credit_limit_wan").sum().alias("limit"),
        )
        .sort("grade")
    )
    for row in by_grade.iter_rows(named=True):
        table.add_row(
            str(row["grade"]), str(row["firms"]), str(row["eligible"]), f"{row['pd']:.3f}", f"{row['limit']:,.0f}"
        )
    mean_pd = float(np.mean(scores["pd"].to_numpy())) if scores.height else 0.0
    total = float(scores["credit_limit_wan"].sum())
    table.add_row(
        "all", str(scores.height), str(int(scores["eligible"].sum())), f"{mean_pd:.3f}", f"{total:,.0f}", style="bold"
    )
    return table


def eligibility(
    *,
    data: DataDirOption = None,
    product: Annotated[
        str, typer.Option("--product", help="knowledge_value_credit, ip_pledge, other, or a product_id.")
    ],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="CSV to write (columns as in DATA_FORMAT.md).")],
    as_of: AsOfOpt = None,
    targets: Annotated[
        Path | None, typer.Option("--targets", exists=True, dir_okay=False, help="CSV with a startup_id column.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", exists=True, dir_okay=False, help="A PD model saved by train-eligibility (.skops)."),
    ] = None,
    policy: PolicyOpt = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Score each target startup for one loan product: eligibility, tech-SME score, grade, PD, limit, reasons."""
    from matcher.eligibility import CONTRACT_COLUMNS, assess_frame, load_pd_model, load_policy

    with user_errors():
        day = parse_date(as_of, "--as-of") or date.today()
        rules = load_policy(policy)
        pd_model = load_pd_model(model) if model is not None else None
        ds = load_data(data, encoding)
        wanted = _read_targets(targets) if targets is not None else None
        scores = assess_frame(ds, product=product, as_of=day, model=pd_model, targets=wanted, policy=rules)
        out.parent.mkdir(parents=True, exist_ok=True)
        scores.select(CONTRACT_COLUMNS).write_csv(out)
    console.print(_summary(scores, scores["product"][0] if scores.height else product))
    console.print(f"wrote {scores.height} decision(s) to {out}", highlight=False)


def train_eligibility(
    *,
    data: DataDirOption = None,
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="Where to save the model (.skops).")],
    as_of: AsOfOpt = None,
    policy: PolicyOpt = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Train the calibrated PD model on a bank's own loans issued before --as-of (all when omitted)."""
    from matcher.eligibility import load_policy, train_pd_model

    with user_errors():
        day = parse_date(as_of, "--as-of")
        ds = load_data(data, encoding)
        fitted = train_pd_model(ds.startups, ds.ip_assets, ds.loans, as_of=day, policy=load_policy(policy))
        path = fitted.save(out)
    console.print(
        f"trained on {fitted.n_loans_} loans (default rate {fitted.default_rate_:.3f}); "
        f"model version {fitted.model_version_}; saved to {path}",
        highlight=False,
    )


DEMO_AS_OF = date(2026, 1, 1)


def eligibility_demo_table(data: DataSet, *, as_of: date = DEMO_AS_OF, firms: int = 5) -> Table:
    """The ``roadshow demo`` table: the first ``firms`` startups for both loan products (issue 5)."""
    from rich.table import Table

    from matcher.eligibility import assess, default_policy
    from matcher.eligibility.engine import resolve_model

    targets = data.startups["startup_id"].head(firms).to_list()
    model = resolve_model(data, as_of=as_of, model=None, policy=default_policy())
    table = Table(title=f"Credit eligibility as of {as_of} (PD model: {model.source})", title_justify="left")
    for name in ("startup", "product", "eligible", "tech-SME", "grade", "PD", "limit 万", "first reason"):
        table.add_column(name, justify="right" if name in ("tech-SME", "PD", "limit 万") else "left", overflow="fold")
    for product, label in (("knowledge_value_credit", "知识价值贷"), ("ip_pledge", "知识产权质押")):
        for d in assess(data, product=product, as_of=as_of, model=model, targets=targets):
            table.add_row(d.startup_id, label, "yes" if d.eligible else "no", str(d.tech_sme_score),
                          d.grade or "-", f"{d.pd:.3f}", f"{d.credit_limit_wan:,.0f}",
                          d.reason_codes[0] if d.reasons else "")
    return table


def register(app: typer.Typer) -> None:
    app.command("eligibility")(eligibility)
    app.command("train-eligibility")(train_eligibility)
