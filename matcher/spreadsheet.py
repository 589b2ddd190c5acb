"""Cells and CSV files that people open in Excel or WPS: formula-safe text and a UTF-8 BOM.

Every door that writes a file for people (the CLI's ``recs.csv``, ``scores.csv`` and ``meetings.csv``, the
API's downloads, the workbook) goes through here, so the rule is written once:

- A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is neutralised as
  OWASP's CSV-injection guidance says, by prefixing a single quote, so a name such as
  ``=HYPERLINK("http://x","y")`` is shown as text and never evaluated. Plain numbers (``-5``, ``+3.2``) stay
  as they are, and numeric columns are never touched.
- CSV files start with a UTF-8 BOM, without which Excel on Chinese Windows decodes UTF-8 as GBK and
  shows mojibake. The interchange readers tolerate the BOM (DATA_FORMAT.md).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

BOM = "\ufeff"
# One pattern pair, used by Python (one cell) and by polars (a column) alike.
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"


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
