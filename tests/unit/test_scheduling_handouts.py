"""Handouts people can read (issue 11): names in every export, sensible slots, re-plans that say what
changed and keep their mode, and the schedule stored and read back as the library's own object."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from matcher.errors import InfeasibleError, InvalidInputError
from matcher.scheduling import (
    Schedule,
    download,
    export_files,
    parse_changes,
    parse_event,
    reschedule,
    solve,
    spread,
)
from matcher.scheduling.generate import generate_event
from roadshow.cli import app

NAMES = {
    "S1": '=HYPERLINK("http://x","y")', "S2": "湘潭智造科技有限公司", "I1": "莲城创投基金", "I2": "湖南银行湘潭分行"
}


def _event(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "event_id": "e1",
        "name": "智造莲城 路演 第一期",
        "venue": "湘潭高新区创新中心",
        "tables": 2,
        "slots": [
            {"slot_id": "s01", "start": "2026-12-01T14:00", "end": "2026-12-01T14:20"},
            {"slot_id": "s02", "start": "2026-12-01T14:20", "end": "2026-12-01T14:40"},
        ],
        "startups": [{"startup_id": "S1", "name": NAMES["S1"]}, {"startup_id": "S2"}],
        "investors": [{"investor_id": "I1"}, {"investor_id": "I2"}],
        "scores": [
            {"startup_id": s, "investor_id": i, "score": v}
            for (s, i), v in {("S1", "I1"): 0.9, ("S1", "I2"): 0.5, ("S2", "I1"): 0.4, ("S2", "I2"): 0.8}.items()
        ],
    }
    raw.update(overrides)
    return raw


def _slots(*spans: tuple[str, str]) -> list[dict[str, str]]:
    return [{"slot_id": f"s{k:02d}", "start": a, "end": b} for k, (a, b) in enumerate(spans, start=1)]


@pytest.mark.parametrize(
    ("slots", "field", "words"),
    [
        (_slots(("2026-12-01T14:00", "2026-12-01T14:20"), ("2026-12-01T14:10", "2026-12-01T14:30")),
         "slots[1].start", "s02 (2026-12-01T14:10–14:30) overlaps slot s01"),
        (_slots(("2026-12-01T14:00", "2026-12-01T14:20"), ("2026-12-01T14:00", "2026-12-01T14:20")),
         "slots[1].start", "s02 (2026-12-01T14:00–14:20) repeats slot s01"),
        (_slots(("2026-12-01T14:20", "2026-12-01T14:20")), "slots[0].end", "slot s01: end must be after start"),
        (_slots(("2026-12-01T14:00+08:00", "2026-12-01T14:20+08:00"), ("2026-12-01T14:20", "2026-12-01T14:40")),
         "slots[1].start", "slot s02: start has no time zone"),
        (_slots(("2026-12-01T14:00", "2026-12-01T14:20+08:00")), "slots[0].end", "slot s01: end has time zone"),
    ],
)
def test_slots_that_make_no_timetable_are_refused_naming_the_slot(
    slots: list[dict[str, str]], field: str, words: str
) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_event(_event(slots=slots))
    assert err.value.field == field and words in str(err.value)


def test_back_to_back_and_zoned_slots_are_fine() -> None:
    zoned = _slots(("2026-12-01T06:00Z", "2026-12-01T06:20Z"), ("2026-12-01T14:20+08:00", "2026-12-01T14:40+08:00"))
    problem = parse_event(_event(slots=zoned))
    schedule = solve(problem, time_limit=5)
    rows = list(csv.DictReader(io.StringIO(export_files(problem, schedule, "csv")["meetings.csv"].decode("utf-8-sig"))))
    # UTC 06:00 is 14:00 in Shanghai: handouts show the event's wall-clock time.
    assert {r["start"] for r in rows} == {"2026-12-01T14:00", "2026-12-01T14:20"}


def _solved() -> tuple[Any, Schedule]:
    problem = parse_event(_event(), names=NAMES)
    return problem, solve(problem, time_limit=5)


def test_meetings_csv_has_the_named_columns_a_bom_and_no_formula() -> None:
    problem, schedule = _solved()
    content = export_files(problem, schedule, "csv")["meetings.csv"]
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert list(rows[0])[5:] == ["start", "end", "startup_name", "investor_name"]
    names = {(r["startup_name"], r["investor_name"]) for r in rows}
    assert ("'" + NAMES["S1"], "莲城创投基金") in names  # the formula is neutralised, as text
    assert ("湘潭智造科技有限公司", "湖南银行湘潭分行") in names


def test_the_workbook_has_names_real_times_frozen_headers_and_no_scores_for_participants() -> None:
    problem, schedule = _solved()
    wb = load_workbook(io.BytesIO(export_files(problem, schedule, "xlsx")["schedule.xlsx"]))
    assert wb.sheetnames[:2] == ["会议总表", "会议清单"] and len(wb.sheetnames) == 2 + 4
    grid = wb["会议总表"]
    assert grid.freeze_panes == "D2" and isinstance(grid.cell(2, 2).value, datetime)
    assert grid.cell(2, 2).number_format == "yyyy-mm-dd hh:mm"
    cells = [c.value for row in grid.iter_rows(min_row=2, min_col=4) for c in row if c.value]
    assert "湘潭智造科技有限公司 × 湖南银行湘潭分行" in cells
    for sheet in wb.worksheets:
        assert sheet.freeze_panes is not None, sheet.title
        assert all(sheet.column_dimensions[c].width and sheet.column_dimensions[c].width > 8 for c in "ABC")
        for row in sheet.iter_rows():
            for cell in row:
                # No cell is ever a live formula, whatever the names hold.
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
    for sheet in wb.worksheets[2:]:
        header = [c.value for c in sheet[2]]
        assert header == ["时段", "开始", "结束", "桌号", "会谈对象", "对象编号"]  # no internal score
        assert isinstance(sheet.cell(3, 2).value, datetime)
    bank_sheet = next(s for s in wb.worksheets if "湖南银行湘潭分行" in s.title)
    assert bank_sheet.cell(1, 1).value.startswith("湖南银行湘潭分行（I2）会议日程")
    assert "匹配分" in [c.value for c in wb["会议清单"][1]]


def test_calendars_name_the_counterpart_with_location_organiser_and_roadshow() -> None:
    problem, schedule = _solved()
    files = export_files(problem, schedule, "ics")
    assert len(files) == 4
    cal = icalendar.Calendar.from_ical(files["ics/investor-I2.ics"])
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    entries = cal.walk("VEVENT")
    assert entries
    for entry in entries:
        assert str(entry["SUMMARY"]).startswith("与 ")
        assert str(entry["LOCATION"]).startswith("湘潭高新区创新中心 · ") and str(entry["LOCATION"]).endswith("号桌")
        assert str(entry["ORGANIZER"]) == "mailto:noreply@roadshow.invalid"
        assert entry["ORGANIZER"].params["CN"] == "智造莲城路演办公室"
        assert "智造莲城 路演 第一期" in str(entry["DESCRIPTION"])
        assert str(entry["DTSTART"].dt.tzinfo) == "Asia/Shanghai"
    with zipfile.ZipFile(io.BytesIO(download(problem, schedule, "ics", stem="e1").content)) as archive:
        assert sorted(archive.namelist()) == sorted(name.removeprefix("ics/") for name in files)


def test_the_agenda_prints_the_grid_then_a_page_per_participant_with_names() -> None:
    problem, schedule = _solved()
    html = export_files(problem, schedule, "html")["agenda.html"].decode("utf-8")
    assert "@page { size: A4" in html and html.count('<section class="person">') == 4
    assert "湘潭智造科技有限公司 × 湖南银行湘潭分行" in html
    assert "&#34;" in html or "&quot;" in html  # the formula-looking name is escaped text, never markup


def test_a_replan_keeps_its_mode_lists_every_change_and_keeps_calendar_uids() -> None:
    problem = parse_event(generate_event(12, 4, 4, seed=3))
    first = solve(problem, mode="fair", time_limit=5)
    gone = first.meetings[0]
    # A no-show can leave some startup's minimum out of reach (the replan then says what to relax), so
    # the absent investor is the first, from the end of the grid, whose absence leaves a valid replan.
    for absent in dict.fromkeys(m.investor_id for m in reversed(first.meetings)):
        changes = parse_changes({"cancellations": [{"startup_id": gone.startup_id, "investor_id": gone.investor_id}],
                                 "no_shows": [absent]}, problem)
        try:
            changed, second = reschedule(problem, first, changes, time_limit=5)
            break
        except InfeasibleError:
            continue
    else:
        pytest.fail("every investor's absence makes the replan infeasible")
    assert second.mode == "fair"
    kinds = {m.kind for m in second.moves}
    assert "dropped" in kinds
    before = {(m.startup_id, m.investor_id): (m.slot_id, m.table) for m in first.meetings}
    after = {(m.startup_id, m.investor_id): (m.slot_id, m.table) for m in second.meetings}
    changed_pairs = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert {(m.startup_id, m.investor_id) for m in second.moves} == changed_pairs
    summary = second.summary(changed)
    assert sum(len(summary[k]) for k in ("moved", "added", "dropped")) == len(changed_pairs)
    assert summary["kept"] == len(before) - sum(1 for m in second.moves if m.old_slot_id is not None)
    uids_before = {str(e["UID"]) for c in export_files(problem, first, "ics").values()
                   for e in icalendar.Calendar.from_ical(c).walk("VEVENT")}
    uids_after = {str(e["UID"]): str(e["STATUS"]) for c in export_files(changed, second, "ics").values()
                  for e in icalendar.Calendar.from_ical(c).walk("VEVENT")}
    kept_uids = {u for u, status in uids_after.items() if status == "CONFIRMED"} & uids_before
    assert kept_uids and {u for u, s in uids_after.items() if s == "CANCELLED"} <= uids_before


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 50), mode=st.sampled_from(["balanced", "total", "fair"]))
def test_a_schedule_document_reads_back_as_the_same_schedule(seed: int, mode: str) -> None:
    problem = parse_event(generate_event(8, 3, 3, seed=seed))
    try:
        first = solve(problem, mode=mode, time_limit=5)  # type: ignore[arg-type]
        cancel = first.meetings[0]
        raw = {"cancellations": [{"startup_id": cancel.startup_id, "investor_id": cancel.investor_id}]}
        _, second = reschedule(problem, first, parse_changes(raw, problem), time_limit=5)
    except (InfeasibleError, IndexError):  # a generated event whose minima cannot be met: nothing to read back
        assume(False)
    for schedule in (first, second):
        document = json.loads(json.dumps(schedule.to_document()))
        assert Schedule.from_document(document) == schedule


def test_the_spread_counts_every_startup_present() -> None:
    problem, schedule = _solved()
    assert schedule.stats["meetings_per_startup"] == spread(problem, schedule.meetings)
    assert spread(problem, schedule.meetings) == {"fewest": 2, "median": 2, "most": 2}
    no_show = parse_changes({"no_shows": ["S1"]}, problem)
    changed, after = reschedule(problem, schedule, no_show, time_limit=5)
    assert spread(changed, after.meetings)["fewest"] == 2  # the no-show is not a startup the grid failed


def test_the_schedule_command_names_the_overlapping_slot_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    slots = _slots(("2026-12-01T14:00", "2026-12-01T14:20"), ("2026-12-01T14:10", "2026-12-01T14:30"))
    path.write_text(json.dumps(_event(slots=slots), ensure_ascii=False), encoding="utf-8")
    runner = CliRunner(env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"})
    result = runner.invoke(app, ["schedule", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "slots[1].start" in result.stderr and "overlaps slot s01" in result.stderr
    assert "Traceback" not in result.output
