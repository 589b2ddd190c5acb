"""Issue 12: the CLI answers bad files, absurd numbers and unusable databases with one line and exit 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from matcher.io import read_data_dir, validate_data_dir, write_data_dir
from roadshow.cli import app
from tests.factories import ranking_world

runner = CliRunner()


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output
    errors = [line for line in lines if line.startswith("error")]
    assert errors, output
    return errors[0]


@pytest.fixture
def header_only(tmp_path: Path) -> Path:
    (tmp_path / "startups.csv").write_text("startup_id,name,sector,employees\n", encoding="utf-8")
    return tmp_path


def test_a_startups_file_with_only_a_header_is_one_error(header_only: Path, tmp_path: Path) -> None:
    issues = validate_data_dir(header_only)
    assert [(i.file, i.severity) for i in issues] == [("startups.csv", "error")]
    result = runner.invoke(app, ["validate", str(header_only)])
    assert result.exit_code == 1
    assert "no rows" in _one_error_line(result.output)
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "ROADSHOW_DATA_DIR": str(tmp_path)}
    imported = runner.invoke(app, ["import", str(header_only)], env=env)
    assert imported.exit_code == 1 and "no rows" in _one_error_line(imported.output)


def test_other_header_only_files_are_a_warning(tmp_path: Path) -> None:
    write_data_dir(ranking_world(), tmp_path)
    (tmp_path / "loans.csv").write_text("loan_id,startup_id,issued_on\n", encoding="utf-8")
    data = read_data_dir(tmp_path)
    assert data.loans.height == 0
    assert [str(w) for w in data.warnings if w.file == "loans.csv"] == ["warning: loans.csv: has a header but no rows"]


@pytest.mark.parametrize(("column", "value"), [("funding_ask_wan", "1e40"), ("employees", "1e40"),
                                                ("revenue_wan", "-1e300"), ("rd_staff", "3000000000")])
def test_absurd_numbers_are_refused_with_file_row_and_column(tmp_path: Path, column: str, value: str) -> None:
    write_data_dir(ranking_world(), tmp_path)
    frame = pl.read_csv(tmp_path / "startups.csv", infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )
    frame.write_csv(tmp_path / "startups.csv")
    errors = [i for i in validate_data_dir(tmp_path) if i.severity == "error"]
    # Plausibility rules (issue 10) may add their own issue for the same cell; one says "out of range".
    assert {(i.file, i.row, i.column) for i in errors} == {("startups.csv", 4, column)}
    assert sum("out of range" in i.message for i in errors) == 1
    result = runner.invoke(app, ["recommend", "--data", str(tmp_path), "--as-of", "2026-01-01", "--k", "3",
                                 "--out", str(tmp_path / "recs.csv")])
    assert result.exit_code == 1
    assert f"row 4, column {column}: out of range" in _one_error_line(result.output)


def test_large_but_real_numbers_still_pass(tmp_path: Path) -> None:
    write_data_dir(ranking_world(), tmp_path)
    frame = pl.read_csv(tmp_path / "startups.csv", infer_schema=False).with_columns(
        funding_ask_wan=pl.lit("5000000"), employees=pl.lit("250000")
    )
    frame.write_csv(tmp_path / "startups.csv")
    assert not [i for i in validate_data_dir(tmp_path) if i.severity == "error"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite:///x.db", "synchronous driver 'pysqlite'"),
        ("not a url", "cannot be used"),
        ("postgresql+asyncpg://postgres@127.0.0.1:9/none", "cannot reach the database"),
    ],
)
@pytest.mark.parametrize("command", [["db", "upgrade"], ["serve", "--port", "9"], ["train"]])
def test_an_unusable_database_url_is_one_line(tmp_path: Path, url: str, words: str, command: list[str]) -> None:
    result = runner.invoke(app, command, env={"DATABASE_URL": url, "ROADSHOW_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1, result.output
    line = _one_error_line(result.output)
    assert words in line and "DATABASE_URL" in line
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_column_wrong_on_every_row_shows_a_few_rows_and_a_count(tmp_path: Path) -> None:
    write_data_dir(ranking_world(), tmp_path)
    frame = pl.read_csv(tmp_path / "startups.csv", infer_schema=False)
    frame.with_columns(stage=pl.lit("战略投资"),
                       funding_ask_wan=pl.when(pl.int_range(pl.len()) < 2).then(pl.lit("US$ 2M"))
                       .otherwise(pl.col("funding_ask_wan"))).write_csv(tmp_path / "startups.csv")
    result = runner.invoke(app, ["recommend", "--data", str(tmp_path), "--as-of", "2026-01-01", "--k", "3",
                                 "--out", str(tmp_path / "recs.csv")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error")]
    assert sum("column stage: unknown value" in line for line in lines) == 5
    assert sum("column funding_ask_wan: not an amount" in line for line in lines) == 2
    assert f"error: startups.csv, column stage: {frame.height - 5} more row(s) like these" in result.output
    listed = runner.invoke(app, ["validate", str(tmp_path)])
    assert sum("column stage: unknown value" in line for line in listed.output.splitlines()) == frame.height
