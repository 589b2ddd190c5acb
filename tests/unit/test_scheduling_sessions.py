"""Pitch sessions (issue 4): themes, capacity, invitations that fit and balance."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from matcher.errors import InvalidInputError
from matcher.io import DataSet, from_frames, write_data_dir
from matcher.scheduling.sessions import declared_fit, group_startups, plan_sessions
from roadshow.cli import app


def world() -> DataSet:
    # 10 robotics startups (5 seed, 5 b), 3 biomedicine, 2 new-energy; capacity 5 below.
    startups = pl.DataFrame(
        {
            "startup_id": [f"R{k}" for k in range(10)] + ["B0", "B1", "B2", "E0", "E1"],
            "name": ["x"] * 15,
            "sector": ["机器人"] * 10 + ["生物医药"] * 3 + ["风电"] * 2,
            "stage": ["seed", "b"] * 5 + ["a"] * 5,
        }
    )
    investors = pl.DataFrame(
        {
            "investor_id": ["I_robot_seed", "I_robot_b", "I_bio", "I_energy", "BANK1"],
            "name": ["x"] * 5,
            "kind": ["vc", "pe", "vc", "vc", "bank"],
            "sectors": [["智能机器人"], ["智能机器人"], ["生物医药"], ["新能源装备"], []],
            "stages": [["seed"], ["b"], ["a"], ["a"], []],
        }
    )
    return from_frames(startups=startups, investors=investors)


def test_startups_are_grouped_by_theme_within_capacity_and_by_stage() -> None:
    groups = group_startups(world().startups, capacity=5)
    robot = [ids for theme, ids in groups if theme == "robotics"]
    # Ten robotics startups → two sessions of five, cut along stage: all seed ones together.
    assert sorted(map(sorted, robot)) == [["R0", "R2", "R4", "R6", "R8"], ["R1", "R3", "R5", "R7", "R9"]]
    # Biomedicine (3 ≥ 5/2) gets its own session; new energy (2 < 5/2) goes to a mixed session.
    assert ("biomedicine", ["B0", "B1", "B2"]) in groups
    assert ("mixed", ["E0", "E1"]) in groups
    assert all(len(ids) <= 5 for _, ids in groups)


def test_declared_fit_scores_sector_and_stage() -> None:
    fit = declared_fit(world().startups, world().investors)
    value = {(r["startup_id"], r["investor_id"]): r["fit"] for r in fit.iter_rows(named=True)}
    assert value[("R0", "I_robot_seed")] == pytest.approx(1.0)  # sector and stage
    assert value[("R1", "I_robot_seed")] == pytest.approx(0.6)  # sector only
    assert value[("R0", "I_bio")] == pytest.approx(0.0)
    assert value[("R0", "BANK1")] == pytest.approx(0.2)  # no stage preference: neutral half of 0.4


def test_invitations_go_to_the_best_fitting_session_with_a_bank_everywhere() -> None:
    plan = plan_sessions(world(), capacity=5, investors_per_session=1, banks_per_session=1,
                         max_sessions_per_investor=1)
    by_theme = {(s.theme, s.startup_ids[0]): s for s in plan.sessions}
    assert by_theme[("robotics", "R0")].investor_ids == ("I_robot_seed",)
    assert by_theme[("robotics", "R1")].investor_ids == ("I_robot_b",)
    assert by_theme[("biomedicine", "B0")].investor_ids == ("I_bio",)
    assert by_theme[("mixed", "E0")].investor_ids == ("I_energy",)
    assert sum(len(s.bank_ids) for s in plan.sessions) == 1  # one bank, one session at most
    assert plan.objective <= plan.upper_bound + 1e-9


def test_every_session_gets_its_share_of_seats() -> None:
    # Four investors with two sessions each = 8 seats over 4 sessions: each session gets at least 2.
    plan = plan_sessions(world(), capacity=5, investors_per_session=3, banks_per_session=0,
                         max_sessions_per_investor=2)
    assert all(len(s.investor_ids) >= 2 for s in plan.sessions)
    counts = pl.DataFrame({"i": [i for s in plan.sessions for i in s.investor_ids]})["i"].value_counts()
    assert counts["count"].max() <= 2


def test_bad_parameters_and_unknown_startups_are_errors() -> None:
    with pytest.raises(InvalidInputError) as info:
        plan_sessions(world(), capacity=0)
    assert info.value.field == "capacity"
    with pytest.raises(InvalidInputError) as info:
        plan_sessions(world(), startup_ids=["nope"])
    assert info.value.field == "startup_ids"


def test_plan_sessions_command_writes_both_files(tmp_path: Path) -> None:
    write_data_dir(world(), tmp_path / "data")
    result = CliRunner().invoke(
        app, ["plan-sessions", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--capacity", "5"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sessions"] == 4
    assert summary["startups"] == 15
    sessions = pl.read_csv(tmp_path / "out" / "sessions.csv")
    assert sessions.columns == [
        "session_id", "theme", "theme_label", "duration_minutes", "order", "startup_id", "startup_name"
    ]
    invitations = pl.read_csv(tmp_path / "out" / "invitations.csv")
    assert invitations.columns[:3] == ["session_id", "investor_id", "kind"] and "investor_name" in invitations.columns
    assert (tmp_path / "out" / "sessions.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # Every session short of a bank or an investor is reported, on stderr and in the summary.
    short = summary["sessions_without_bank"] + summary["sessions_without_investor"]
    assert summary["sessions_without_bank"] == 2  # one bank, at most two sessions each, four sessions
    assert len(summary["warnings"]) == short and "no bank" in result.stderr
