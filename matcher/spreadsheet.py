"""Cells and CSV files that people open in Excel or WPS: formula-safe text and a UTF-8 BOM.

Every door that writes a file for people (the CLI's ``recs.csv``, ``scores.csv`` and ``meetings.csv``, the
API's downloads, the workbook) goes through here, so the rule is written once:

- A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is neutralised as
  OWASP's CSV-injection guidance says, by prefixing a single quote, so a name such as
  ``=HYPERLINK("http://x","y")`` is shown as text and never evaluated. Plain numbers (``-5``, ``+3.2``) stay
  as they are, and numeric columns are never touched.
- CSV files start with a UTF-8 BOM, without which Excel on Chinese Windows decodes UTF-8 as GBK and
  shows mojibake. The interchange readers tolerate the BOM (DATA_FORMAT.md).
- Workbook sheets (``write_sheet``) have a bold frozen header, columns sized to their content (CJK
  characters count double) and formula-safe text; numbers stay numbers.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

BOM = "\ufeff"
# One pattern pair, used by Python (one cell) and by polars (a column) alike.
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_HEADER = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
_MAX_WIDTH = 48


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it as text: a leading formula trigger is quoted away."""
    if re.match(_TRIGGER_PATTERN, value) and not re.fullmatch(_NUMBER, value):
        return "'" + value
    return value


def read_cell(value: str) -> str:
    """The inverse of :func:`safe_cell`, for reading back a file this project wrote."""
    if value.startswith("'") and safe_cell(value[1:]) == value:
        return value[1:]
    return value


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell made safe (lists joined with ``;`` first); other columns unchanged."""
    exprs: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List):
            col = pl.col(name).list.eval(pl.element().cast(pl.String)).list.join(";")
        elif dtype == pl.String:
            col = pl.col(name)
        else:
            continue
        risky = col.str.contains(_TRIGGER_PATTERN) & ~col.str.contains(f"^{_NUMBER}$")
        exprs.append(pl.when(risky).then(pl.lit("'") + col).otherwise(col).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def csv_bytes(frame: pl.DataFrame, *, bom: bool = True) -> bytes:
    """The frame as a formula-safe CSV document for people, UTF-8 with a BOM unless ``bom=False``."""
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    buffer.write(safe_frame(frame).write_csv())
    return buffer.getvalue().encode("utf-8")


def write_csv(frame: pl.DataFrame, path: Path, *, bom: bool = True) -> Path:
    """Write ``csv_bytes(frame)`` to ``path`` in one go and return the path."""
    path.write_bytes(csv_bytes(frame, bom=bom))
    return path


def cell_width(value: Any) -> int:
    if isinstance(value, datetime):
        return 16
    text = str(value) if value is not None else ""
    longest = max((sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
                   for line in text.splitlines() or [""]), default=0)
    return longest


def _as_text(value: Any) -> Any:
    return safe_cell(value) if isinstance(value, str) else value


def write_sheet(sheet: Worksheet, header: list[str], rows: Iterable[list[Any]], *, title: str | None = None,
                formats: dict[int, str] | None = None, wrap: bool = False) -> None:
    """Write an optional title line, a bold frozen header and the rows; size every column to its content."""
    if title is not None:
        sheet.append([_as_text(title)])
        sheet.cell(1, 1).font = Font(bold=True, size=13)
    sheet.append(header)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font, cell.fill = _HEADER, _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    widths = [cell_width(h) for h in header]
    for row in rows:
        sheet.append([_as_text(v) for v in row])
        for k, v in enumerate(row):
            widths[k] = max(widths[k], cell_width(v))
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
