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

    # The roadshow commands too (issue 11): names and model scores from the database, as from the directory.
    from_db_dir, from_files_dir = tmp_path / "grid-db", tmp_path / "grid-dir"
    event = str(SAMPLE_DIR / "next_event.json")
    grid = runner.invoke(app, ["schedule", event, "--out", str(from_db_dir), "--time-limit", "20"])
    assert grid.exit_code == 0, grid.output
    args = ["schedule", event, "--data", str(SAMPLE_DIR), "--out", str(from_files_dir), "--time-limit", "20"]
    assert runner.invoke(app, args).exit_code == 0
    meetings = pl.read_csv(from_db_dir / "meetings.csv")
    assert meetings.height > 0 and meetings["startup_name"].null_count() == 0
    assert not meetings["startup_name"].str.starts_with("S0").any()  # names, not ids
    assert meetings.select("slot_id", "table", "startup_id", "investor_id").equals(
        pl.read_csv(from_files_dir / "meetings.csv").select("slot_id", "table", "startup_id", "investor_id")
    )
    sessions = runner.invoke(app, ["plan-sessions", "--out", str(tmp_path / "sessions")])
    assert sessions.exit_code == 0, sessions.output
    assert pl.read_csv(tmp_path / "sessions" / "sessions.csv")["startup_name"].null_count() == 0
