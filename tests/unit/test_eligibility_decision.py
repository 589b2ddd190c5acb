"""Grades, limits, reasons and decision records (issue 5), with hand-computed figures."""

from __future__ import annotations

import copy
import tomllib
from datetime import date
from typing import Any

import pytest

from matcher.domain import LoanProduct, ProductKind
from matcher.eligibility import Decision, assess, assess_frame, default_policy
from matcher.eligibility.engine import CONTRACT_COLUMNS, EXTRA_COLUMNS, SCORES_COLUMNS
from matcher.eligibility.policy import DEFAULT_POLICY_PATH, Policy, policy_from_dict
from matcher.eligibility.reasons import HARD_CONDITIONS, LOWERING, RAISING
from matcher.errors import InvalidInputError
from tests.factories import (
    ELIGIBILITY_AS_OF,
    eligibility_data,
    eligibility_firm,
    eligibility_ip,
    eligibility_model,
)

AS_OF = ELIGIBILITY_AS_OF


def policy_with_pd_threshold(threshold: float) -> Policy:
    with DEFAULT_POLICY_PATH.open("rb") as fh:
        raw: dict[str, Any] = tomllib.load(fh)
    raw = copy.deepcopy(raw)
    for kind in ("knowledge_value_credit", "ip_pledge", "other"):
        raw["products"][kind]["pd_threshold"] = threshold
    return policy_from_dict(raw)


LENIENT = policy_with_pd_threshold(1.0)  # isolates the rules from the PD model
STRICT = policy_with_pd_threshold(0.0)


def one(firm: dict[str, object], ips: list[dict[str, object]] | None = None, *, product: str | LoanProduct =
        "knowledge_value_credit", policy: Policy = LENIENT) -> Decision:
    decisions = assess(eligibility_data([firm], ips), product=product, as_of=AS_OF, model=eligibility_model(),
                       policy=policy)
    assert len(decisions) == 1
    return decisions[0]


def test_kv_grade_and_limit_by_hand() -> None:
    # ip: 1 invention × 3 = 3 → 60; rd 50/50 → 100; talent 20/20 → 100; revenue 1000 → 65; stage a → 60;
    # recognition 0. Index = .30·60 + .25·100 + .15·100 + .15·65 + .05·60 = 70.75 → B (line 700).
    d = one(eligibility_firm(), [eligibility_ip()])
    assert (d.kv_score, d.grade, d.tech_sme_score, d.tech_sme_qualified) == (70.75, "B", 100, True)
    # The line is capped by the revenue capacity 0.5 × 1000 = 500.
    assert (d.eligible, d.credit_limit_wan) == (True, 500.0)
    rich = one(eligibility_firm(revenue_wan=3000.0, rd_expense_wan=180.0), [eligibility_ip()])
    assert (rich.kv_score, rich.grade, rich.credit_limit_wan) == (73.75, "B", 700.0)


def test_product_maximum_and_min_grade_apply() -> None:
    capped = LoanProduct("P1", "B1", ProductKind.KNOWLEDGE_VALUE_CREDIT, max_amount_wan=300.0)
    assert one(eligibility_firm(), [eligibility_ip()], product=capped).credit_limit_wan == 300.0
    picky = LoanProduct("P2", "B1", ProductKind.KNOWLEDGE_VALUE_CREDIT, min_grade="A")
    d = one(eligibility_firm(), [eligibility_ip()], product=picky)
    assert (d.eligible, d.reason_codes[0], d.credit_limit_wan, d.product_id) == (False, "GRADE_BELOW_MIN", 0.0, "P2")


def test_sector_restriction_is_a_hard_condition() -> None:
    bio_only = LoanProduct("P3", "B1", ProductKind.OTHER, sectors=("生物医药",))
    d = one(eligibility_firm(sector="智能机器人"), product=bio_only)
    assert (d.eligible, d.reason_codes[0]) == (False, "SECTOR_NOT_COVERED")
    assert one(eligibility_firm(sector="生物医药"), product=bio_only).eligible


def test_ip_pledge_limit_from_appraisal_and_cap() -> None:
    d = one(eligibility_firm(), [eligibility_ip(appraised_value_wan=400.0)], product="ip_pledge")
    assert (d.eligible, d.credit_limit_wan) == (True, 100.0)  # 25% of 400
    many = [eligibility_ip(appraised_value_wan=1000.0) for _ in range(5)]
    assert one(eligibility_firm(), many, product="ip_pledge").credit_limit_wan == 500.0  # per-firm cap


def test_ip_pledge_estimate_without_appraisal() -> None:
    # 120 × min(1, 13.8 y / 10) × size factor 0.8 (revenue 1000) = 96; × 25% = 24.
    assert one(eligibility_firm(), [eligibility_ip()], product="ip_pledge").credit_limit_wan == 24.0
    # Trademarks are pledgeable though they never count for the tech-SME score: 30 × 1 × 0.8 × 50% = 12.
    mark = eligibility_ip(kind="trademark", expires_on=date(2036, 6, 30))
    assert one(eligibility_firm(), [mark], product="ip_pledge").credit_limit_wan == 12.0


def test_ip_without_enough_life_or_known_life_is_not_pledged() -> None:
    short = eligibility_ip(expires_on=date(2030, 1, 1))  # 3.5 years left, 5 required
    unknown = eligibility_ip(granted_on=None, expires_on=None)
    for ip in (short, unknown):
        d = one(eligibility_firm(), [ip], product="ip_pledge")
        assert (d.eligible, d.reason_codes[0], d.credit_limit_wan) == (False, "NO_PLEDGEABLE_IP", 0.0)
    # Expiry inferred from the grant date: 2020-05-01 + 20 years.
    inferred = eligibility_ip(expires_on=None)
    assert one(eligibility_firm(), [inferred], product="ip_pledge").credit_limit_wan == 24.0


def test_other_product_is_judged_on_caps_with_tech_columns_filled() -> None:
    d = one(eligibility_firm(rd_staff=0), product="other")
    # 300 cap vs 0.3 × 1000 = 300 revenue capacity; the tech-SME failure is not a condition here.
    assert (d.eligible, d.credit_limit_wan, d.tech_sme_qualified, d.tech_sme_score) == (True, 300.0, False, 50)


def test_failed_hard_condition_comes_first_and_blocks() -> None:
    d = one(eligibility_firm(credit_flags=1, employees=600, rd_staff=200))
    assert not d.eligible
    assert d.reason_codes[:2] == ("STAFF_OVER_LIMIT", "ADVERSE_CREDIT")
    assert d.credit_limit_wan == 0.0
    refused = one(eligibility_firm(), [eligibility_ip()], policy=STRICT)
    assert (refused.eligible, refused.reason_codes[0]) == (False, "PD_ABOVE_THRESHOLD")


def test_reasons_have_stable_codes_and_both_languages() -> None:
    d = one(eligibility_firm(rd_expense_wan=20.0, total_cost_wan=None, rd_staff=10), [])
    texts = {r.code: r for r in d.reasons}
    assert texts["LOW_RD_INTENSITY"].zh == "研发投入占比低于3%"
    assert texts["LOW_RD_INTENSITY"].en == "R&D intensity below 3%"
    assert all(r.zh and r.en for r in d.reasons)
    lowering = [c for c in d.reason_codes if c not in HARD_CONDITIONS]
    assert lowering[0] == "NO_VALID_IP"  # the largest shortfall: the IP indicator, weight 0.30 × 100


def test_at_most_four_reasons_a_refusal_leads_with_its_failed_conditions() -> None:
    d = one({"startup_id": "F1", "name": "空白", "stage": "idea"})
    assert not d.eligible
    assert 0 < len(d.reason_codes) <= 4
    assert d.reason_codes[0] in HARD_CONDITIONS
    hard = [c for c in d.reason_codes if c in HARD_CONDITIONS]
    assert d.reason_codes[: len(hard)] == tuple(hard)
    # After the failed conditions come what lowered the firm, never what raised it first.
    rest = [c for c in d.reason_codes if c not in HARD_CONDITIONS]
    assert all(c in LOWERING for c in rest)


def test_an_eligible_firm_leads_with_what_made_it_eligible() -> None:
    # Eligible, with a class-II-only IP record (NO_CLASS_I_IP) and a PD near the threshold (ELEVATED_PD):
    # the refusal-sounding codes may follow, never lead.
    firm = eligibility_firm(rd_expense_wan=70.0)
    utility = [eligibility_ip(kind="utility_model") for _ in range(4)]
    d = one(firm, utility, policy=policy_with_pd_threshold(0.2))
    assert d.eligible
    assert len(d.reason_codes) <= 4
    assert d.reason_codes[0] in RAISING
    raising = [c for c in d.reason_codes if c in RAISING]
    assert d.reason_codes[: len(raising)] == tuple(raising)
    assert "NO_CLASS_I_IP" not in d.reason_codes[:1] and "ELEVATED_PD" not in d.reason_codes[:1]
    # Within the raising group the heavier factor comes first: R&D (0.25 × 100) before tech staff (0.15 × 100).
    assert raising.index("HIGH_RD_INTENSITY") < raising.index("HIGH_TECH_STAFF_RATIO")


@pytest.mark.parametrize(
    ("firm", "ips", "product", "basis", "limit"),
    [
        (eligibility_firm(revenue_wan=3000.0, rd_expense_wan=180.0), [eligibility_ip()], "knowledge_value_credit",
         "grade_line", 700.0),
        (eligibility_firm(), [eligibility_ip()], "knowledge_value_credit", "revenue_capacity", 500.0),
        (eligibility_firm(), [eligibility_ip()], LoanProduct("P1", "B1", ProductKind.KNOWLEDGE_VALUE_CREDIT,
                                                             max_amount_wan=300.0), "product_max", 300.0),
        (eligibility_firm(), [eligibility_ip(appraised_value_wan=400.0)], "ip_pledge", "pledge_value", 100.0),
        (eligibility_firm(), [eligibility_ip(appraised_value_wan=1000.0) for _ in range(5)], "ip_pledge",
         "per_firm_cap", 500.0),
        (eligibility_firm(), [eligibility_ip(appraised_value_wan=20.0)], "ip_pledge", "product_min", 0.0),
        (eligibility_firm(credit_flags=2), [eligibility_ip()], "knowledge_value_credit", "not_eligible", 0.0),
        (eligibility_firm(revenue_wan=2000.0), [], "other", "product_max", 300.0),
        (eligibility_firm(revenue_wan=500.0), [], "other", "revenue_capacity", 150.0),
    ],
)
def test_every_limit_basis_is_derived_with_its_numbers(firm: dict[str, object], ips: list[dict[str, object]],
                                                      product: str | LoanProduct, basis: str, limit: float) -> None:
    d = one(firm, ips, product=product)
    assert (d.limit.basis, d.credit_limit_wan) == (basis, limit)
    assert d.limit.zh.startswith("额度 = min(") and d.limit.en.startswith("limit = min(")
    assert all(f"{v:,.2f}".rstrip("0").rstrip(".") + "万" in d.limit.en for v in d.limit.caps.values())


def test_the_derivation_reads_as_the_officer_computes_it() -> None:
    d = one(eligibility_firm(), [eligibility_ip()])
    assert d.limit.zh == ("额度 = min(B级授信线 700万, 产品上限 1,000万, 还款能力 0.5×营业收入 1,000万 = 500万) "
                          "= 500万，受还款能力约束")
    assert d.limit.en == ("limit = min(grade B line 700万, product maximum 1,000万, repayment capacity 0.5 × revenue "
                          "1,000万 = 500万) = 500万, bound by repayment capacity")
    assert d.limit.caps == {"grade_line": 700.0, "product_max": 1000.0, "revenue_capacity": 500.0}
    small = one(eligibility_firm(), [eligibility_ip(appraised_value_wan=20.0)], product="ip_pledge")
    assert small.limit.zh.endswith("；低于产品最低贷款额 10万，不予授信")


def test_decisions_are_reproducible_and_hash_their_inputs() -> None:
    firm, ips = eligibility_firm(), [eligibility_ip()]
    a, b = one(firm, ips), one(firm, ips)
    assert a == b
    assert len(a.input_hash) == 64
    assert one(firm, [eligibility_ip(appraised_value_wan=10.0)]).input_hash != a.input_hash
    assert one(eligibility_firm(name="另一个名字"), ips).input_hash == a.input_hash  # the name is not an input
    assert a.policy_version == LENIENT.version
    assert a.model_version == eligibility_model().model_version_
    assert a.model_source == "trained"


def test_the_input_hash_ignores_the_order_of_ip_rows_and_the_default_status() -> None:
    firm = eligibility_firm()
    ips = [eligibility_ip(), eligibility_ip(kind="utility_model", appraised_value_wan=None),
           eligibility_ip(kind="trademark", granted_on=None, appraised_value_wan=5.0)]
    first = one(firm, ips).input_hash
    assert one(firm, ips[::-1]).input_hash == first
    assert one(firm, [{**ips[1], "status": None}, ips[2], ips[0]]).input_hash == first
    assert one(firm, ips[:2]).input_hash != first


def test_frame_form_has_the_contract_columns_first_and_targets_order() -> None:
    data = eligibility_data([eligibility_firm("F1"), eligibility_firm("F2", rd_staff=0)], [eligibility_ip("F1")])
    frame = assess_frame(data, product="knowledge_value_credit", as_of=AS_OF, model=eligibility_model(),
                         targets=["F2", "F1"], policy=LENIENT)
    assert frame.columns[:9] == ["startup_id", "product", "eligible", "tech_sme_score", "tech_sme_qualified",
                                 "grade", "pd", "credit_limit_wan", "reasons"]
    assert frame.columns == [*CONTRACT_COLUMNS, *EXTRA_COLUMNS]
    assert frame.columns[: len(SCORES_COLUMNS)] == list(SCORES_COLUMNS)
    assert frame["reason_codes"].to_list() == [r.split(";") if r else [] for r in frame["reasons"]]
    assert frame["startup_id"].to_list() == ["F2", "F1"]
    assert frame["reasons"][0].split(";")[0] == "NO_TECH_STAFF_SCORE"


def test_bad_product_and_targets_name_the_field() -> None:
    data = eligibility_data([eligibility_firm()])
    with pytest.raises(InvalidInputError) as info:
        assess_frame(data, product="mortgage", as_of=AS_OF, model=eligibility_model())
    assert info.value.field == "product"
    with pytest.raises(InvalidInputError) as info:
        assess_frame(data, product="other", as_of=AS_OF, model=eligibility_model(), targets=["nope"])
    assert info.value.field == "targets"


def test_default_policy_is_used_when_none_given() -> None:
    d = assess(eligibility_data([eligibility_firm()]), product="other", as_of=AS_OF, model=eligibility_model())[0]
    assert d.policy_version == default_policy().version


def test_a_limit_below_the_product_minimum_is_not_offered() -> None:
    # 25% of an appraised 20万 invention patent is a 5万 pledge line: below the default 10万 minimum.
    small = one(eligibility_firm(), [eligibility_ip(appraised_value_wan=20.0)], product="ip_pledge")
    assert (small.eligible, small.credit_limit_wan) == (False, 0.0)
    assert small.reasons[0].code == "LIMIT_BELOW_MINIMUM" and "10万" in small.reasons[0].zh
    # The minimum is policy data: a bank that books smaller loans lowers it without code.
    with DEFAULT_POLICY_PATH.open("rb") as fh:
        raw: dict[str, Any] = tomllib.load(fh)
    raw["products"]["ip_pledge"]["min_amount_wan"] = 5
    raw["products"]["ip_pledge"]["pd_threshold"] = 1.0
    relaxed = one(eligibility_firm(), [eligibility_ip(appraised_value_wan=20.0)], product="ip_pledge",
                  policy=policy_from_dict(raw))
    assert (relaxed.eligible, relaxed.credit_limit_wan) == (True, 5.0)


@pytest.mark.parametrize("product", ["knowledge_value_credit", "ip_pledge", "other"])
def test_one_firm_alone_gets_the_decision_it_gets_among_many(product: str) -> None:
    """The API's one-row frame and the batch's many rows run one path: the same decision, hash included,
    also for firms with a missing revenue (NaN in the arrays) or sector (issue 10)."""
    firms = [eligibility_firm("F1"), eligibility_firm("F2", revenue_wan=None, rd_staff=5),
             eligibility_firm("F3", sector=None, funding_ask_wan=None), eligibility_firm("F4", credit_flags=2)]
    ips = [eligibility_ip("F1", appraised_value_wan=300.0), eligibility_ip("F2", kind="utility_model"),
           eligibility_ip("F3", status=None, granted_on=None), eligibility_ip("F1", kind="trademark")]
    together = assess(eligibility_data(firms, ips), product=product, as_of=AS_OF, model=eligibility_model())
    for firm, decision in zip(firms, together, strict=True):
        own = [ip for ip in ips if ip["startup_id"] == firm["startup_id"]]
        assert one(firm, own, product=product, policy=default_policy()) == decision
