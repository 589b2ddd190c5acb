"""Startup features as of a date (issue 3): IP validity by class, ratios, sector tokens."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.features.startup import startup_features
from matcher.io import from_frames

AS_OF = date(2025, 6, 30)


def _world() -> tuple[pl.DataFrame, pl.DataFrame]:
    data = from_frames(
        startups=pl.DataFrame([
            {"startup_id": "A", "name": "a", "sector": "智能机器人", "stage": "a", "employees": 50, "rd_staff": 15,
             "revenue_wan": 1000.0, "rd_expense_wan": 50.0, "total_cost_wan": 100.0, "founded_on": date(2020, 6, 30),
             "funding_ask_wan": 999.0, "region": " 湖南 "},
            {"startup_id": "B", "name": "b", "sector": "Agritech", "employees": 0, "revenue_wan": 0.0,
             "rd_expense_wan": 10.0, "city": "Pune"},
        ]),
        ip_assets=pl.DataFrame([
            {"startup_id": "A", "kind": "invention_patent", "granted_on": date(2021, 1, 1),
             "expires_on": date(2041, 1, 1)},
            {"startup_id": "A", "kind": "invention_patent", "status": "expired", "granted_on": date(2010, 1, 1)},
            {"startup_id": "A", "kind": "utility_model", "granted_on": date(2024, 6, 30),
             "expires_on": date(2034, 6, 30)},
            {"startup_id": "A", "kind": "utility_model", "granted_on": date(2015, 1, 1),
             "expires_on": date(2025, 6, 30)},
            {"startup_id": "A", "kind": "software_copyright", "status": "pending"},
            {"startup_id": "A", "kind": "trademark", "granted_on": date(2022, 1, 1)},
            {"startup_id": "A", "kind": "ic_layout", "granted_on": date(2025, 7, 1)},
        ]),
    )
    return data.startups, data.ip_assets


def test_ip_counts_follow_the_policy_validity_rule() -> None:
    startups, ip = _world()
    row = startup_features(startups, ip, AS_OF).row(0, named=True)
    # valid: the 2021 invention patent (class I) and the 2024 utility model (class II); the expired, the
    # pending, the trademark, the one expiring on the date itself and the one granted later do not count.
    assert row["ip_class1_valid"] == 1.0
    assert row["ip_class2_valid"] == 1.0
    assert row["ip_years_since_last_grant"] == pytest.approx(365 / 365.25)
    assert row["ip_remaining_years_max"] == pytest.approx((date(2041, 1, 1) - AS_OF).days / 365.25)


def test_ratios_take_the_better_rd_ratio_and_null_for_zero_denominators() -> None:
    startups, ip = _world()
    a, b = startup_features(startups, ip, AS_OF).iter_rows(named=True)
    assert a["rd_intensity"] == pytest.approx(0.5)  # max(50/1000, 50/100)
    assert a["tech_staff_ratio"] == pytest.approx(0.3)
    assert a["age_years"] == pytest.approx((AS_OF - date(2020, 6, 30)).days / 365.25)
    assert a["stage_ordinal"] == 4.0
    assert b["rd_intensity"] is None and b["tech_staff_ratio"] is None
    assert b["ip_class1_valid"] == 0.0 and b["stage_ordinal"] is None


def test_known_sectors_map_to_codes_and_unknown_ones_stay_as_tokens() -> None:
    startups, ip = _world()
    feats = startup_features(startups, ip, AS_OF)
    assert feats["sector_token"].to_list() == ["robotics", "agritech"]
    assert feats["region_token"].to_list() == ["湖南", "pune"]


@given(grant=st.dates(date(2000, 1, 1), date(2040, 1, 1)), life=st.integers(1, 30 * 365))
def test_an_ip_counts_exactly_when_granted_by_the_date_and_not_yet_expired(grant: date, life: int) -> None:
    startups, _ = _world()
    expires = date.fromordinal(grant.toordinal() + life)
    ip = from_frames(ip_assets=pl.DataFrame(
        [{"startup_id": "A", "kind": "invention_patent", "granted_on": grant, "expires_on": expires}])).ip_assets
    count = startup_features(startups, ip, AS_OF).filter(pl.col("startup_id") == "A")["ip_class1_valid"].item()
    assert count == float(grant <= AS_OF < expires)
