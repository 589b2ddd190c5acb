"""The interchange formats: every validator with bad input, encodings, and CSV <-> Parquet round trips."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from matcher.errors import DataValidationError
from matcher.io import read_data_dir, validate_data_dir, write_data_dir
from roadshow.cli import app
from tests.factories import sheet_bytes

GOOD_USCC = "91430300MA4L1234XY"

STARTUPS = (
    "startup_id,name,uscc,sector,stage,founded_on,employees,rd_staff,revenue_wan,high_tech_enterprise\n"
    f"S1,湘潭甲科技有限公司,{GOOD_USCC},新能源装备,a,2019-05-01,120,40,3000.5,是\n"
    "S2,湘潭乙材料有限公司,,新材料,seed,2022-01-10,8,,0,no\n"
)
INVESTORS = (
    "investor_id,name,kind,sectors,stages,ticket_min_wan,ticket_max_wan\n"
    "I1,莲城创投,vc,新能源装备; 新材料,a;b,500,2000\n"
    "B1,湖南银行湘潭分行,bank,,,,\n"
)
INTERACTIONS = (
    "startup_id,investor_id,occurred_on,outcome,amount_wan,event_id\n"
    "S1,I1,2021-06-01,intent_signed,1500,E1\n"
    "S2,B1,2021-06-01,declined,,E1\n"
)
IP = (
    "startup_id,kind,status,granted_on,expires_on\n"
    "S1,invention_patent,,2020-01-01,2040-01-01\n"
    "S1,trademark,pending,,\n"
)


def write_dir(path: Path, **files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / f"{name}.csv").write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def good_dir(tmp_path: Path) -> Path:
    return write_dir(
        tmp_path / "good", startups=STARTUPS, investors=INVESTORS, interactions=INTERACTIONS, ip_assets=IP
    )


def errors_of(path: Path, encoding: str = "utf-8") -> list[tuple[str, int | None, str | None]]:
    return [(i.file, i.row, i.column) for i in validate_data_dir(path, encoding=encoding) if i.severity == "error"]


def test_clean_directory_reads_into_canonical_types(good_dir: Path) -> None:
    data = read_data_dir(good_dir)
    s = data.startups
    assert s["founded_on"].to_list() == [date(2019, 5, 1), date(2022, 1, 10)]
    assert s["employees"].dtype == pl.Int64 and s["employees"].to_list() == [120, 8]
    assert s["high_tech_enterprise"].to_list() == [True, False]
    assert s["rd_staff"].to_list() == [40, None]
    assert data.investors["sectors"].to_list() == [["新能源装备", "新材料"], None]
    assert data.ip_assets["status"].to_list() == ["granted", "pending"]  # empty status means granted
    assert data.loans.is_empty() and "defaulted" in data.loans.columns  # absent file: empty canonical frame
    assert data.warnings == []


@pytest.mark.parametrize(
    ("table", "text", "expected"),
    [
        ("startups", STARTUPS.replace("2019-05-01", "2019-13-01"), ("startups.csv", 2, "founded_on")),
        ("startups", STARTUPS.replace(GOOD_USCC, GOOD_USCC[:-1] + "0"), ("startups.csv", 2, "uscc")),
        ("startups", STARTUPS.replace(",seed,", ",series_x,"), ("startups.csv", 3, "stage")),
        ("startups", STARTUPS.replace(",120,", ",12.5,"), ("startups.csv", 2, "employees")),
        ("startups", STARTUPS.replace(",是\n", ",maybe\n"), ("startups.csv", 2, "high_tech_enterprise")),
        ("startups", STARTUPS + "S1,重复,,,,,,,,\n", ("startups.csv", 4, "startup_id")),
        ("startups", STARTUPS.replace("startup_id,name,", "startup_id,title,"), ("startups.csv", None, "name")),
        ("interactions", INTERACTIONS.replace("S2,B1", "S9,B1"), ("interactions.csv", 3, "startup_id")),
        ("interactions", INTERACTIONS.replace("declined", "maybe"), ("interactions.csv", 3, "outcome")),
        ("investors", INVESTORS.replace("a;b", "a;mezzanine"), ("investors.csv", 2, "stages")),
        ("ip_assets", IP.replace("invention_patent", "patent"), ("ip_assets.csv", 2, "kind")),
    ],
)
def test_each_problem_is_located_to_file_row_and_column(
    good_dir: Path, table: str, text: str, expected: tuple[str, int | None, str]
) -> None:
    (good_dir / f"{table}.csv").write_text(text, encoding="utf-8")
    assert expected in errors_of(good_dir)
    with pytest.raises(DataValidationError):
        read_data_dir(good_dir)


def test_all_problems_of_a_broken_directory_are_reported_together(good_dir: Path) -> None:
    (good_dir / "startups.csv").write_text(STARTUPS.replace("2019-05-01", "bad").replace(GOOD_USCC, "123"))
    (good_dir / "interactions.csv").write_text(INTERACTIONS.replace("S2,B1", "S2,I404"))
    assert set(errors_of(good_dir)) >= {
        ("startups.csv", 2, "founded_on"),
        ("startups.csv", 2, "uscc"),
        ("interactions.csv", 3, "investor_id"),
    }


def test_stages_and_kinds_spelled_as_real_lists_spell_them_read_as_the_contracts_values(tmp_path: Path) -> None:
    path = write_dir(
        tmp_path / "spelled",
        startups="startup_id,name,stage\nS1,甲,A轮\nS2,乙,Series B\nS3,丙,Pre-A轮\nS4,丁,天使轮\nS5,戊,E轮\nS6,己,\n",
        investors="investor_id,name,kind,stages\nI1,莲城创投,VC,种子轮;Pre-A; series a\nI2,湘江基金,政府引导基金,\n"
                  "B1,湘潭银行,银行,\n",
        interactions="startup_id,investor_id,occurred_on,outcome,stage\nS1,I1,2021-06-01,invested,B+轮\n",
    )
    data = read_data_dir(path)
    assert data.startups["stage"].to_list() == ["a", "b", "pre_a", "angel", "d_plus", None]
    assert data.investors["kind"].to_list() == ["vc", "guidance_fund", "bank"]
    assert data.investors["stages"][0].to_list() == ["seed", "pre_a", "a"]
    assert data.interactions["stage"].to_list() == ["b"]


def test_a_round_type_that_is_no_stage_is_still_an_error(tmp_path: Path) -> None:
    path = write_dir(tmp_path / "strategic", startups="startup_id,name,stage\nS1,甲,战略投资\nS2,乙,并购\n")
    assert errors_of(path) == [("startups.csv", 2, "stage"), ("startups.csv", 3, "stage")]


def test_amounts_with_their_unit_or_in_words_are_read_in_wan(tmp_path: Path) -> None:
    path = write_dir(
        tmp_path / "amounts",
        startups="startup_id,name,funding_ask_wan\nS1,甲,5000万\nS2,乙,1.2亿元\nS3,丙,\"3,000,000元\"\n"
                 "S4,丁,数千万\nS5,戊,未透露\nS6,己,800\nS7,庚,数亿元\n",
    )
    data = read_data_dir(path)
    assert data.startups["funding_ask_wan"].to_list() == [5000.0, 12000.0, 300.0, 5000.0, None, 800.0, 50000.0]
    [warning] = data.warnings
    assert (warning.file, warning.column) == ("startups.csv", "funding_ask_wan")
    assert warning.message.startswith("2 amount(s) in words (数千万, 数亿元)")


def test_an_amount_in_another_currency_is_an_error_naming_the_cell(tmp_path: Path) -> None:
    path = write_dir(tmp_path / "usd", startups="startup_id,name,funding_ask_wan\nS1,甲,US$ 2M\nS2,乙,2M\n")
    assert errors_of(path) == [("startups.csv", 2, "funding_ask_wan"), ("startups.csv", 3, "funding_ask_wan")]


def test_year_first_dates_as_excel_writes_them_and_timestamps_are_read_as_dates(tmp_path: Path) -> None:
    path = write_dir(
        tmp_path / "dates",
        startups="startup_id,name,founded_on\nS1,甲,2019/5/1\nS2,乙,2019.05.01\nS3,丙,2019年5月1日\n"
                 "S4,丁,2019-05-01 00:00:00\nS5,戊,2019-05-01T09:30\n",
    )
    assert read_data_dir(path).startups["founded_on"].to_list() == [date(2019, 5, 1)] * 5
    ambiguous = write_dir(tmp_path / "ambiguous", startups="startup_id,name,founded_on\nS1,甲,05/01/2019\n")
    assert errors_of(ambiguous) == [("startups.csv", 2, "founded_on")]


def test_a_parquet_file_with_timestamp_columns_reads(tmp_path: Path) -> None:
    path = tmp_path / "pq"
    path.mkdir()
    pl.DataFrame({"startup_id": ["S1"], "name": ["甲"], "founded_on": [datetime(2019, 5, 1, 8, 0)],
                  "funding_ask_wan": [500.0]}).write_parquet(path / "startups.parquet")
    data = read_data_dir(path)
    assert data.startups["founded_on"].to_list() == [date(2019, 5, 1)]
    assert data.startups["funding_ask_wan"].to_list() == [500.0]


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    path.write_bytes(sheet_bytes(rows))
    return path


def test_an_excel_workbook_reads_as_its_csv_export_would(tmp_path: Path) -> None:
    path = tmp_path / "xlsx"
    path.mkdir()
    _workbook(path / "startups.xlsx", [
        ["startup_id", "name", "stage", "founded_on", "employees", "revenue_wan", "high_tech_enterprise"],
        ["S1", "湘潭甲科技有限公司", "A轮", datetime(2019, 5, 1), 120.0, 3000.5, True],
        ["S2", "湘潭乙材料有限公司", "seed", "2022-01-10", 8, None, "否"],
        [None, None, None, None, None, None, None],
    ])
    data = read_data_dir(path)
    s = data.startups
    assert s["startup_id"].to_list() == ["S1", "S2"]
    assert s["stage"].to_list() == ["a", "seed"]
    assert s["founded_on"].to_list() == [date(2019, 5, 1), date(2022, 1, 10)]
    assert s["employees"].to_list() == [120, 8]
    assert s["revenue_wan"].to_list() == [3000.5, None]
    assert s["high_tech_enterprise"].to_list() == [True, False]


def test_a_bad_cell_in_a_workbook_is_named_by_its_sheet_row(tmp_path: Path) -> None:
    path = tmp_path / "xlsx"
    path.mkdir()
    _workbook(path / "startups.xlsx", [["startup_id", "name", "stage"], ["S1", "甲", "a"], ["S2", "乙", "战略投资"]])
    assert errors_of(path) == [("startups.xlsx", 3, "stage")]
    (path / "startups.csv").write_text("startup_id,name\nS1,甲\n", encoding="utf-8")
    issues = [(i.file, i.message) for i in validate_data_dir(path)]
    assert issues == [("startups.xlsx", "ignored: startups.csv is used")]


def test_a_file_named_xlsx_that_is_no_workbook_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "broken"
    path.mkdir()
    (path / "startups.xlsx").write_bytes(b"startup_id,name\nS1,x\n")
    [issue] = validate_data_dir(path)
    assert issue.file == "startups.xlsx" and issue.message.startswith("unreadable Excel workbook")


def test_unknown_columns_are_a_warning_not_an_error(good_dir: Path) -> None:
    with_notes = STARTUPS.replace("\n", ",x\n").replace("high_tech_enterprise,x", "high_tech_enterprise,notes")
    (good_dir / "startups.csv").write_text(with_notes)
    data = read_data_dir(good_dir)
    assert [w.message for w in data.warnings] == ["unknown columns ignored: notes"]
    assert "notes" not in data.startups.columns


def test_bom_and_legacy_encodings_are_accepted(tmp_path: Path) -> None:
    bom = write_dir(tmp_path / "bom")
    (bom / "startups.csv").write_bytes(b"\xef\xbb\xbf" + STARTUPS.encode("utf-8"))
    assert read_data_dir(bom).startups["startup_id"].to_list() == ["S1", "S2"]

    gbk = write_dir(tmp_path / "gbk")
    (gbk / "startups.csv").write_bytes(STARTUPS.encode("gbk"))
    assert errors_of(gbk)  # read as UTF-8 it is not valid text, and the message says so
    assert read_data_dir(gbk, encoding="gbk").startups["name"][0] == "湘潭甲科技有限公司"

    latin = write_dir(tmp_path / "latin", startups="startup_id,name\nS1,BYJU\x92S\n")
    (latin / "startups.csv").write_bytes("startup_id,name\nS1,BYJU’S\n".encode("cp1252"))
    assert read_data_dir(latin, encoding="cp1252").startups["name"][0] == "BYJU’S"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_preserves_every_frame(good_dir: Path, tmp_path: Path, fmt: str) -> None:
    original = read_data_dir(good_dir)
    out = tmp_path / f"out-{fmt}"
    write_data_dir(original, out, fmt=fmt)  # type: ignore[arg-type]
    again = read_data_dir(out)
    for name, frame in original.frames().items():
        assert again.frames()[name].equals(frame), name


def test_csv_to_parquet_to_csv_is_byte_identical(good_dir: Path, tmp_path: Path) -> None:
    write_data_dir(read_data_dir(good_dir), tmp_path / "a")
    write_data_dir(read_data_dir(tmp_path / "a"), tmp_path / "pq", fmt="parquet")
    write_data_dir(read_data_dir(tmp_path / "pq"), tmp_path / "b")
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name


def test_validate_command_names_each_problem_and_exits_non_zero(good_dir: Path) -> None:
    (good_dir / "startups.csv").write_text(STARTUPS.replace("2019-05-01", "2019-02-30"))
    result = CliRunner().invoke(app, ["validate", str(good_dir)])
    assert result.exit_code == 1
    assert "startups.csv, row 2, column founded_on" in result.output
    assert "Traceback" not in result.output


def test_validate_command_on_a_missing_directory_is_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "not a directory" in result.output


def test_an_offices_chinese_headers_are_read_as_the_contracts_columns(tmp_path: Path) -> None:
    _workbook(tmp_path / "startups.xlsx", [
        ["企业编号", "企业名称", "所属行业", "融资轮次", "成立日期", "营业收入（万元）", "是否高新技术企业",
         "Description"],
        ["S1", "湘潭中文表头科技有限公司", "智能制造", "A轮", datetime(2020, 6, 1), 1200, "是", "工业视觉"],
    ])
    data = read_data_dir(tmp_path)
    row = data.startups.row(0, named=True)
    assert (row["startup_id"], row["name"], row["sector"], row["stage"], row["founded_on"], row["revenue_wan"],
            row["high_tech_enterprise"], row["description"]) == (
        "S1", "湘潭中文表头科技有限公司", "智能制造", "a", date(2020, 6, 1), 1200.0, True, "工业视觉")
    assert data.warnings == []


def test_an_amount_header_without_its_unit_is_ignored_with_a_warning_that_says_why(tmp_path: Path) -> None:
    (tmp_path / "startups.csv").write_text("企业编号,企业名称,营业收入\nS1,甲公司,30000000\n", encoding="utf-8")
    data = read_data_dir(tmp_path)
    assert data.startups["revenue_wan"].to_list() == [None]
    assert [w.message for w in data.warnings] == [
        "unknown columns ignored: 营业收入 (an amount's header needs its unit, e.g. 营业收入（万元）)"]


def test_a_problem_in_a_chinese_headed_column_names_it_both_ways(tmp_path: Path) -> None:
    (tmp_path / "startups.csv").write_text("编号,企业名称,融资轮次\nS1,甲公司,战略投资\n", encoding="utf-8")
    issues = validate_data_dir(tmp_path)
    assert [(i.row, i.column) for i in issues if i.severity == "error"] == [(2, "融资轮次 (stage)")]


def test_the_contracts_header_wins_over_another_spelling_and_case_does_not_matter(tmp_path: Path) -> None:
    (tmp_path / "startups.csv").write_text("Startup_ID,name,企业名称\nS1,甲公司,乙公司\n", encoding="utf-8")
    data = read_data_dir(tmp_path)
    assert data.startups.select("startup_id", "name").row(0) == ("S1", "甲公司")
    assert [w.message for w in data.warnings] == ["unknown columns ignored: 企业名称"]


def test_a_file_named_as_the_contract_says_reads_as_before_whatever_else_it_holds(tmp_path: Path) -> None:
    # A real export beside the contract's columns: an "industry" or 融资轮次 of its own is not the contract's.
    (tmp_path / "startups.csv").write_text("startup_id,name,industry,融资轮次\nS1,甲公司,fintech,第3轮\n",
                                           encoding="utf-8")
    data = read_data_dir(tmp_path)
    assert data.startups.select("sector", "stage").row(0) == (None, None)
    assert [w.message for w in data.warnings] == [
        "unknown columns ignored: industry, 融资轮次 (the file names its columns as DATA_FORMAT.md does, so other "
        "spellings are not read: sector for industry, stage for 融资轮次)"]


def test_no_header_is_read_as_two_columns() -> None:
    from matcher.io import HEADER_LABELS, TABLES, _header_key

    for table, labels in HEADER_LABELS.items():
        names = [_header_key(c.name) for c in TABLES[table].columns]
        spellings = names + [_header_key(label) for column_labels in labels.values() for label in column_labels]
        assert len(spellings) == len(set(spellings)), table
        assert set(labels) <= {c.name for c in TABLES[table].columns}, table
