"""The policy file (issue 5): defaults load, a bank file overrides, invalid bands are rejected clearly."""

from __future__ import annotations

import copy
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from matcher.eligibility.policy import DEFAULT_POLICY_PATH, default_policy, load_policy, policy_from_dict
from matcher.errors import PolicyError


def raw_default() -> dict[str, Any]:
    with DEFAULT_POLICY_PATH.open("rb") as fh:
        return tomllib.load(fh)


def with_bands(bands: list[dict[str, Any]], key: str = "rd_sales_bands") -> dict[str, Any]:
    raw = copy.deepcopy(raw_default())
    raw["tech_sme"][key] = bands
    return raw


def test_default_policy_holds_the_national_method() -> None:
    p = default_policy()
    t = p.tech_sme
    assert (t.min_total_score, t.max_employees, t.max_revenue_wan, t.max_total_assets_wan) == (
        60, 500, Decimal(20000), Decimal(20000))
    assert t.rd_sales_bands.lookup(Decimal("0.06")) == 50
    assert t.rd_sales_bands.lookup(Decimal("0.0599")) == 40
    assert t.tech_staff_bands.values == (0, 4, 8, 12, 16, 20)
    assert t.class_ii_bands.values == (0, 6, 12, 18, 24)
    assert dict(p.kv.grade_lines_wan) == {"A": 1000, "B": 700, "C": 500, "D": 300, "E": 100}
    assert p.pledge.per_firm_cap_wan == 500
    assert p.sources and p.version.startswith("default-")


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([{"from": "0", "to": "0.03", "points": 0}, {"from": "0.02", "points": 10}], "overlap"),
        ([{"from": "0", "to": "0.02", "points": 0}, {"from": "0.03", "points": 10}], "gap between 0.02 and 0.03"),
        ([{"from": "0", "to": "0.02", "points": 0}, {"from": "0.04", "points": 30},
          {"from": "0.02", "to": "0.04", "points": 10}], "ascending order"),
        ([{"from": "0.01", "to": "0.02", "points": 0}, {"from": "0.02", "points": 10}], "must start at 0"),
        ([{"from": "0", "to": "0.02", "points": 0}, {"from": "0.02", "to": "0.5", "points": 10}], "must be open"),
        ([{"from": "0", "to": "0.02", "points": 10}, {"from": "0.02", "points": 0}], "points fall"),
        ([{"from": "0", "to": "0", "points": 0}, {"from": "0", "points": 10}], "must be above"),
        ([{"from": "abc", "points": 0}], "not a number"),
        ([], "non-empty"),
    ],
)
def test_invalid_bands_are_rejected_with_a_clear_message(bands: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(PolicyError, match=message) as info:
        policy_from_dict(with_bands(bands))
    assert "tech_sme.rd_sales_bands" in str(info.value)


def test_other_defects_are_named() -> None:
    raw = copy.deepcopy(raw_default())
    raw["kv_index"]["weights"]["ip"] = 0.5
    with pytest.raises(PolicyError, match="sum to 1"):
        policy_from_dict(raw)
    raw = copy.deepcopy(raw_default())
    del raw["products"]["ip_pledge"]["pd_threshold"]
    with pytest.raises(PolicyError, match=r"products\.ip_pledge\.pd_threshold"):
        policy_from_dict(raw)
    raw = copy.deepcopy(raw_default())
    raw["ip_pledge"]["pledge_rates"]["patent_of_the_moon"] = 0.1
    with pytest.raises(PolicyError, match=r"pledge_rates\.patent_of_the_moon is an unknown key"):
        policy_from_dict(raw)
    raw = copy.deepcopy(raw_default())
    raw["kv_index"]["grade_lines_wan"]["B"] = 2000
    with pytest.raises(PolicyError, match="better grade"):
        policy_from_dict(raw)


def test_a_bank_file_overrides_only_what_it_gives(tmp_path: Path) -> None:
    bank = tmp_path / "bank.toml"
    bank.write_text(
        '[meta]\nversion = "bank-xt-2026"\n'
        "[ip_pledge]\nper_firm_cap_wan = 800\n"
        "[ip_pledge.pledge_rates]\ninvention_patent = 0.3\n"
        "[products.knowledge_value_credit]\npd_threshold = 0.06\n",
        encoding="utf-8",
    )
    p = load_policy(bank)
    assert p.pledge.per_firm_cap_wan == 800
    assert p.pledge.pledge_rates["invention_patent"] == 0.3
    assert p.pledge.pledge_rates["utility_model"] == 0.15  # kept from the defaults
    assert p.product("knowledge_value_credit").pd_threshold == 0.06
    assert p.product("knowledge_value_credit").max_amount_wan == 1000
    assert p.version.startswith("bank-xt-2026+")


def test_changing_a_figure_changes_the_version_even_without_a_bump(tmp_path: Path) -> None:
    bank = tmp_path / "bank.toml"
    bank.write_text("[ip_pledge]\nper_firm_cap_wan = 400\n", encoding="utf-8")
    changed = load_policy(bank)
    assert changed.version != default_policy().version
    assert changed.version.split("+")[0] == default_policy().version.split("+")[0]


def test_unreadable_or_broken_files_raise_policy_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[tech_sme\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(broken)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[products.other]\npd_thresold = 0.05\n", r"line 2: products\.other\.pd_thresold is an unknown key"),
        ("[meta]\nversion = \"b\"\n\n[products.other]\npd_threshold = \"low\"\n",
         r"line 5: products\.other\.pd_threshold must be a number"),
        ("[products.ip_pledge]\npd_threshold = 1.5\n",
         r"line 2: products\.ip_pledge\.pd_threshold must be at least 0 and at most 1"),
        ("[ip_pledge]\nper_firm_cap_wan = -500\n", r"line 2: ip_pledge\.per_firm_cap_wan must be at least 0"),
        ("[products.other]\nrequires_grade = \"yes\"\n", "must be true or false"),
        ("[products.other]\nterm_months = 12.5\n", "must be a whole number"),
        ("[kv_index.stage_points]\nseries_z = 10\n", r"line 2: kv_index\.stage_points\.series_z is an unknown key"),
        ("[tech_sme]\nrd_sales_bands = [\n  { from = \"0\", to = \"0.02\", points = 0 },\n"
         "  { from = \"0.02\", point = 10 },\n]\n", r"line 4: tech_sme\.rd_sales_bands\[2\]\.point is an unknown band"),
        ("[factors]\nearly_stages = [\"idea\", \"garage\"]\n", "unknown values"),
        ("[product.other]\npd_threshold = 0.05\n", r"line 1: product is an unknown key"),
    ],
)
def test_a_bank_file_is_held_to_the_schema_naming_key_and_line(tmp_path: Path, body: str, message: str) -> None:
    bank = tmp_path / "bank.toml"
    bank.write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError, match=message) as info:
        load_policy(bank)
    assert str(bank) in str(info.value)


def test_the_eligibility_command_refuses_a_misspelt_policy_key(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from roadshow.cli import app

    bank = tmp_path / "bank.toml"
    bank.write_text("[products.other]\npd_thresold = 0.05\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eligibility", "--data", str(tmp_path), "--product", "other",
                                      "--policy", str(bank), "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 1
    assert "pd_thresold is an unknown key" in result.output and "line 2" in result.output
    assert "Traceback" not in result.output
