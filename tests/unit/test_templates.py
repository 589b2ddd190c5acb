"""Blank workbooks of the contract's tables: what the reader expects, filled in and read back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from matcher.errors import InvalidInputError
from matcher.io import TABLES, read_data_dir
from matcher.templates import template_workbook
from roadshow.cli import app


@pytest.mark.parametrize("table", list(TABLES))
def test_the_first_sheet_is_the_header_the_reader_expects_and_the_second_describes_every_column(table: str) -> None:
    book = load_workbook(io.BytesIO(template_workbook(table)))
    header = [c.value for c in book.worksheets[0][1]]
    assert header == [c.name for c in TABLES[table].columns]
    notes = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in notes] == header
    assert [bool(row[1]) for row in notes] == [c.required for c in TABLES[table].columns]


def test_enumerated_columns_list_their_values_and_the_other_spellings_read_as_them() -> None:
    notes = {row[0]: row[3] for row in load_workbook(io.BytesIO(template_workbook("startups"))).worksheets[1]
             .iter_rows(min_row=2, values_only=True)}
    assert "a（A轮" in notes["stage"] and "pre_ipo" in notes["stage"]
    headers = {row[0]: row[4] for row in load_workbook(io.BytesIO(template_workbook("startups"))).worksheets[1]
               .iter_rows(min_row=2, values_only=True)}
    assert "融资轮次" in headers["stage"] and "营业收入（万元）" in headers["revenue_wan"]


def test_a_filled_template_reads_back(tmp_path: Path) -> None:
    book = load_workbook(io.BytesIO(template_workbook("startups")))
    header = [c.value for c in book.worksheets[0][1]]
    row = {"startup_id": "S1", "name": "湘潭模板科技有限公司", "stage": "A轮", "funding_ask_wan": "5000万"}
    book.worksheets[0].append([row.get(str(h)) for h in header])
    book.save(tmp_path / "startups.xlsx")
    data = read_data_dir(tmp_path)
    assert data.startups.select("startup_id", "stage", "funding_ask_wan").rows() == [("S1", "a", 5000.0)]


def test_an_unknown_table_is_named() -> None:
    with pytest.raises(InvalidInputError) as raised:
        template_workbook("companies")
    assert raised.value.field == "table"


def test_the_command_writes_a_template_and_names_an_unknown_table(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["template", "investors", "--out", str(tmp_path / "机构模板.xlsx")])
    assert done.exit_code == 0, done.output
    assert load_workbook(tmp_path / "机构模板.xlsx").worksheets[0]["A1"].value == "investor_id"
    wrong = runner.invoke(app, ["template", "companies", "--out", str(tmp_path / "x.xlsx")])
    assert wrong.exit_code == 1 and "companies" in wrong.output and "Traceback" not in wrong.output
    assert not (tmp_path / "x.xlsx").exists()
