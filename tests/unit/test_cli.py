"""The command line as a whole: it starts without the heavy libraries, lists its choices, and reports usage
errors as one line with exit code 1 (2 is kept for an infeasible schedule)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import get_args

import polars as pl
import pytest
from typer.testing import CliRunner

from roadshow.cli import app
from roadshow.commands import choices

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

# What a command may import when it runs, never at start-up.
HEAVY = ("polars", "numpy", "sklearn", "scipy", "litestar", "sqlalchemy", "api", "matcher.io", "matcher.ranking",
         "matcher.eligibility", "matcher.scheduling", "matcher.features", "matcher.synthetic")
COMMANDS = ("validate", "demo", "recommend", "evaluate", "generate", "serve", "import", "train", "schedule",
            "plan-sessions", "eligibility", "train-eligibility", "keys create", "keys revoke", "db upgrade")

LOADED_AFTER_HELP = f"""
import json, sys
from roadshow.cli import app
for args in [["--help"], ["--version"], *[[*c.split(), "-h"] for c in {list(COMMANDS)!r}]]:
    try:
        app(args)
    except SystemExit as exc:
        assert exc.code == 0, (args, exc.code)
heavy = {HEAVY!r}
print(json.dumps(sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy)))))
"""


def test_help_and_version_import_no_heavy_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER_HELP], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


SCHEDULE_SCORED_EVENT = """
import json, sys
from roadshow.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(json.dumps(sorted(m for m in ("sklearn", "skops", "matcher.ranking") if m in sys.modules)))
"""


@pytest.mark.slow  # a fresh interpreter solving and writing every export
def test_scheduling_a_scored_event_loads_no_ranking_stack(tmp_path: Path) -> None:
    from matcher.scheduling.generate import generate_event

    event = tmp_path / "event.json"
    event.write_text(json.dumps(generate_event(4, 3, 4, seed=1), ensure_ascii=False), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    doc = json.loads(event.read_text(encoding="utf-8"))
    startups = "".join(f"{s['startup_id']},湘潭{s['startup_id']}科技有限公司\n" for s in doc["startups"])
    investors = "".join(f"{i['investor_id']},{i['investor_id']}创投,vc\n" for i in doc["investors"])
    (data / "startups.csv").write_text("startup_id,name\n" + startups, encoding="utf-8")
    (data / "investors.csv").write_text("investor_id,name,kind\n" + investors, encoding="utf-8")
    argv = ["schedule", str(event), "--data", str(data), "--out", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", SCHEDULE_SCORED_EVENT, *argv], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
    assert (tmp_path / "out" / "meetings.csv").exists()


SCHEDULE_FROM_DATABASE = """
import json, sys
from roadshow.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = ("sklearn", "matcher.ranking", "alembic", "api.db.models", "api.services", "litestar")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


@pytest.mark.slow  # a fresh interpreter solving and writing every export
@pytest.mark.parametrize("database", ["absent", "named"])
def test_scheduling_a_scored_event_reads_only_names_from_the_database(tmp_path: Path, database: str) -> None:
    import sqlite3

    from matcher.scheduling.generate import generate_event

    event = tmp_path / "event.json"
    doc = generate_event(4, 3, 4, seed=1)
    event.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "roadshow.db"
    if database == "named":
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE startups (startup_id TEXT PRIMARY KEY, name TEXT)")
            conn.execute("CREATE TABLE investors (investor_id TEXT PRIMARY KEY, name TEXT)")
            conn.executemany("INSERT INTO startups VALUES (?, ?)",
                             [(s["startup_id"], f"湘潭{s['startup_id']}科技") for s in doc["startups"]])
            conn.executemany("INSERT INTO investors VALUES (?, ?)",
                             [(i["investor_id"], f"{i['investor_id']}创投") for i in doc["investors"]])
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "ROADSHOW_DATA_DIR": str(tmp_path)}
    argv = ["schedule", str(event), "--out", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", SCHEDULE_FROM_DATABASE, *argv], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
    names = set(pl.read_csv(tmp_path / "out" / "meetings.csv")["startup_name"].to_list())
    if database == "named":
        assert names and all(n.startswith("湘潭") for n in names)
    else:
        assert not db.exists()  # reading names never creates a database
        assert "not in the configured database" in " ".join(done.stderr.split())


# An event on which the locked HiGHS prints a debug line to stdout while it solves (total mode).
NOISY_EVENT = {
    "event_id": "noisy", "tables": 2,
    "slots": [{"slot_id": "s0", "start": "2026-12-01T09:00", "end": "2026-12-01T09:20"},
              {"slot_id": "s1", "start": "2026-12-01T10:00", "end": "2026-12-01T10:20"}],
    "startups": [{"startup_id": "S0", "min_meetings": 0, "max_meetings": 2},
                 {"startup_id": "S1", "min_meetings": 0, "max_meetings": 1}],
    "investors": [{"investor_id": "I0", "min_meetings": 0, "max_meetings": 2}],
    "scores": [{"startup_id": "S1", "investor_id": "I0", "score": 0.684},
               {"startup_id": "S0", "investor_id": "I0", "score": 0.147}],
    "requests": [{"startup_id": "S1", "investor_id": "I0", "kind": "must"}],
    "conflicts": [],
}


@pytest.mark.slow  # a fresh interpreter solving and writing every export
def test_schedule_stdout_is_only_the_json_summary_even_when_the_solver_prints(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(NOISY_EVENT), encoding="utf-8")
    env = {**os.environ, "ROADSHOW_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    argv = [sys.executable, "-m", "roadshow", "schedule", str(event), "--out", str(tmp_path / "out"),
            "--mode", "total", "--solver", "decomposition"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["meetings"] == 2


NATIVE_WRITE = """
import os, sys
from roadshow.commands._common import native_output_to_stderr
print("before", flush=True)
with native_output_to_stderr():
    os.write(1, b"native noise\\n")
print("after")
"""


def test_native_writes_to_stdout_go_to_stderr_inside_the_guard() -> None:
    done = subprocess.run([sys.executable, "-c", NATIVE_WRITE], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "before\nafter\n"
    assert "native noise" in done.stderr


def test_choices_are_the_librarys() -> None:
    from api.services.keys import Role
    from matcher.ranking import MODELS
    from matcher.ranking.base import KINDS
    from matcher.scheduling.encoder import MODES
    from matcher.scheduling.solvers import SOLVER_NAMES

    assert get_args(choices.RankingModel) == tuple(MODELS)
    assert get_args(choices.Kind) == KINDS
    assert get_args(choices.ScheduleMode) == MODES
    assert get_args(choices.Solver) == SOLVER_NAMES
    assert get_args(choices.KeyRole) == tuple(role.value for role in Role)


def test_help_lists_the_choices_and_h_is_help() -> None:
    result = runner.invoke(app, ["schedule", "-h"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "<balanced|total|fair>" in result.output and "<auto|milp|decomposition>" in result.output
    recommend = runner.invoke(app, ["recommend", "--help"], env={"COLUMNS": "200"}).output
    assert "<investors|startups>" in recommend
    assert "<learned|boosted|random|popularity|recent_popularity|sector_popularity|declared>" in recommend


def test_version_is_the_package_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"roadshow {version}"


def test_without_a_command_the_help_is_shown() -> None:
    for args in ([], ["keys"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert "Usage: roadshow" in result.output and "Commands:" in result.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["schedule", "{event}", "--out", "{tmp}/o", "--mode", "best"],
         "error: --mode: 'best' is not one of 'balanced', 'total', 'fair' (see 'roadshow schedule -h')"),
        (["recommend", "--as-of", "2026-01-01", "--out", "{tmp}/r.csv", "--side", "both"],
         "error: --side: 'both' is not one of 'investors', 'startups' (see 'roadshow recommend -h')"),
        (["recommend", "--as-of", "2026-01-01"], "error: missing option '--out' (see 'roadshow recommend -h')"),
        (["recommend", "--as-of", "2026-01-01", "--out", "{tmp}/r.csv", "--k", "ten"],
         "error: --k: input should be a valid integer, unable to parse string as an integer "
         "(see 'roadshow recommend -h')"),
        (["schedule", "{event}", "--out", "{tmp}/o", "--fast"], "error: no such option: --fast"),
        (["shedule"], "error: no such command 'shedule'"),
        (["recommend", "--as-of", "2026-01-01", "--out", "{tmp}/r.csv", "--targets", "{tmp}/missing.csv"],
         "error: --targets: file '{tmp}/missing.csv' does not exist (see 'roadshow recommend -h')"),
        (["eligibility", "--product", "ip_pledge", "--out", "{tmp}"],
         "error: --out: file '{tmp}' is a directory (see 'roadshow eligibility -h')"),
        (["schedule", "{tmp}/none.json", "--out", "{tmp}/o"],
         "error: event: file '{tmp}/none.json' does not exist (see 'roadshow schedule -h')"),
    ],
    ids=["choice", "side", "missing-option", "not-an-int", "unknown-option", "unknown-command", "missing-file",
         "out-is-a-directory", "missing-argument-file"],
)
def test_a_usage_error_is_one_line_and_exit_1(tmp_path: Path, args: list[str], line: str) -> None:
    event = tmp_path / "event.json"
    event.write_text("{}", encoding="utf-8")
    filled = [a.format(tmp=tmp_path, event=event) for a in args]
    result = runner.invoke(app, filled)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(line.format(tmp=tmp_path))
    assert "Traceback" not in result.output and "Usage:" not in result.output


def test_the_console_script_exits_1_on_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "roadshow", "schedule", "x.json", "--mode", "best"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().startswith("error: ")


def test_progress_shows_on_stderr_only_when_the_work_takes_longer_than_the_delay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import time

    from rich.console import Console

    from roadshow.commands import _common

    screen = io.StringIO()
    monkeypatch.setattr(_common.err_console, "_console", Console(file=screen, force_terminal=True, width=100))
    with _common.progress("quick work"):
        pass
    assert screen.getvalue() == ""
    monkeypatch.setattr(_common, "PROGRESS_DELAY", 0.01)
    with _common.progress("reading the data") as steps:
        time.sleep(0.3)
        steps.step("ranking")
        steps.advance(3, 7)
        time.sleep(0.3)
    shown = screen.getvalue()
    assert "reading the data" in shown and "3/7" in shown
