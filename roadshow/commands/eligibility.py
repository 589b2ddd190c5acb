"""Credit-eligibility commands: ``eligibility``, ``train-eligibility`` (DATA_FORMAT.md, "Batch commands")
and ``model-report`` (the credit committee's validation report)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from roadshow.commands._common import DataDirOption, console, err_console, load_data, parse_date, user_errors

if TYPE_CHECKING:
    import polars as pl
    from rich.table import Table

    from matcher.eligibility import PDModel
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

    from matcher.errors import InvalidInputError

    frame = pl.read_csv(path, infer_schema=False)
    if "startup_id" not in frame.columns:
        raise InvalidInputError(f"{path} needs a 'startup_id' column", field="--targets")
    return frame["startup_id"].drop_nulls().str.strip_chars().unique(maintain_order=True).to_list()


def describe_model(model: PDModel) -> str:
    """One line on the model a run used: trained on the book, or the prior and why."""
    if model.source == "prior":
        why = f" because {model.fallback_reason}" if model.fallback_reason else ""
        return f"PD model: the documented prior {model.model_version_}{why}"
    dropped = ", ".join(f"{k} ({v})" for k, v in model.dropped_.items())
    return (f"PD model {model.model_version_} trained on {model.n_loans_} loans ({model.n_defaults_} defaults), "
            f"form: {model.chosen_}" + (f"; left out: {dropped}" if dropped else ""))


def _summary(scores: pl.DataFrame, product: str) -> Table:
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
    mean_pd = float(scores["pd"].to_numpy().mean()) if scores.height else 0.0
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
    with user_errors():
        from matcher.eligibility import SCORES_COLUMNS, assess_frame, load_pd_model, load_policy, resolve_model
        from matcher.spreadsheet import write_csv

        day = parse_date(as_of, "--as-of") or date.today()
        rules = load_policy(policy)
        ds = load_data(data, encoding)
        wanted = _read_targets(targets) if targets is not None else None
        pd_model = load_pd_model(model) if model is not None else resolve_model(ds, as_of=day, model=None,
                                                                                policy=rules)
        err_console.print(describe_model(pd_model), highlight=False, markup=False)
        scores = assess_frame(ds, product=product, as_of=day, model=pd_model, targets=wanted, policy=rules)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(scores.select(SCORES_COLUMNS), out)
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
    with user_errors():
        from matcher.eligibility import load_policy, train_pd_model

        day = parse_date(as_of, "--as-of")
        ds = load_data(data, encoding)
        fitted = train_pd_model(ds.startups, ds.ip_assets, ds.loans, as_of=day, policy=load_policy(policy))
        path = fitted.save(out)
    console.print(describe_model(fitted), highlight=False)
    console.print(f"default rate {fitted.default_rate_:.3f}; saved to {path}", highlight=False)


def model_report(
    *,
    data: DataDirOption = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for report.html and report.json.")],
    as_of: AsOfOpt = None,
    product: Annotated[
        str, typer.Option("--product", help="The product whose scored population and reasons are reported.")
    ] = "other",
    policy: PolicyOpt = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """The credit committee's validation report: hold-out AUC, KS, Gini, Brier, ECE, calibration plot,
    points scorecard with WoE/IV tables, PSI per feature, reason-code frequencies (HTML and JSON)."""
    with user_errors():
        from matcher.eligibility import load_policy
        from matcher.eligibility.report import build_report, write_report

        day = parse_date(as_of, "--as-of") or date.today()
        ds = load_data(data, encoding)
        report = build_report(ds, as_of=day, product=product, policy=load_policy(policy))
        paths = write_report(report, out)
    holdout: dict[str, Any] = report.data["holdout"]
    metrics = holdout.get("metrics") or {}
    if metrics:
        console.print(
            f"hold-out {holdout['loans']} loans from {holdout['from']}: AUC {metrics['auc']:.3f}, "
            f"KS {metrics['ks']:.3f}, Gini {metrics['gini']:.3f}, Brier {metrics['brier']:.4f}, "
            f"ECE {metrics['ece']:.4f}",
            highlight=False,
        )
    else:
        console.print(f"no hold-out metrics: {holdout.get('note', '')}", highlight=False)
    console.print("wrote " + ", ".join(str(p) for p in paths), highlight=False)


DEMO_AS_OF = date(2026, 1, 1)


def eligibility_demo_table(data: DataSet, *, as_of: date = DEMO_AS_OF, firms: int = 5) -> Table:
    """The ``roadshow demo`` table: the first ``firms`` startups for both loan products."""
    from rich.table import Table

    from matcher.eligibility import assess, default_policy, resolve_model

    targets = data.startups["startup_id"].head(firms).to_list()
    model = resolve_model(data, as_of=as_of, model=None, policy=default_policy())
    table = Table(title=f"Credit eligibility as of {as_of} (PD model: {model.source})", title_justify="left")
    for name in ("startup", "product", "eligible", "tech-SME", "grade", "PD", "limit 万", "how", "first reason"):
        table.add_column(name, justify="right" if name in ("tech-SME", "PD", "limit 万") else "left", overflow="fold")
    for product, label in (("knowledge_value_credit", "知识价值贷"), ("ip_pledge", "知识产权质押")):
        for d in assess(data, product=product, as_of=as_of, model=model, targets=targets):
            table.add_row(d.startup_id, label, "yes" if d.eligible else "no", str(d.tech_sme_score),
                          d.grade or "-", f"{d.pd:.3f}", f"{d.credit_limit_wan:,.0f}", d.limit.basis,
                          d.reason_codes[0] if d.reasons else "")
    return table


def register(app: typer.Typer) -> None:
    app.command("eligibility")(eligibility)
    app.command("train-eligibility")(train_eligibility)
    app.command("model-report")(model_report)
