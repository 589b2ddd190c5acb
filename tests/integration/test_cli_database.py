"""Batch commands without --data read the configured database (DATA_FORMAT.md, "Batch commands")."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from roadshow.cli import app
from tests.conftest import SAMPLE_DIR


@pytest.mark.slow
def test_import_then_recommend_and_eligibility_read_the_database(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'roadshow.db'}", "ROADSHOW_DATA_DIR": str(tmp_path)}
    runner = CliRunner(env=env)
    imported = runner.invoke(app, ["import", str(SAMPLE_DIR)])
    assert imported.exit_code == 0, imported.output

    recs_path = tmp_path / "recs.csv"
    recs = runner.invoke(app, ["recommend", "--as-of", "2025-07-01", "--k", "3", "--out", str(recs_path)])
    assert recs.exit_code == 0, recs.output
    from_db = pl.read_csv(recs_path)
    from_dir_path = tmp_path / "recs-dir.csv"
    args = ["recommend", "--data", str(SAMPLE_DIR), "--as-of", "2025-07-01", "--k", "3", "--out", str(from_dir_path)]
    assert runner.invoke(app, args).exit_code == 0
    # The database and the directory hold the same world, so the lists agree.
    assert from_db.select("startup_id", "investor_id", "rank").equals(
        pl.read_csv(from_dir_path).select("startup_id", "investor_id", "rank")
    )

    scores_path = tmp_path / "scores.csv"
    scores = runner.invoke(
        app, ["eligibility", "--product", "knowledge_value_credit", "--as-of", "2026-01-01", "--out", str(scores_path)]
    )
    assert scores.exit_code == 0, scores.output
    assert pl.read_csv(scores_path).height == pl.read_csv(SAMPLE_DIR / "startups.csv").height
