"""``meetings.csv`` and the Excel workbook, as bytes, with names wherever a person reads them.

Both go through :mod:`matcher.spreadsheet` (formula-safe text, a UTF-8 BOM for the CSV). The workbook has a
slot × table grid, a list of every meeting for the organisers (the only sheet with the internal match
score) and one sheet per participant; every sheet has sized columns and a frozen header, and times are
real date-time cells in the event's zone.
"""

from __future__ import annotations

import io
import re

import polars as pl
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from matcher.scheduling.handout import DEFAULT_TZ, agendas, local_times, pair_label
from matcher.scheduling.problem import EventProblem
from matcher.scheduling.schedule import Schedule
from matcher.spreadsheet import csv_bytes, write_sheet

MEETINGS_COLUMNS = ("slot_id", "table", "startup_id", "investor_id", "score")
"""The contract's columns of meetings.csv; ``start, end, startup_name, investor_name`` follow them."""
NAMED_COLUMNS = ("start", "end", "startup_name", "investor_name")
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_DATETIME = "yyyy-mm-dd hh:mm"
_TIME = "hh:mm"


def meetings_frame(problem: EventProblem, schedule: Schedule, tz: str = DEFAULT_TZ) -> pl.DataFrame:
    times = local_times(problem, tz)
    rows = [
        (m.slot_id, m.table, m.startup_id, m.investor_id, float(f"{m.score:.6g}"),
         times[m.slot_id][0].isoformat(timespec="minutes"), times[m.slot_id][1].isoformat(timespec="minutes"),
         problem.label_of(m.startup_id), problem.label_of(m.investor_id))
        for m in schedule.meetings
    ]
    schema = {"slot_id": pl.Utf8, "table": pl.Int64, "startup_id": pl.Utf8, "investor_id": pl.Utf8,
              "score": pl.Float64, "start": pl.Utf8, "end": pl.Utf8, "startup_name": pl.Utf8,
              "investor_name": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row")


def meetings_csv(problem: EventProblem, schedule: Schedule, tz: str = DEFAULT_TZ) -> bytes:
    return csv_bytes(meetings_frame(problem, schedule, tz))


def _sheet_title(prefix: str, label: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "_", f"{prefix}-{label}")[:31]
    title, k = base, 1
    while title in used:
        k += 1
        title = f"{base[: 31 - len(str(k)) - 1]}~{k}"
    used.add(title)
    return title


def workbook(problem: EventProblem, schedule: Schedule, tz: str = DEFAULT_TZ) -> bytes:
    """The workbook as bytes: 会议总表 (grid), 会议清单 (every meeting), then one sheet per participant."""
    times = local_times(problem, tz)
    wb = Workbook()
    grid = wb.active
    assert grid is not None  # a new workbook always has one sheet
    grid.title = "会议总表"
    cell_of = {(m.slot_id, m.table): pair_label(problem, m) for m in schedule.meetings}
    tables = range(1, problem.tables + 1)
    write_sheet(
        grid,
        ["时段", "开始", "结束", *[f"{t}号桌" for t in tables]],
        ([s.slot_id, *times[s.slot_id], *[cell_of.get((s.slot_id, t), "") for t in tables]] for s in problem.slots),
        formats={2: _DATETIME, 3: _TIME},
        wrap=True,
    )
    grid.freeze_panes = "D2"
    # Grid cells hold "startup × investor": wide columns with wrapping read better than one long line.
    for t in tables:
        letter = get_column_letter(3 + t)
        grid.column_dimensions[letter].width = min(max(grid.column_dimensions[letter].width, 14), 30)

    listing = wb.create_sheet("会议清单")
    write_sheet(
        listing,
        ["时段", "开始", "结束", "桌号", "企业编号", "企业", "机构编号", "投资机构/银行", "匹配分"],
        ([m.slot_id, *times[m.slot_id], m.table, m.startup_id, problem.label_of(m.startup_id), m.investor_id,
          problem.label_of(m.investor_id), round(m.score, 4)] for m in schedule.meetings),
        formats={2: _DATETIME, 3: _TIME},
    )
    listing.auto_filter.ref = listing.dimensions

    used = {grid.title, listing.title}
    for agenda in agendas(problem, schedule.meetings, tz):
        label = "机构" if agenda.side == "investor" else "企业"
        person = agenda.participant
        sheet = wb.create_sheet(_sheet_title(label, person.label, used))
        write_sheet(
            sheet,
            ["时段", "开始", "结束", "桌号", "会谈对象", "对象编号"],
            ([i.slot_id, i.start, i.end, i.table, i.counterpart, i.counterpart_id] for i in agenda.items),
            title=f"{person.label}（{person.participant_id}）会议日程 · {problem.name}",
            formats={2: _DATETIME, 3: _TIME},
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
