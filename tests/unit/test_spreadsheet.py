"""Formula-safe cells and Excel-friendly CSV (OWASP CSV injection guidance)."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.spreadsheet import BOM, csv_bytes, safe_cell, safe_frame


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x","y")', "+SUM(1,2)", "-2+3", "@SUM(1+1)", "\t=1", "\r=1", "=1"],
)
def test_formula_triggers_are_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-5", "+3.2", "-0.5e3", "湘潭科技", "I0015", "", "a=b"])
def test_plain_text_and_numbers_stay(value: str) -> None:
    assert safe_cell(value) == value


@given(st.text(max_size=30))
def test_frame_and_cell_agree(value: str) -> None:
    frame = pl.DataFrame({"name": [value]})
    assert safe_frame(frame)["name"][0] == safe_cell(value)


def test_numeric_columns_untouched_and_lists_joined() -> None:
    frame = pl.DataFrame({"score": [-1.5], "n": [-3], "tags": [["=a", "b"]], "name": ["=x"]})
    out = safe_frame(frame)
    assert out["score"][0] == -1.5
    assert out["n"][0] == -3
    assert out["tags"][0] == "'=a;b"
    assert out["name"][0] == "'=x"


def test_csv_starts_with_bom_and_round_trips() -> None:
    frame = pl.DataFrame({"startup_name": ["湘潭示例科技有限公司", "=cmd"], "score": [0.5, 0.25]})
    data = csv_bytes(frame)
    assert data.startswith(BOM.encode("utf-8"))
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["startup_name"] == "湘潭示例科技有限公司"
    assert rows[1]["startup_name"] == "'=cmd"
    assert not csv_bytes(frame, bom=False).startswith(BOM.encode("utf-8"))


@pytest.mark.parametrize("value", ["-5\n", "-5\n=1", "+1\r"])
def test_number_followed_by_a_line_break_is_not_a_plain_number(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert safe_frame(pl.DataFrame({"v": [value]}))["v"][0] == "'" + value
