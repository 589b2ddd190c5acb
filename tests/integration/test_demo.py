"""`make demo` runs the main job on the bundled sample world without a network or a server."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from roadshow.cli import app
from tests.conftest import SAMPLE_DIR


@pytest.mark.slow
def test_demo_shows_the_world_matches_eligibility_and_schedule(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", "ROADSHOW_DATA_DIR": str(tmp_path)}
    runner = CliRunner(env=env)
    result = runner.invoke(app, ["demo", "--data", str(SAMPLE_DIR), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "imported from" in result.output  # the embedded database was empty: the sample went in first
    for heading in (
        "Startups by sector",
        "Roadshow history by year",
        "Best investors for S00001",
        "Best banks for S00001",
        "Top 5 startups for",
        "Credit eligibility",
        "Meeting grid of",
        "The HTTP API",
    ):
        assert heading in result.output
    # The investors' list holds no bank, the banks' list nothing else, each ranked 1..5 within its kind.
    investors_part = result.output.split("Best investors for S00001", 1)[1].split("Best banks for S00001", 1)
    assert "│ bank " not in investors_part[0]
    assert investors_part[1].split("Best investors for", 1)[0].count("│ bank ") == 5
    meetings = pl.read_csv(tmp_path / "meetings.csv")
    assert meetings.height > 0
    assert meetings.select("slot_id", "table").is_duplicated().sum() == 0  # one meeting per table and slot
    assert list((tmp_path / "ics").glob("*.ics"))
    again = runner.invoke(app, ["demo", "--data", str(SAMPLE_DIR), "--out", str(tmp_path)])
    assert again.exit_code == 0 and "already imported" in again.output
