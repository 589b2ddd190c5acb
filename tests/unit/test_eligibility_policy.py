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
    with pytest.raises(PolicyError, match="unknown keys"):
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
