"""``meetings.csv`` and the Excel workbook, as bytes, with names wherever a person reads them.

Both go through :mod:`matcher.spreadsheet` (formula-safe text, a UTF-8 BOM for the CSV). The workbook has a
slot × table grid, a list of every meeting for the organisers (the only sheet with the internal match
score) and one sheet per participant; every sheet has sized columns and a frozen header, and times are
real date-time cells in the event's zone.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from matcher.scheduling.handout import DEFAULT_TZ, agendas, local_times, pair_label
from matcher.scheduling.problem import EventProblem
from matcher.scheduling.schedule import Schedule
from matcher.spreadsheet import csv_bytes, safe_cell

MEETINGS_COLUMNS = ("slot_id", "table", "startup_id", "investor_id", "score")
"""The contract's columns of meetings.csv; ``start, end, startup_name, investor_name`` follow them."""
NAMED_COLUMNS = ("start", "end", "startup_name", "investor_name")
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_DATETIME = "yyyy-mm-dd hh:mm"
_TIME = "hh:mm"
_HEADER = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
_MAX_WIDTH = 48


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


def _width(value: Any) -> int:
    if isinstance(value, datetime):
        return 16
    text = str(value) if value is not None else ""
    longest = max((sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
                   for line in text.splitlines() or [""]), default=0)
    return longest


def _text(value: Any) -> Any:
    return safe_cell(value) if isinstance(value, str) else value


def _sheet(sheet: Worksheet, header: list[str], rows: Iterable[list[Any]], *, title: str | None = None,
           formats: dict[int, str] | None = None, wrap: bool = False) -> None:
    """Write an optional title line, a bold frozen header and the rows; size every column to its content."""
    if title is not None:
        sheet.append([_text(title)])
        sheet.cell(1, 1).font = Font(bold=True, size=13)
    sheet.append(header)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font, cell.fill = _HEADER, _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    widths = [_width(h) for h in header]
    for row in rows:
        sheet.append([_text(v) for v in row])
        for k, v in enumerate(row):
            widths[k] = max(widths[k], _width(v))
    for k, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(k)].width = min(max(width + 2, 9), _MAX_WIDTH)
    for column, number_format in (formats or {}).items():
        for (cell,) in sheet.iter_rows(min_row=header_row + 1, min_col=column, max_col=column):
            cell.number_format = number_format
    if wrap:
        for row_cells in sheet.iter_rows(min_row=header_row + 1):
            for cell in row_cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = sheet.cell(header_row + 1, 1).coordinate


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
    _sheet(
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
    _sheet(
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
        _sheet(
            sheet,
            ["时段", "开始", "结束", "桌号", "会谈对象", "对象编号"],
            ([i.slot_id, i.start, i.end, i.table, i.counterpart, i.counterpart_id] for i in agenda.items),
            title=f"{person.label}（{person.participant_id}）会议日程 · {problem.name}",
            formats={2: _DATETIME, 3: _TIME},
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
