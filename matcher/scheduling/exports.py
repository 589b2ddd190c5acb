"""Exports for people: meetings.csv, an Excel workbook, one iCalendar file per participant, an HTML agenda.

Calendar UIDs are derived from event id + participant + pair only, never from the slot or the run, so
importing a re-run or a rescheduled file updates the same entries instead of adding duplicates; a meeting
that rescheduling had to drop is written as a cancelled event with its old UID so calendars remove it.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from jinja2 import Environment, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from matcher.errors import InvalidInputError
from matcher.scheduling.problem import EventProblem
from matcher.scheduling.schedule import Meeting, Schedule

MEETINGS_COLUMNS = ("slot_id", "table", "startup_id", "investor_id", "score")
FORMATS = ("csv", "xlsx", "ics", "html")
DEFAULT_TZ = "Asia/Shanghai"
_UID_NAMESPACE = uuid.UUID("6f1c1d0e-2f4b-5a57-9f1e-6a5e0c7d2b11")
_SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def meeting_uid(event_id: str, participant_id: str, startup_id: str, investor_id: str) -> str:
    """Stable across re-runs and reschedules: depends on who meets whom, not when."""
    key = f"{event_id}\x1f{participant_id}\x1f{startup_id}\x1f{investor_id}"
    return f"{uuid.uuid5(_UID_NAMESPACE, key)}@roadshow-matcher"


def write_meetings_csv(schedule: Schedule, path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(MEETINGS_COLUMNS)
        for m in schedule.meetings:
            writer.writerow((m.slot_id, m.table, m.startup_id, m.investor_id, f"{m.score:.6g}"))
    return path


def write_exports(
    problem: EventProblem,
    schedule: Schedule,
    out_dir: Path,
    *,
    formats: Sequence[str] = FORMATS,
    tz: str = DEFAULT_TZ,
    generated_at: datetime | None = None,
) -> dict[str, list[Path]]:
    """Write the chosen formats into ``out_dir`` (created if missing); returns the files by format."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InvalidInputError(f"unknown export format {unknown[0]!r}", field="formats")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    if "csv" in formats:
        written["csv"] = [write_meetings_csv(schedule, out_dir / "meetings.csv")]
    if "xlsx" in formats:
        written["xlsx"] = [write_workbook(problem, schedule, out_dir / "schedule.xlsx")]
    if "ics" in formats:
        written["ics"] = write_calendars(problem, schedule, out_dir / "ics", tz=tz, generated_at=generated_at)
    if "html" in formats:
        written["html"] = [write_agenda(problem, schedule, out_dir / "agenda.html")]
    return written


def _by_participant(meetings: Sequence[Meeting]) -> tuple[dict[str, list[Meeting]], dict[str, list[Meeting]]]:
    by_startup: dict[str, list[Meeting]] = defaultdict(list)
    by_investor: dict[str, list[Meeting]] = defaultdict(list)
    for m in meetings:
        by_startup[m.startup_id].append(m)
        by_investor[m.investor_id].append(m)
    return by_startup, by_investor


def _sheet_title(prefix: str, pid: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", f"{prefix}-{pid}")[:31]
    title, k = base, 1
    while title in used:
        k += 1
        title = f"{base[: 31 - len(str(k)) - 1]}~{k}"
    used.add(title)
    return title


def write_workbook(problem: EventProblem, schedule: Schedule, path: Path) -> Path:
    """A slot × table grid sheet, then one sheet per investor and per startup (Chinese headers)."""
    slots = {s.slot_id: s for s in problem.slots}
    wb = Workbook()
    grid = wb.active
    assert grid is not None  # a new workbook always has one sheet
    grid.title = "会议总表"
    grid.append(["时段", "开始", "结束", *[f"{t}号桌" for t in range(1, problem.tables + 1)]])
    cell_of = {(m.slot_id, m.table): f"{m.startup_id} × {m.investor_id}" for m in schedule.meetings}
    for s in problem.slots:
        grid.append(
            [s.slot_id, s.start.strftime("%H:%M"), s.end.strftime("%H:%M")]
            + [cell_of.get((s.slot_id, t), "") for t in range(1, problem.tables + 1)]
        )
    for cell in grid[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    grid.freeze_panes = "D2"

    by_startup, by_investor = _by_participant(schedule.meetings)
    used = {grid.title}
    for label, people, meetings_of, other_header, other in (
        ("投资方", problem.investors, by_investor, "路演企业", "startup_id"),
        ("企业", problem.startups, by_startup, "投资机构", "investor_id"),
    ):
        for p in people:
            sheet = wb.create_sheet(_sheet_title(label, p.participant_id, used))
            sheet.append([f"{label} {p.participant_id} 会议日程 · {problem.name}"])
            sheet.append(["时段", "开始", "结束", "桌号", other_header, "匹配分"])
            for cell in sheet[2]:
                cell.font = Font(bold=True)
            for m in meetings_of.get(p.participant_id, []):
                slot = slots[m.slot_id]
                sheet.append(
                    [m.slot_id, slot.start.strftime("%Y-%m-%d %H:%M"), slot.end.strftime("%H:%M"), m.table,
                     getattr(m, other), round(m.score, 4)]
                )
    wb.save(path)
    return path


def write_calendars(
    problem: EventProblem,
    schedule: Schedule,
    out_dir: Path,
    *,
    tz: str = DEFAULT_TZ,
    generated_at: datetime | None = None,
) -> list[Path]:
    """One ``.ics`` per participant with a meeting (or a cancelled one); stable UIDs (see module doc)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    zone = ZoneInfo(tz)
    stamp = (generated_at or datetime.now(UTC)).astimezone(UTC)
    slots = {s.slot_id: s for s in problem.slots}
    # Every export supersedes the previous one: SEQUENCE grows with the export time (in minutes), so a
    # calendar that already holds an entry takes the new time or the cancellation as the newer revision.
    sequence = int((stamp - _SEQUENCE_EPOCH).total_seconds() // 60)
    dropped = [m for m in schedule.moves if m.new_slot_id is None]
    entries: dict[tuple[str, str], list[tuple[str, str, str, int, bool]]] = defaultdict(list)
    for m in schedule.meetings:
        entries[("startup", m.startup_id)].append((m.startup_id, m.investor_id, m.slot_id, m.table, False))
        entries[("investor", m.investor_id)].append((m.startup_id, m.investor_id, m.slot_id, m.table, False))
    for d in dropped:
        entries[("startup", d.startup_id)].append((d.startup_id, d.investor_id, d.old_slot_id, 0, True))
        entries[("investor", d.investor_id)].append((d.startup_id, d.investor_id, d.old_slot_id, 0, True))

    # Built once: converting a zone to VTIMEZONE is most of the cost of writing hundreds of files.
    vtimezone = icalendar.Timezone.from_tzid(tz)
    paths: list[Path] = []
    for (role, pid), items in sorted(entries.items()):
        cal = icalendar.Calendar()
        cal.add("prodid", "-//Roadshow Matcher//meeting grid//ZH")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", f"{problem.name} · {pid}")
        for startup_id, investor_id, slot_id, table, cancelled in items:
            slot = slots[slot_id]
            other = investor_id if role == "startup" else startup_id
            event = icalendar.Event()
            event.add("uid", meeting_uid(problem.event_id, pid, startup_id, investor_id))
            event.add("dtstamp", stamp)
            event.add("dtstart", slot.start.replace(tzinfo=zone))
            event.add("dtend", slot.end.replace(tzinfo=zone))
            event.add("summary", f"{problem.name}: {startup_id} × {investor_id}")
            event.add("sequence", sequence)
            if cancelled:
                event.add("status", "CANCELLED")
            else:
                event.add("status", "CONFIRMED")
                event.add("location", f"{table}号桌")
                event.add("description", f"与 {other} 一对一会谈，{table}号桌")
            cal.add_component(event)
        cal.add_component(vtimezone)
        path = out_dir / f"{role}-{_safe_name(pid)}.ics"
        path.write_bytes(cal.to_ical())
        paths.append(path)
    return paths


def _safe_name(pid: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]", "_", pid)


_AGENDA = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ name }} 会议日程</title>
<style>
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #888; padding: 4px 8px; text-align: left; }
th { background: #eee; }
section.person { page-break-before: always; }
@media print { body { margin: 0; } }
</style></head><body>
<h1>{{ name }}</h1>
<p>活动编号 {{ event_id }} · 会议 {{ meetings|length }} 场 · 目标值 {{ "%.3f"|format(objective) }}
（上界 {{ "%.3f"|format(upper_bound) }}）</p>
<h2>会议总表</h2>
<table><tr><th>时段</th><th>时间</th>{% for t in tables %}<th>{{ t }}号桌</th>{% endfor %}</tr>
{% for row in grid %}<tr><td>{{ row.slot_id }}</td><td>{{ row.time }}</td>
{% for cell in row.cells %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% for person in people %}<section class="person"><h2>{{ person.label }} {{ person.pid }}</h2>
<table><tr><th>时间</th><th>桌号</th><th>会谈对象</th></tr>
{% for row in person.rows %}<tr><td>{{ row.time }}</td><td>{{ row.table }}</td><td>{{ row.other }}</td></tr>
{% else %}<tr><td colspan="3">暂无会议</td></tr>{% endfor %}
</table></section>
{% endfor %}</body></html>
"""


def write_agenda(problem: EventProblem, schedule: Schedule, path: Path) -> Path:
    """A printable agenda: the grid, then one page per investor and per startup."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    slots = {s.slot_id: s for s in problem.slots}

    def when(slot_id: str) -> str:
        s = slots[slot_id]
        return f"{s.start:%m-%d %H:%M}–{s.end:%H:%M}"

    cell_of = {(m.slot_id, m.table): f"{m.startup_id} × {m.investor_id}" for m in schedule.meetings}
    grid = [
        {
            "slot_id": s.slot_id,
            "time": when(s.slot_id),
            "cells": [cell_of.get((s.slot_id, t), "") for t in range(1, problem.tables + 1)],
        }
        for s in problem.slots
    ]
    by_startup, by_investor = _by_participant(schedule.meetings)
    people = [
        {
            "label": label,
            "pid": p.participant_id,
            "rows": [
                {
                    "time": when(m.slot_id),
                    "table": m.table,
                    "other": m.startup_id if label == "投资方" else m.investor_id,
                }
                for m in meetings_of.get(p.participant_id, [])
            ],
        }
        for label, group, meetings_of in (
            ("投资方", problem.investors, by_investor),
            ("企业", problem.startups, by_startup),
        )
        for p in group
    ]
    html = env.from_string(_AGENDA).render(
        name=problem.name,
        event_id=problem.event_id,
        meetings=schedule.meetings,
        objective=schedule.objective,
        upper_bound=schedule.upper_bound,
        tables=range(1, problem.tables + 1),
        grid=grid,
        people=people,
    )
    path.write_text(html, encoding="utf-8")
    return path
