"""`roadshow wishes` and `roadshow outcomes` (issue 14): thin doors onto the services the API calls, on
the database a running app serves (what one door writes, the other reads), with one-line errors that
name the field, or the CSV's file, row and column."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.settings import Settings
from roadshow.cli import app as cli
from tests.factories import service_event, service_world
from tests.integration.conftest import Api

EVENT = "2026-12-lotus-01"
E = f"/api/events/{EVENT}"


@pytest.fixture
def door(tmp_path: Path) -> Iterator[tuple[Api, dict[str, str], CliRunner]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'roadshow.db'}"
    runner = CliRunner(env={"DATABASE_URL": url, "ROADSHOW_DATA_DIR": str(tmp_path),
                            "ROADSHOW_RETRAIN_DEBOUNCE_SECONDS": "3600"})
    _ok(runner, "db", "upgrade")  # the schema the commands migrate, shared with the running app
    settings = Settings(database_url=url, data_dir=tmp_path, model_dir=tmp_path / "models", model_refresh_seconds=0.0)
    with TestClient(app=create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client)
        api.load(service_world())
        organiser = api.headers("organiser")
        created = api.client.post("/api/events", json=service_event(EVENT), headers=organiser)
        assert created.status_code == 201, created.text
        yield api, organiser, runner


def _ok(runner: CliRunner, *args: str) -> str:
    done = runner.invoke(cli, list(args))
    assert done.exit_code == 0, done.output
    return done.output


def _error(runner: CliRunner, *args: str) -> str:
    done = runner.invoke(cli, list(args))
    assert done.exit_code == 1, done.output
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.output
    return lines[0]


def test_wishes_and_requests_from_the_command_line_reach_the_solver(
    door: tuple[Api, dict[str, str], CliRunner],
) -> None:
    api, organiser, runner = door
    out = _ok(runner, "wishes", "set", EVENT, "I_robot", "--wish", "S_new_energy_0", "--no", "S_biomedicine_0")
    assert "S_biomedicine_0 × I_robot: no from the investor" in out
    _ok(runner, "wishes", "set", EVENT, "S_robotics_0", "--must", "I_bio")
    _ok(runner, "wishes", "answer", EVENT, "I_bio", "S_robotics_0", "accepted")
    listed = _ok(runner, "wishes", "list", EVENT)
    assert "S_robotics_0 × I_bio: must from the startup (accepted)" in listed
    seen = api.client.get(f"{E}/wishes", headers=organiser).json()
    assert {(w["startup_id"], w["investor_id"], w["kind"], w["status"]) for w in seen} == {
        ("S_new_energy_0", "I_robot", "wish", None), ("S_biomedicine_0", "I_robot", "no", None),
        ("S_robotics_0", "I_bio", "must", "accepted")}
    solved = api.client.post(f"{E}/schedule", json={"time_limit": 10}, headers=organiser)
    assert solved.status_code == 200, solved.text
    pairs = {(m["startup_id"], m["investor_id"]) for m in api.client.get(f"{E}/meetings", headers=organiser).json()}
    assert ("S_robotics_0", "I_bio") in pairs and ("S_biomedicine_0", "I_robot") not in pairs
    # The API's own checks, one line each: an unknown counterpart, an answer to no request.
    assert _error(runner, "wishes", "set", EVENT, "I_robot", "--wish", "S_nobody").startswith(
        "error: wishes[0].counterpart_id: S_nobody is not a startup")
    assert "has sent I_energy no meeting request" in _error(
        runner, "wishes", "answer", EVENT, "I_energy", "S_robotics_0", "declined")


def test_outcomes_recorded_imported_and_listed(door: tuple[Api, dict[str, str], CliRunner], tmp_path: Path) -> None:
    api, organiser, runner = door
    assert api.client.post(f"{E}/schedule", json={"time_limit": 10}, headers=organiser).status_code == 200
    out = _ok(runner, "outcomes", "record", EVENT, "--startup", "S_robotics_0", "--investor", "I_robot",
              "--outcome", "intent_signed", "--amount", "800")
    assert "intent_signed; 800 万元 on 2026-12-01" in out and "a retrain is queued" in out
    assert _error(runner, "outcomes", "record", EVENT, "--startup", "S_robotics_0", "--investor", "I_robot",
                  "--outcome", "intent_signed") == \
        "error: amount_wan: intent_signed needs amount_wan, the amount in 万元 (> 0)"

    good = tmp_path / "outcomes.csv"
    good.write_text("startup_id,investor_id,outcome,no_show,amount_wan,on\n"
                    "S_biomedicine_0,I_bio,no_show,investor,,\n"
                    "S_robotics_0,I_robot,interested,,,\n", encoding="utf-8")
    assert "recorded 2 outcome(s)" in _ok(runner, "outcomes", "import", EVENT, str(good))
    bad_cell = tmp_path / "bad_cell.csv"
    bad_cell.write_text("startup_id,investor_id,outcome,amount_wan\nS_robotics_0,I_robot,held,\n"
                        "S_robotics_0,I_robot,intent_signed,eight hundred\n", encoding="utf-8")
    assert _error(runner, "outcomes", "import", EVENT, str(bad_cell)) == (
        "error: bad_cell.csv: row 3, column amount_wan: expected `float | null`, got `str` ('eight hundred')")
    bad_rule = tmp_path / "bad_rule.csv"
    bad_rule.write_text("startup_id,investor_id,outcome,no_show\nS_robotics_0,I_robot,held,\n"
                        "S_robotics_0,I_robot,no_show,\n", encoding="utf-8")
    assert _error(runner, "outcomes", "import", EVENT, str(bad_rule)) == (
        "error: bad_rule.csv: row 3, column no_show: a no_show names who did not come: one of startup, investor, both")
    bad_header = tmp_path / "bad_header.csv"
    bad_header.write_text("startup_id,investor_id,result\nS_robotics_0,I_robot,held\n", encoding="utf-8")
    assert _error(runner, "outcomes", "import", EVENT, str(bad_header)).startswith(
        "error: bad_header.csv: header: unknown column 'result'")

    # All or none: the bad files recorded nothing; every report is kept, the latest one stands.
    history = api.client.get(f"{E}/outcomes?history=true", headers=organiser).json()
    assert [(h["startup_id"], h["outcome"], h["current"]) for h in history] == [
        ("S_robotics_0", "intent_signed", False), ("S_biomedicine_0", "no_show", True),
        ("S_robotics_0", "interested", True)]
    assert all(h["recorded_by"].startswith("cli:") and h["recorded_role"] == "organiser" for h in history)
    listed = _ok(runner, "outcomes", "list", EVENT, "--history")
    assert "replaced by a later report" in listed and "no_show; investor did not come" in listed
    assert len(_ok(runner, "outcomes", "list", EVENT).strip().splitlines()) == 2
