"""Every form of problem the reader writes reads in Chinese on the console's import page."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from api.console.problems import in_chinese
from api.services import imports
from matcher.errors import InvalidInputError
from matcher.io import validate_data_dir

FUTURE = (date.today() + timedelta(days=30)).isoformat()
# Files that make the reader write each of its forms of problem (and warning).
FILES = {
    "startups.csv": "startup_id,name,uscc,stage,founded_on,employees,rd_staff,revenue_wan,high_tech_enterprise,"
                    "funding_ask_wan,notes\n"
                    "S1,甲,123,战略投资,2024/13/45,x,5,abc,maybe,数千万,n\n"
                    f"S1,乙,,a,{FUTURE},-3,1,1e40,是,,n\n"
                    ",丙,,,,2,5,,,,\n",
    "investors.csv": "investor_id,name,stages,ticket_min_wan,ticket_max_wan\nI1,基金,a;zz,900,100\n",
    "ip_assets.csv": "startup_id,kind,granted_on,expires_on\nS9,invention_patent,2024-01-01,2023-01-01\n",
    "loans.csv": "loan_id,startup_id,issued_on,term_months\nL1,S1,2024-01-01,0\n",
    "interactions.csv": "startup_id,investor_id,occurred_on,outcome\n",
    "startups.parquet": "",
}


def test_every_problem_the_reader_writes_for_these_files_reads_in_chinese(tmp_path: Path) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    issues = validate_data_dir(tmp_path)
    assert len({i.message.split(":")[0] for i in issues}) >= 15  # the files do cover the forms
    untranslated = [i.message for i in issues if in_chinese(i.message) == i.message]
    assert untranslated == []
    assert any(in_chinese(i.message).startswith("无法识别的取值 '战略投资'") for i in issues)


def test_an_encoding_problem_says_what_to_change_on_the_page(tmp_path: Path) -> None:
    (tmp_path / "startups.csv").write_bytes("startup_id,name\nS1,湘潭甲公司\n".encode("gb18030"))
    [issue] = validate_data_dir(tmp_path)
    assert "GBK / GB18030" in in_chinese(issue.message)


@pytest.mark.parametrize("uploads", [
    [],
    [imports.Upload("startups", "a.xls", b"x")],
    [imports.Upload("startups", "a.csv", b"")],
    [imports.Upload("startups", "a.csv", b"x"), imports.Upload("startups", "b.csv", b"x")],
])
def test_the_imports_own_checks_read_in_chinese(uploads: list[imports.Upload]) -> None:
    with pytest.raises(InvalidInputError) as raised:
        imports.check(uploads, "utf-8")
    assert in_chinese(str(raised.value)) != str(raised.value)


def test_a_message_of_unknown_form_is_shown_as_written() -> None:
    assert in_chinese("something new went wrong") == "something new went wrong"
