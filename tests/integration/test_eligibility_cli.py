"""``roadshow eligibility`` and ``train-eligibility`` (issue 5): contract columns, errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from matcher.io import write_data_dir
from roadshow.cli import app
from tests.factories import eligibility_data, eligibility_firm, eligibility_ip, eligibility_loan_book, eligibility_model

runner = CliRunner()


def write_world(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    data = eligibility_data(
        [eligibility_firm("F1"), eligibility_firm("F2", rd_staff=0, credit_flags=1)], [eligibility_ip("F1")]
    )
    write_data_dir(data, directory)
    return directory


def test_eligibility_writes_exactly_the_contract_columns(tmp_path: Path) -> None:
    directory = write_world(tmp_path)
    model = eligibility_model().save(tmp_path / "m.skops")
    targets = tmp_path / "targets.csv"
    targets.write_text("startup_id\nF2\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["eligibility", "--data", str(directory), "--product", "knowledge_value_credit",
                                 "--as-of", "2026-06-30", "--model", str(model), "--targets", str(targets),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # opens in Excel on Chinese Windows
    scores = pl.read_csv(out)
    assert scores.columns == ["startup_id", "product", "eligible", "tech_sme_score", "tech_sme_qualified", "grade",
                              "pd", "credit_limit_wan", "reasons", "policy_version", "model_version", "input_hash",
                              "limit_basis"]
    row = scores.row(0, named=True)
    assert (row["startup_id"], row["eligible"], row["credit_limit_wan"]) == ("F2", False, 0.0)
    assert (row["model_version"], row["limit_basis"]) == (eligibility_model().model_version_, "not_eligible")
    assert len(row["input_hash"]) == 64 and row["policy_version"].startswith("default-")
    assert row["reasons"].split(";")[:2] == ["ADVERSE_CREDIT", "NO_TECH_STAFF_SCORE"]
    assert "Eligibility for knowledge_value_credit" in result.output


def test_bad_input_names_the_field_without_a_traceback(tmp_path: Path) -> None:
    directory = write_world(tmp_path)
    out = str(tmp_path / "s.csv")
    cases = [
        (["--product", "mortgage"], "product"),
        (["--product", "other", "--as-of", "2026-02-30"], "--as-of"),
        (["--product", "other", "--model", str(tmp_path / "absent.skops")], "model"),
    ]
    for extra, field in cases:
        result = runner.invoke(app, ["eligibility", "--data", str(directory), "--out", out, *extra])
        assert result.exit_code == 1
        assert f"{field}:" in result.output
        assert "Traceback" not in result.output


def test_train_eligibility_saves_a_loadable_model(tmp_path: Path) -> None:
    directory = tmp_path / "book"
    write_data_dir(eligibility_loan_book(n_firms=150), directory)
    out = tmp_path / "bank.skops"
    result = runner.invoke(app, ["train-eligibility", "--data", str(directory), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "trained on 300 loans" in result.output
    too_early = runner.invoke(app, ["train-eligibility", "--data", str(directory), "--as-of", "2020-01-01",
                                    "--out", str(out)])
    assert too_early.exit_code == 1
    assert "too little loan history" in too_early.output and "Traceback" not in too_early.output
