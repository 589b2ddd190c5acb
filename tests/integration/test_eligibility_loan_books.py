"""Real banks' loan books (issue 10): sparse, lopsided, high-cardinality. ``roadshow eligibility`` must
exit 0 with a scores file, or 1 with a one-line reason, on every shape; never a traceback."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from matcher.eligibility import SCORES_COLUMNS, default_policy, train_pd_model
from matcher.io import read_data_dir
from roadshow.cli import app

runner = CliRunner()
AS_OF = "2025-01-01"


def book(
    tmp_path: Path,
    *,
    loans: int = 500,
    rate: float = 0.12,
    firm_columns: tuple[str, ...] = ("sector",),
    loan_columns: tuple[str, ...] = ("amount_wan",),
    sectors: int = 12,
    cities: int = 0,
    default_year: int | None = None,
    seed: int = 0,
) -> Path:
    """One startup per loan, as in a guaranteed small-business portfolio; the default risk depends on the
    amount and the sector so there is something to learn. Only the named optional columns are written."""
    rng = np.random.default_rng(seed)
    sector = rng.integers(0, sectors, loans)
    amount = np.round(rng.lognormal(4.0, 0.8, loans), 1)
    logit = np.log(rate / (1 - rate)) + 0.6 * (sector % 3 - 1) - 0.4 * (np.log(amount) - 4.0)
    defaulted = rng.random(loans) < 1 / (1 + np.exp(-logit))
    days = rng.integers(0, 3 * 365, loans)
    issued = [date(2021, 1, 1) + timedelta(days=int(d)) for d in days]
    if default_year is not None:
        defaulted = defaulted & np.array([d.year == default_year for d in issued])
    firms: dict[str, list[object]] = {"startup_id": [f"S{i}" for i in range(loans)],
                                      "name": [f"企业{i}" for i in range(loans)]}
    extra = {
        "sector": [f"{541500 + 7 * s}" for s in sector],
        "region": [("TX", "CA", "NY", "FL")[s % 4] for s in sector],
        "city": [f"City{rng.integers(0, cities)}" if cities else "" for _ in range(loans)],
        "employees": rng.integers(1, 60, loans).tolist(),
    }
    for column in firm_columns:
        firms[column] = extra[column]
    rows: dict[str, list[object]] = {"loan_id": [f"L{i}" for i in range(loans)], "startup_id": firms["startup_id"]}
    loan_extra = {"amount_wan": amount.tolist(), "term_months": rng.choice([12, 36, 84], loans).tolist()}
    for column in loan_columns:
        rows[column] = loan_extra[column]
    rows |= {"issued_on": [d.isoformat() for d in issued], "defaulted": defaulted.astype(int).tolist()}
    directory = tmp_path / "book"
    directory.mkdir()
    pl.DataFrame(firms).write_csv(directory / "startups.csv")
    pl.DataFrame(rows).write_csv(directory / "loans.csv")
    return directory


def run(directory: Path, tmp_path: Path) -> tuple[int, str, Path]:
    out = tmp_path / "e.csv"
    result = runner.invoke(app, ["eligibility", "--data", str(directory), "--product", "other", "--as-of", AS_OF,
                                 "--out", str(out)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output, out


def assert_scored(directory: Path, tmp_path: Path) -> str:
    code, output, out = run(directory, tmp_path)
    assert code == 0, output
    scores = pl.read_csv(out)
    assert scores.columns == list(SCORES_COLUMNS)
    assert scores.height == pl.read_csv(directory / "startups.csv").height
    assert scores["pd"].is_between(0.0, 1.0).all()
    return output


SHAPES = {
    "amount, date and sector": {},
    "amount and date only": {"firm_columns": ()},
    "one sector": {"sectors": 1},
    "all defaults in one year": {"default_year": 2022},
    "3 % default rate": {"rate": 0.03, "loans": 900},
    "50 % default rate": {"rate": 0.5},
    "thousands of distinct cities": {"cities": 3000, "loans": 1500, "firm_columns": ("sector", "region", "city")},
    "head count, term and places": {"firm_columns": ("sector", "region", "employees"),
                                    "loan_columns": ("amount_wan", "term_months")},
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_loan_book_shape_scores(shape: str, tmp_path: Path) -> None:
    output = assert_scored(book(tmp_path, **SHAPES[shape]), tmp_path)  # type: ignore[arg-type]
    assert "PD model" in output


def test_the_five_column_book_of_the_hook(tmp_path: Path) -> None:
    # startups with id and name only; loans.csv loan_id, startup_id, amount_wan, issued_on, defaulted.
    directory = tmp_path / "sp"
    directory.mkdir()
    (directory / "startups.csv").write_text(
        "startup_id,name\nS1,甲科技有限公司\nS2,乙科技有限公司\nS3,Gamma Robotics Inc\nS4,丁新材料\n", encoding="utf-8")
    lines = ["loan_id,startup_id,amount_wan,issued_on,defaulted"]
    lines += [f"L{i},S{i % 4 + 1},{10 + i % 90},2024-{i % 12 + 1:02d}-15,{int(i % 7 == 0)}" for i in range(1, 401)]
    (directory / "loans.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_scored(directory, tmp_path)


def test_every_optional_column_present_and_empty(tmp_path: Path) -> None:
    directory = book(tmp_path)
    startups = pl.read_csv(directory / "startups.csv", infer_schema=False)
    empty = ["uscc", "sub_sector", "stage", "founded_on", "city", "region", "employees", "rd_staff", "revenue_wan",
             "rd_expense_wan", "total_cost_wan", "total_assets_wan", "funding_ask_wan", "high_tech_enterprise",
             "provincial_rd_center", "national_award_5y", "standards_led_5y", "credit_flags", "description"]
    startups.with_columns(pl.lit("").alias(c) for c in empty).write_csv(directory / "startups.csv")
    loans = pl.read_csv(directory / "loans.csv", infer_schema=False)
    loans.with_columns(pl.lit("").alias(c) for c in ("bank_id", "product_kind", "term_months")).write_csv(
        directory / "loans.csv")
    (directory / "ip_assets.csv").write_text(
        "startup_id,kind,status,granted_on,expires_on,title,appraised_value_wan\n", encoding="utf-8")
    assert_scored(directory, tmp_path)


def test_a_book_too_small_falls_back_to_the_prior_and_says_why(tmp_path: Path) -> None:
    output = assert_scored(book(tmp_path, loans=120), tmp_path)
    assert "documented prior" in output and "120 labelled loans" in " ".join(output.split())


def test_uninformative_features_are_left_out_and_listed(tmp_path: Path) -> None:
    data = read_data_dir(book(tmp_path, sectors=1, firm_columns=("sector", "employees")))
    model = train_pd_model(data.startups, data.ip_assets, data.loans, as_of=date(2025, 1, 1), policy=default_policy())
    card = model.card()
    assert card["dropped"]["sector"] == "the same value in every loan"
    assert card["dropped"]["revenue_wan"] == "empty in every loan"
    assert card["dropped"]["city"] == "empty in every loan"
    assert "amount_wan" in card["features"] and "employees" in card["features"]
    assert all(name not in card["features"] for name in card["dropped"])
    assert card["selection"] and card["form"]


def test_model_report_on_a_real_shaped_book_reads_as_a_credit_committee_expects(tmp_path: Path) -> None:
    directory = book(tmp_path, loans=1500, firm_columns=("sector", "region"), sectors=12)
    out = tmp_path / "report"
    result = runner.invoke(app, ["model-report", "--data", str(directory), "--as-of", AS_OF, "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    holdout = report["holdout"]
    assert 0.5 < holdout["metrics"]["auc"] <= 1.0
    card = holdout["scorecard"]
    bins = [row["bin"] for rows in card["woe"].values() for row in rows]
    bins += [row["bin"] for row in card["points"]]
    assert bins
    # Category bins list their categories; no pandas or numpy repr reaches the committee.
    assert not [b for b in bins if "Array" in b or "dtype" in b or "\n" in b]
    sector_bins = [row["bin"] for row in card["woe"].get("sector", [])]
    assert any("541500" in b for b in sector_bins) or "sector" not in card["woe"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "StringArray" not in page


@pytest.mark.parametrize(("value", "label"), [
    ("[-inf, 3.50)", "[-inf, 3.50)"),
    (np.array(["541500", "541507"], dtype=object), "541500、541507"),
    ([f"C{i}" for i in range(10)], "C0、C1、C2、C3、C4、C5、C6、C7 … (+2)"),
])
def test_a_bin_label_is_its_interval_or_its_categories(value: object, label: str) -> None:
    from matcher.eligibility.report import bin_label

    assert bin_label(value) == label
