"""Exports and the ``roadshow schedule`` command (issue 4): files parse, calendars update instead of
duplicating after a reschedule, the command prints its JSON summary and exits 2 when infeasible."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar
from openpyxl import load_workbook
from typer.testing import CliRunner

from matcher.scheduling import parse_changes, parse_event, reschedule, solve, write_exports
from matcher.scheduling.generate import generate_event
from matcher.scheduling.schedule import Meeting
from roadshow.cli import app


def _calendar_events(path: Path) -> list[Any]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return list(cal.walk("VEVENT"))


def _import(calendar: dict[str, dict[str, Any]], path: Path) -> None:
    """What a calendar client does on import: an event with a known UID and a higher SEQUENCE replaces
    (or cancels) the entry it holds; a new UID adds an entry."""
    for ev in _calendar_events(path):
        uid = str(ev["UID"])
        sequence = int(ev["SEQUENCE"])
        if uid in calendar and calendar[uid]["sequence"] >= sequence:
            continue
        if str(ev.get("STATUS")) == "CANCELLED":
            calendar.pop(uid, None)
        else:
            calendar[uid] = {"summary": str(ev["SUMMARY"]), "start": ev["DTSTART"].dt, "sequence": sequence}


def test_exports_write_every_format_with_the_contract_columns(tmp_path: Path) -> None:
    problem = parse_event(generate_event(12, 4, 4, seed=2))
    schedule = solve(problem, time_limit=5)
    files = write_exports(problem, schedule, tmp_path)
    assert (tmp_path / "meetings.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows
    with (tmp_path / "meetings.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "slot_id", "table", "startup_id", "investor_id", "score", "start", "end", "startup_name", "investor_name"
    ]
    assert [
        Meeting(r["slot_id"], int(r["table"]), r["startup_id"], r["investor_id"], float(r["score"])) for r in rows
    ] == list(schedule.meetings)

    wb = load_workbook(files["xlsx"][0])
    grid = wb["会议总表"]
    assert grid.cell(1, 4).value == "1号桌"
    assert len(wb.sheetnames) == 2 + len(problem.investors) + len(problem.startups)
    filled = sum(1 for row in grid.iter_rows(min_row=2, min_col=4, values_only=True) for v in row if v)
    assert filled == len(schedule.meetings)

    html = files["html"][0].read_text(encoding="utf-8")
    assert html.count("<section class=\"person\">") == len(problem.investors) + len(problem.startups)

    per_participant = {m.startup_id for m in schedule.meetings} | {m.investor_id for m in schedule.meetings}
    assert len(files["ics"]) == len(per_participant)
    for path in files["ics"]:
        uids = [str(ev["UID"]) for ev in _calendar_events(path)]
        assert len(uids) == len(set(uids))


def test_a_rerun_and_a_reschedule_update_calendars_without_duplicates(tmp_path: Path) -> None:
    problem = parse_event(generate_event(20, 6, 5, seed=4))
    first = solve(problem, time_limit=5)
    monday, tuesday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    write_exports(problem, first, tmp_path / "run1", formats=("ics",), generated_at=monday)
    write_exports(problem, solve(problem, time_limit=5), tmp_path / "run2", formats=("ics",))
    for path in (tmp_path / "run1" / "ics").iterdir():
        again = tmp_path / "run2" / "ics" / path.name
        assert {str(e["UID"]) for e in _calendar_events(path)} == {str(e["UID"]) for e in _calendar_events(again)}

    moved_investor = first.meetings[0].investor_id
    gone = first.meetings[-1]
    changes = parse_changes(
        {
            "late_arrivals": [
                {
                    "participant_id": moved_investor,
                    "available": [s for s in problem.slot_ids if s != first.meetings[0].slot_id],
                }
            ],
            "cancellations": [{"startup_id": gone.startup_id, "investor_id": gone.investor_id}],
        },
        problem,
    )
    changed, second = reschedule(problem, first.meetings, changes, time_limit=5)
    write_exports(changed, second, tmp_path / "run3", formats=("ics",), generated_at=tuesday)

    for who in {m.investor_id for m in first.meetings} | {m.startup_id for m in first.meetings}:
        role = "investor" if who.startswith("I") else "startup"
        calendar: dict[str, dict[str, Any]] = {}
        _import(calendar, tmp_path / "run1" / "ics" / f"{role}-{who}.ics")
        newer = tmp_path / "run3" / "ics" / f"{role}-{who}.ics"
        if newer.exists():
            _import(calendar, newer)
        expected = [m for m in second.meetings if who in (m.startup_id, m.investor_id)]
        # After importing both files, the calendar holds exactly the new meetings, each once.
        assert len(calendar) == len(expected)
        starts = {slot.slot_id: slot.start for slot in problem.slots}
        held = sorted((v["summary"], v["start"].replace(tzinfo=None)) for v in calendar.values())
        other = {"investor": "startup_id", "startup": "investor_id"}[role]
        want = sorted((f"与 {getattr(m, other)} 会谈", starts[m.slot_id]) for m in expected)
        assert held == want


def _write_event(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


def _runner(tmp_path: Path) -> CliRunner:
    """Without --data the command reads the configured database: a fresh one of the test's own."""
    return CliRunner(env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"})


def test_the_schedule_command_prints_a_summary_and_reschedules(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    event_path = _write_event(tmp_path, generate_event(15, 5, 4, seed=5))
    result = runner.invoke(app, ["schedule", str(event_path), "--out", str(tmp_path / "out"), "--time-limit", "10"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("objective", "upper_bound", "gap", "meetings", "seconds"):
        assert key in summary
    assert (tmp_path / "out" / "meetings.csv").exists()

    with (tmp_path / "out" / "meetings.csv").open(encoding="utf-8-sig") as fh:
        first = next(csv.DictReader(fh))
    changes = tmp_path / "changes.json"
    changes.write_text(
        json.dumps({"cancellations": [{"startup_id": first["startup_id"], "investor_id": first["investor_id"]}]}),
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        ["schedule", str(event_path), "--out", str(tmp_path / "out2"), "--reschedule",
         str(tmp_path / "out" / "meetings.csv"), "--changes", str(changes)],
    )
    assert result.exit_code == 0, result.output
    replanned = json.loads(result.stdout)
    # The re-plan keeps the mode of the schedule it changes (read from schedule.json beside meetings.csv).
    assert replanned["mode"] == summary["mode"] == "balanced"
    dropped = {(d["startup_id"], d["investor_id"]): d for d in replanned["dropped"]}
    gone = dropped[(first["startup_id"], first["investor_id"])]
    assert gone["from"]["slot_id"] == first["slot_id"] and gone["to"] is None and gone["reason"] == "cancelled"
    assert gone["startup_name"] == first["startup_name"]
    assert replanned["dropped"] and all(a["reason"] == "new" for a in replanned["added"])


def test_an_infeasible_event_exits_2_and_names_the_participant(tmp_path: Path) -> None:
    raw = generate_event(6, 2, 4, seed=1)
    raw["startups"][0] = {"startup_id": "S1", "min_meetings": 3, "available": ["t01", "t02"]}
    result = _runner(tmp_path).invoke(app, ["schedule", str(_write_event(tmp_path, raw)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "S1 needs 3 meetings but is available in 2 slots" in result.output


def test_bad_options_exit_1_with_the_option_named(tmp_path: Path) -> None:
    path = _write_event(tmp_path, generate_event(4, 2, 2, seed=1))
    result = _runner(tmp_path).invoke(app, ["schedule", str(path), "--out", str(tmp_path / "o"), "--solver", "greedy"])
    assert result.exit_code == 1
    assert "--solver" in result.output
