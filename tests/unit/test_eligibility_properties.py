"""Property tests (issue 5): the promised monotonicity holds, and a failed hard condition always refuses
the loan with that condition as the first reason."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.eligibility import assess, default_policy, tech_sme_frame
from matcher.eligibility.pd_model import training_set
from matcher.eligibility.reasons import HARD_CONDITIONS
from tests.factories import ELIGIBILITY_AS_OF, eligibility_data, eligibility_loan_book, eligibility_model

AS_OF = ELIGIBILITY_AS_OF
KINDS = ("invention_patent", "utility_model", "design_patent", "software_copyright", "trademark", "ic_layout",
         "plant_variety", "new_drug")
PROPERTY_SETTINGS = settings(max_examples=25)  # each example assesses firms end to end

amounts = st.one_of(st.none(), st.integers(0, 3_000_000).map(lambda c: c / 100))  # up to 30,000万, 2 decimals


@st.composite
def firms(draw: st.DrawFn, startup_id: str = "F1") -> dict[str, Any]:
    employees = draw(st.one_of(st.none(), st.integers(0, 600)))
    return {
        "startup_id": startup_id, "name": "企业", "sector": draw(st.sampled_from(["智能机器人", "生物医药", None])),
        "stage": draw(st.sampled_from(["seed", "a", "b", None])), "founded_on": date(2019, 1, 1),
        "employees": employees,
        "rd_staff": draw(st.one_of(st.none(), st.integers(0, employees or 0))),
        "revenue_wan": draw(amounts), "rd_expense_wan": draw(amounts), "total_cost_wan": draw(amounts),
        "total_assets_wan": draw(amounts), "funding_ask_wan": draw(st.one_of(st.none(), st.floats(10, 2000))),
        "high_tech_enterprise": draw(st.one_of(st.none(), st.booleans())),
        "provincial_rd_center": draw(st.one_of(st.none(), st.booleans())),
        "national_award_5y": draw(st.one_of(st.none(), st.booleans())),
        "standards_led_5y": draw(st.one_of(st.none(), st.integers(0, 2))),
        "credit_flags": draw(st.one_of(st.none(), st.integers(0, 2))),
    }


@st.composite
def ip_rows(draw: st.DrawFn, startup_id: str = "F1") -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        granted = draw(st.one_of(st.none(), st.integers(-4000, 400)))
        expires = draw(st.one_of(st.none(), st.integers(-400, 8000)))
        rows.append({
            "startup_id": startup_id, "kind": draw(st.sampled_from(KINDS)),
            "status": draw(st.sampled_from([None, "granted", "pending", "expired", "invalid"])),
            "granted_on": None if granted is None else AS_OF + timedelta(days=granted),
            "expires_on": None if expires is None else AS_OF + timedelta(days=expires),
            "appraised_value_wan": draw(st.one_of(st.none(), st.floats(1, 2000))),
        })
    return rows


def _tech_row(firm: dict[str, Any], ips: list[dict[str, Any]]) -> dict[str, Any]:
    data = eligibility_data([firm], ips)
    return tech_sme_frame(data.startups, data.ip_assets, as_of=AS_OF, policy=default_policy()).row(0, named=True)


def single_score(firm: dict[str, Any], ips: list[dict[str, Any]]) -> int:
    return int(_tech_row(firm, ips)["tech_sme_score"])


@PROPERTY_SETTINGS
@given(firms(), ip_rows(), st.integers(1, 50))
def test_more_tech_staff_never_lowers_the_score(firm: dict[str, Any], ips: list[dict[str, Any]], extra: int) -> None:
    employees = firm["employees"] or 0
    more = {**firm, "rd_staff": min((firm["rd_staff"] or 0) + extra, employees)}
    assert single_score(more, ips) >= single_score(firm, ips)


@PROPERTY_SETTINGS
@given(firms(), ip_rows(), st.integers(1, 100_000).map(lambda c: c / 100))
def test_more_rd_never_lowers_the_score(firm: dict[str, Any], ips: list[dict[str, Any]], extra: float) -> None:
    more = {**firm, "rd_expense_wan": (firm["rd_expense_wan"] or 0.0) + extra}
    assert single_score(more, ips) >= single_score(firm, ips)


@PROPERTY_SETTINGS
@given(firms(), ip_rows(), st.sampled_from(["invention_patent", "ic_layout", "plant_variety", "new_drug"]))
def test_more_valid_class_i_ip_never_lowers_the_score(firm: dict[str, Any], ips: list[dict[str, Any]],
                                                      kind: str) -> None:
    valid = {"startup_id": "F1", "kind": kind, "status": "granted", "granted_on": AS_OF - timedelta(days=10),
             "expires_on": AS_OF + timedelta(days=3000), "appraised_value_wan": None}
    assert single_score(firm, [*ips, valid]) >= single_score(firm, ips)


def _book_features() -> pl.DataFrame:
    book = eligibility_loan_book()
    return training_set(book.startups, book.ip_assets, book.loans, as_of=None, policy=default_policy()).features


BOOK_FEATURES = _book_features()


@PROPERTY_SETTINGS
@given(st.integers(0, BOOK_FEATURES.height - 1), st.integers(1, 5), st.integers(1, 3))
def test_pd_is_monotone_in_patents_and_credit_flags(row: int, patents: int, flags: int) -> None:
    model = eligibility_model()
    base = BOOK_FEATURES.slice(row, 1)
    more_patents = base.with_columns(pl.col("valid_invention_patents") + patents, pl.col("valid_class_i") + patents)
    more_flags = base.with_columns(pl.col("credit_flags") + flags)
    pd0, pd_patents, pd_flags = (model.predict_pd(f)[0] for f in (base, more_patents, more_flags))
    assert pd_patents <= pd0 + 1e-12
    assert pd_flags >= pd0 - 1e-12


@PROPERTY_SETTINGS
@given(firms(), ip_rows(), st.sampled_from(["knowledge_value_credit", "ip_pledge", "other"]))
def test_a_failed_hard_condition_refuses_with_that_reason_first(firm: dict[str, Any], ips: list[dict[str, Any]],
                                                                product: str) -> None:
    data = eligibility_data([firm], ips)
    decision = assess(data, product=product, as_of=AS_OF, model=eligibility_model())[0]
    failed = tuple(_tech_row(firm, ips)["tech_sme_failed"])
    expected = failed if product == "knowledge_value_credit" else tuple(c for c in failed if c == "ADVERSE_CREDIT")
    hard = [c for c in decision.reason_codes if c in HARD_CONDITIONS]
    if expected:
        assert not decision.eligible
        assert decision.reason_codes[0] == expected[0]
        assert decision.credit_limit_wan == 0.0
    assert decision.eligible == (not hard)
    assert decision.reason_codes[: len(hard)] == tuple(hard)  # hard conditions lead, in check order
    assert hard == sorted(hard, key=HARD_CONDITIONS.index)
    assert np.isfinite(decision.pd) and 0.0 <= decision.pd <= 1.0
