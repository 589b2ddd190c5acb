"""One set of plausibility rules (issue 10): ``validate``/``import`` refuse what the API refuses, naming
file, row and column; consents.csv is checked like every other file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from matcher.errors import InvalidInputError
from matcher.io import TABLES, read_data_dir, validate_data_dir
from matcher.plausibility import check_frame, check_record, check_records
from roadshow.cli import app

TOMORROW = (date.today() + timedelta(days=1)).isoformat()
STARTUPS = "startup_id,name,employees,rd_staff,revenue_wan,credit_flags,founded_on\n"


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("S1,甲,22,99999,100,0,2020-01-01", "rd_staff", "rd_staff (科技人员) must not exceed employees"),
        ("S1,甲,22,5,-30,0,2020-01-01", "revenue_wan", "revenue_wan must not be negative"),
        ("S1,甲,-3,,100,0,2020-01-01", "employees", "must not be negative"),
        ("S1,甲,22,5,100,-2,2020-01-01", "credit_flags", "credit_flags (a count of adverse records) must not be"),
        (f"S1,甲,22,5,100,0,{TOMORROW}", "founded_on", "must not be in the future"),
    ],
)
def test_validate_names_file_row_and_column(tmp_path: Path, row: str, column: str, message: str) -> None:
    directory = _write(tmp_path / "d", {"startups.csv": STARTUPS + "S0,乙,10,2,50,0,2019-01-01\n" + row + "\n"})
    errors = [i for i in validate_data_dir(directory) if i.severity == "error"]
    assert [(i.file, i.row, i.column) for i in errors] == [("startups.csv", 3, column)]
    assert message in errors[0].message
    result = CliRunner().invoke(app, ["validate", str(directory)])
    assert result.exit_code == 1 and f"startups.csv, row 3, column {column}" in result.output


def test_ip_grant_and_expiry_dates(tmp_path: Path) -> None:
    ip = ("startup_id,kind,granted_on,expires_on\nS0,invention_patent,2022-01-01,2021-01-01\n"
          f"S0,utility_model,{TOMORROW},\n")
    directory = _write(tmp_path / "d", {"startups.csv": STARTUPS + "S0,乙,10,2,50,0,2019-01-01\n",
                                        "ip_assets.csv": ip})
    errors = [(i.file, i.row, i.column) for i in validate_data_dir(directory) if i.severity == "error"]
    assert errors == [("ip_assets.csv", 3, "granted_on"), ("ip_assets.csv", 2, "expires_on")]


def test_consents_are_validated_and_read(tmp_path: Path) -> None:
    investors = "investor_id,name,kind\nB1,湘江银行,bank\nI1,某创投,vc\n"
    consents = ("startup_id,bank_id,granted_on,revoked_on\nS0,B1,2024-01-01,\nS0,I1,2024-01-01,\n"
                "S9,B1,2024-01-01,\nS0,B1,2024-03-01,2024-02-01\nS0,B1,,\n")
    directory = _write(tmp_path / "d", {"startups.csv": STARTUPS + "S0,乙,10,2,50,0,2019-01-01\n",
                                        "investors.csv": investors, "consents.csv": consents})
    errors = {(i.row, i.column): i.message for i in validate_data_dir(directory) if i.severity == "error"}
    assert "not a bank" in errors[(3, "bank_id")]
    assert "dangling reference" in errors[(4, "startup_id")]
    assert "revoked_on must not be before granted_on" in errors[(5, "revoked_on")]
    assert "required value is empty" in errors[(6, "granted_on")]
    (directory / "consents.csv").write_text(consents.splitlines()[0] + "\nS0,B1,2024-01-01,2024-06-01\n",
                                            encoding="utf-8")
    data = read_data_dir(directory)
    assert data.consents.row(0) == ("S0", "B1", date(2024, 1, 1), date(2024, 6, 1))


def test_one_record_names_its_json_field() -> None:
    schema = TABLES["startups"].schema
    with pytest.raises(InvalidInputError) as info:
        check_record("startups", {"employees": 22, "rd_staff": 99_999}, schema)
    assert info.value.field == "rd_staff"
    check_record("startups", {"employees": None, "rd_staff": 10}, schema)  # unknown head count: nothing to compare
    ips = [{"granted_on": date(2020, 1, 1), "expires_on": date(2030, 1, 1)},
           {"granted_on": date(2020, 1, 1), "expires_on": date(2019, 1, 1)}]
    with pytest.raises(InvalidInputError) as info:
        check_records("ip_assets", ips, TABLES["ip_assets"].schema, field_prefix="ip_assets")
    assert info.value.field == "ip_assets[1].expires_on"


def test_a_frame_of_many_rows_is_checked_in_one_pass() -> None:
    frame = pl.DataFrame({"employees": [10, 5, None, 3] * 1000, "rd_staff": [2, 6, 4, 3] * 1000})
    found = check_frame("startups", frame)
    assert {v.row % 4 for v in found} == {1} and {v.column for v in found} == {"rd_staff"}
