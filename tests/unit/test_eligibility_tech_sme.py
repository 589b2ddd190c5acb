"""科技型中小企业 evaluation (issue 5): hand-computed edge cases on the one (frame) path; a single firm
is a one-row frame."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from matcher.eligibility import default_policy, tech_sme_frame
from tests.factories import ELIGIBILITY_AS_OF, eligibility_data, eligibility_firm, eligibility_ip

AS_OF = ELIGIBILITY_AS_OF
NO_IP: list[dict[str, object]] = []


@dataclass(frozen=True)
class Evaluation:
    tech_staff_points: int
    rd_points: int
    ip_points: int
    score: int
    direct: bool
    qualified: bool
    failed: tuple[str, ...]
    valid_class_i: int
    valid_class_ii: int


def evaluate(firm: dict[str, object], ips: list[dict[str, object]] | None = None, on: date = AS_OF) -> Evaluation:
    """Score one firm: a one-row frame through ``tech_sme_frame``."""
    data = eligibility_data([firm], ips)
    row = tech_sme_frame(data.startups, data.ip_assets, as_of=on, policy=default_policy()).row(0, named=True)
    return Evaluation(row["tech_staff_points"], row["rd_points"], row["ip_points"], row["tech_sme_score"],
                      row["tech_sme_direct"], row["tech_sme_qualified"], tuple(row["tech_sme_failed"]),
                      row["valid_class_i"], row["valid_class_ii"])


def firm(**overrides: object) -> dict[str, object]:
    return eligibility_firm("F1", **overrides)


def test_rd_on_the_six_percent_edge_is_exactly_six_percent() -> None:
    # 8.04 / 134 = 0.06 exactly; binary floating point makes it 0.0599999…
    assert evaluate(firm(revenue_wan=134.0, rd_expense_wan=8.04, total_cost_wan=None)).rd_points == 50
    assert evaluate(firm(revenue_wan=134.0, rd_expense_wan=8.03, total_cost_wan=None)).rd_points == 40


@pytest.mark.parametrize(
    ("rd", "points"),
    [(1.99, 0), (2.0, 10), (2.99, 10), (3.0, 20), (3.99, 20), (4.0, 30), (4.99, 30), (5.0, 40), (5.99, 40),
     (6.0, 50), (90.0, 50)],
)
def test_rd_to_sales_band_edges(rd: float, points: int) -> None:
    assert evaluate(firm(revenue_wan=100.0, rd_expense_wan=rd, total_cost_wan=None)).rd_points == points


@pytest.mark.parametrize(
    ("rd", "points"),
    [(9.99, 0), (10.0, 10), (15.0, 20), (19.99, 20), (20.0, 30), (25.0, 40), (29.99, 40), (30.0, 50)],
)
def test_rd_to_total_cost_band_edges_when_revenue_is_zero(rd: float, points: int) -> None:
    assert evaluate(firm(revenue_wan=0.0, rd_expense_wan=rd, total_cost_wan=100.0)).rd_points == points


def test_the_better_of_the_two_rd_ratios_counts() -> None:
    # 20 / 1000 = 2% of sales → 10; 20 / 100 = 20% of cost → 30.
    assert evaluate(firm(revenue_wan=1000.0, rd_expense_wan=20.0, total_cost_wan=100.0)).rd_points == 30
    # 60 / 1000 = 6% of sales → 50 beats 60 / 1000 of cost = 6% → 0.
    assert evaluate(firm(revenue_wan=1000.0, rd_expense_wan=60.0, total_cost_wan=1000.0)).rd_points == 50


@pytest.mark.parametrize(
    ("rd_staff", "employees", "points"),
    [(9, 100, 0), (10, 100, 4), (14, 100, 4), (15, 100, 8), (20, 100, 12), (25, 100, 16), (29, 100, 16),
     (30, 100, 20), (2, 20, 4), (3, 10, 20), (1, 7, 4)],
)
def test_tech_staff_band_edges(rd_staff: int, employees: int, points: int) -> None:
    assert evaluate(firm(rd_staff=rd_staff, employees=employees)).tech_staff_points == points


def test_ip_validity_on_the_evaluation_date() -> None:
    day = timedelta(days=1)
    cases = [
        (eligibility_ip(), 30),
        (eligibility_ip(status=None), 30),  # no status means granted
        (eligibility_ip(status="expired"), 0),
        (eligibility_ip(status="pending"), 0),
        (eligibility_ip(status="invalid"), 0),
        (eligibility_ip(granted_on=AS_OF + day), 0),  # granted after the date
        (eligibility_ip(granted_on=AS_OF), 30),  # granted on the date counts
        (eligibility_ip(expires_on=AS_OF), 0),  # must expire after the date
        (eligibility_ip(expires_on=AS_OF + day), 30),
        (eligibility_ip(granted_on=None, expires_on=None), 30),
    ]
    for ip, points in cases:
        assert evaluate(firm(), [ip]).ip_points == points, ip


def test_trademarks_never_count() -> None:
    marks = [eligibility_ip(kind="trademark") for _ in range(6)]
    result = evaluate(firm(), marks)
    assert (result.ip_points, result.valid_class_i, result.valid_class_ii) == (0, 0, 0)


@pytest.mark.parametrize(("count", "points"), [(1, 6), (2, 12), (3, 18), (4, 24), (7, 24)])
def test_class_ii_counts(count: int, points: int) -> None:
    kinds = ("utility_model", "design_patent", "software_copyright")
    ips = [eligibility_ip(kind=kinds[k % 3]) for k in range(count)]
    assert evaluate(firm(), ips).ip_points == points


def test_class_i_kinds_score_thirty_even_with_class_ii() -> None:
    for kind in ("invention_patent", "ic_layout", "plant_variety", "new_drug"):
        ips = [eligibility_ip(kind=kind), *(eligibility_ip(kind="utility_model") for _ in range(5))]
        assert evaluate(firm(), ips).ip_points == 30


def test_total_of_exactly_sixty_qualifies_and_fifty_eight_does_not() -> None:
    # 10% staff → 4, 6% R&D → 50, one utility model → 6: 60.
    ok = evaluate(firm(rd_staff=10), [eligibility_ip(kind="utility_model")])
    assert (ok.score, ok.qualified, ok.failed) == (60, True, ())
    # 4 + 40 (5%) + 6 = 50 → below 60.
    low = evaluate(firm(rd_staff=10, rd_expense_wan=50.0, total_cost_wan=None), [eligibility_ip(kind="utility_model")])
    assert (low.score, low.qualified, low.failed) == (50, False, ("TECH_SME_SCORE_LOW",))


def test_tech_staff_score_zero_fails_even_with_a_high_total() -> None:
    # 0 + 50 + 30 = 80 ≥ 60, but the 科技人员 score is 0.
    result = evaluate(firm(rd_staff=5), [eligibility_ip()])
    assert (result.score, result.qualified, result.failed) == (80, False, ("NO_TECH_STAFF_SCORE",))


@pytest.mark.parametrize("route", ["high_tech_enterprise", "national_award_5y", "provincial_rd_center"])
def test_direct_qualification_skips_the_score_but_still_reports_it(route: str) -> None:
    result = evaluate(firm(rd_staff=0, rd_expense_wan=0.0, **{route: True}))
    assert (result.score, result.direct, result.qualified, result.failed) == (0, True, True, ())


def test_standards_led_is_a_direct_route_from_one_standard() -> None:
    assert evaluate(firm(rd_staff=0, standards_led_5y=1)).qualified
    assert not evaluate(firm(rd_staff=0, standards_led_5y=0)).qualified


def test_direct_qualification_does_not_waive_size_or_credit() -> None:
    result = evaluate(firm(high_tech_enterprise=True, credit_flags=1, employees=501, rd_staff=200))
    assert result.failed == ("STAFF_OVER_LIMIT", "ADVERSE_CREDIT")
    assert not result.qualified


def test_size_limits_are_inclusive() -> None:
    assert evaluate(firm(employees=500, rd_staff=150)).qualified
    assert evaluate(firm(employees=501, rd_staff=150)).failed == ("STAFF_OVER_LIMIT",)
    assert evaluate(firm(revenue_wan=20000.0, rd_expense_wan=1200.0)).qualified
    assert evaluate(firm(revenue_wan=20000.0001, rd_expense_wan=1200.0)).failed == ("REVENUE_OVER_LIMIT",)
    assert evaluate(firm(total_assets_wan=20000.0)).qualified
    assert evaluate(firm(total_assets_wan=20000.0001)).failed == ("ASSETS_OVER_LIMIT",)


def test_adverse_credit_fails_condition_four_without_changing_the_score() -> None:
    clean, flagged = evaluate(firm(), [eligibility_ip()]), evaluate(firm(credit_flags=2), [eligibility_ip()])
    assert flagged.score == clean.score == 100
    assert flagged.failed == ("ADVERSE_CREDIT",)


def test_zero_and_missing_figures_follow_the_conventions() -> None:
    zero_staff = evaluate(firm(employees=0, rd_staff=0))
    assert zero_staff.tech_staff_points == 0
    assert "NO_TECH_STAFF_SCORE" in zero_staff.failed
    # Zero revenue: only R&D ÷ total cost can score (60 / 900 = 6.7% of cost → 0).
    assert evaluate(firm(revenue_wan=0.0)).rd_points == 0
    assert evaluate(firm(revenue_wan=0.0, total_cost_wan=240.0)).rd_points == 40  # 25%
    assert evaluate(firm(revenue_wan=0.0, total_cost_wan=200.0)).rd_points == 50  # 30%
    bare = {"startup_id": "F1", "name": "空白企业"}
    result = evaluate(bare)
    assert (result.score, result.qualified, result.direct) == (0, False, False)
    assert result.failed == ("NO_TECH_STAFF_SCORE", "TECH_SME_SCORE_LOW")
    assert evaluate(firm(rd_staff=None)).tech_staff_points == 0
    assert evaluate(firm(rd_expense_wan=None)).rd_points == 0
    assert evaluate(firm(high_tech_enterprise=None, credit_flags=None)).qualified


def test_frame_keeps_input_order_and_counts_ip_per_firm() -> None:
    firms = [eligibility_firm(f"F{k}", rd_staff=10 * k) for k in range(4)]
    ips = [eligibility_ip("F2"), eligibility_ip("F3", kind="utility_model"), eligibility_ip("F3", kind="trademark")]
    data = eligibility_data(firms, ips)
    out = tech_sme_frame(data.startups, data.ip_assets, as_of=AS_OF, policy=default_policy())
    assert out["startup_id"].to_list() == ["F0", "F1", "F2", "F3"]
    assert out["ip_points"].to_list() == [0, 0, 30, 6]
    assert out["valid_trademarks"].to_list() == [0, 0, 0, 1]
    assert out["tech_staff_points"].to_list() == [0, 4, 12, 20]


def test_the_direct_routes_follow_the_policy_of_each_call() -> None:
    # The route expressions are built once per set of routes: a policy with other routes gets its own.
    import dataclasses

    data = eligibility_data([firm(provincial_rd_center=True, rd_staff=0)])
    default = default_policy()
    narrowed = dataclasses.replace(default, tech_sme=dataclasses.replace(
        default.tech_sme, direct_routes=("high_tech_enterprise",)))
    direct = [tech_sme_frame(data.startups, data.ip_assets, as_of=AS_OF, policy=p)["tech_sme_direct"].item()
              for p in (default, narrowed, default)]
    assert direct == [True, False, True]


def test_ip_is_counted_on_every_row_of_its_firm_and_never_on_another() -> None:
    ips = [eligibility_ip("F1"), eligibility_ip("F1", "utility_model"), eligibility_ip("F2"),
           eligibility_ip("GONE"), eligibility_ip("F1", "trademark"), eligibility_ip("F1", status="expired")]
    data = eligibility_data([firm(), eligibility_firm("F2"), firm()], ips)
    out = tech_sme_frame(data.startups, data.ip_assets, as_of=AS_OF, policy=default_policy())
    assert out["valid_class_i"].to_list() == [1, 1, 1]
    assert out["valid_class_ii"].to_list() == [1, 0, 1]
    assert out["valid_trademarks"].to_list() == [1, 0, 1]
    assert out["valid_invention_patents"].to_list() == [1, 1, 1]
