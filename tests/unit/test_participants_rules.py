"""The library rules behind participants' side (issue 14): wishes honoured by the solver, and meeting
outcome reports turned into interactions."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.errors import InvalidInputError
from matcher.outcomes import MEETING_OUTCOMES, OutcomeReport, check_report, current_outcomes, meeting_interactions
from matcher.scheduling import parse_event, solve
from matcher.scheduling.wishes import StatedWish, WishLimits, honour_wishes, without_wishes

DAY = date(2026, 5, 20)
TODAY = date(2026, 6, 1)


def _event(**overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_id": "e1", "tables": 2,
        "slots": [{"slot_id": f"s{k}", "start": f"2026-05-20T14:{10 * k:02d}", "end": f"2026-05-20T14:{10 * k + 9}"}
                  for k in range(1, 4)],
        "startups": [{"startup_id": s, "max_meetings": 1} for s in ("S1", "S2")],
        "investors": [{"investor_id": i} for i in ("I1", "I2")],
        "scores": [{"startup_id": "S1", "investor_id": "I1", "score": 0.9},
                   {"startup_id": "S1", "investor_id": "I2", "score": 0.1},
                   {"startup_id": "S2", "investor_id": "I1", "score": 0.2},
                   {"startup_id": "S2", "investor_id": "I2", "score": 0.8}],
    }
    event.update(overrides)
    return event


def _pairs(problem: object) -> set[tuple[str, str]]:
    return {(m.startup_id, m.investor_id) for m in solve(problem, time_limit=10).meetings}  # type: ignore[arg-type]


def test_each_kind_of_wish_is_honoured_by_its_rule() -> None:
    base = parse_event(_event())
    assert _pairs(base) == {("S1", "I1"), ("S2", "I2")}
    no = honour_wishes(base, [StatedWish("S1", "I1", "investor", "no")])
    assert no.problem.conflicts == {("S1", "I1")} and ("S1", "I1") not in _pairs(no.problem)

    pending = honour_wishes(base, [StatedWish("S1", "I2", "startup", "must", "pending")])
    assert pending.problem.must == frozenset() and pending.problem.wish == {("S1", "I2")}
    accepted = honour_wishes(base, [StatedWish("S1", "I2", "startup", "must", "accepted")])
    assert accepted.problem.must == {("S1", "I2")} and ("S1", "I2") in _pairs(accepted.problem)
    declined = honour_wishes(base, [StatedWish("S1", "I2", "startup", "must", "declined")])
    assert declined.problem == base
    mutual = honour_wishes(base, [StatedWish("S1", "I2", "startup", "must", "pending"),
                                  StatedWish("S1", "I2", "investor", "must", "pending")])
    assert mutual.problem.must == {("S1", "I2")}
    # A no from either side beats a request; someone no longer at the event is ignored.
    both = honour_wishes(base, [StatedWish("S1", "I2", "startup", "must", "accepted"),
                                StatedWish("S1", "I2", "investor", "no"), StatedWish("S9", "I1", "startup", "no")])
    assert both.problem.must == frozenset() and both.problem.conflicts == {("S1", "I2")}


def test_the_organisers_own_terms_survive_the_wishes() -> None:
    base = parse_event(_event(requests=[{"startup_id": "S2", "investor_id": "I1", "kind": "must"}],
                              conflicts=[{"startup_id": "S1", "investor_id": "I2"}]))
    honoured = honour_wishes(base, [StatedWish("S2", "I1", "investor", "no"),
                                    StatedWish("S1", "I2", "startup", "no"),
                                    StatedWish("S1", "I1", "investor", "wish")])
    # The organiser's must stays (a participant's no does not override it); nothing is added twice.
    assert honoured.problem.must == {("S2", "I1")} and honoured.conflicts == frozenset()
    assert without_wishes(honoured.problem, honoured) == base


def test_limits_name_the_field() -> None:
    WishLimits(must=1).check(["must", "wish", "no"])
    with pytest.raises(InvalidInputError, match="at most 1") as raised:
        WishLimits(must=1).check(["must", "must"], field="wishes")
    assert raised.value.field == "wishes"


@pytest.mark.parametrize(("report", "field"), [
    (OutcomeReport("S1", "I1", "no_show"), "no_show"),
    (OutcomeReport("S1", "I1", "held", no_show="startup"), "no_show"),
    (OutcomeReport("S1", "I1", "intent_signed"), "amount_wan"),
    (OutcomeReport("S1", "I1", "invested", amount_wan=float("nan")), "amount_wan"),
    (OutcomeReport("S1", "I1", "interested", amount_wan=5.0), "amount_wan"),
    (OutcomeReport("S1", "I1", "intent_signed", amount_wan=5.0, on=date(2026, 5, 19)), "on"),
    (OutcomeReport("S1", "I1", "intent_signed", amount_wan=5.0, on=date(2026, 6, 2)), "on"),
    (OutcomeReport("S1", "I1", "met"), "outcome"),  # type: ignore[arg-type]
])
def test_a_bad_report_names_its_field(report: OutcomeReport, field: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        check_report(report, event_day=DAY, today=TODAY, where="items[2]")
    assert raised.value.field == f"items[2].{field}"


def test_reports_become_the_contracts_interactions() -> None:
    reports = [
        check_report(OutcomeReport("S1", "I1", "held"), event_day=DAY, today=TODAY),
        check_report(OutcomeReport("S1", "I1", "intent_signed", amount_wan=800.0), event_day=DAY, today=TODAY),
        check_report(OutcomeReport("S1", "I1", "invested", amount_wan=800.0, on=date(2026, 5, 30)),
                     event_day=DAY, today=TODAY),
        check_report(OutcomeReport("S2", "I1", "no_show", no_show="investor"), event_day=DAY, today=TODAY),
        check_report(OutcomeReport("S2", "I2", "declined"), event_day=DAY, today=TODAY),
    ]
    rows = meeting_interactions(current_outcomes(reports, event_day=DAY, stages={"S1": "a"}), DAY, event_id="e1")
    got = sorted((r["startup_id"], r["investor_id"], r["outcome"], r["occurred_on"], r["amount_wan"], r["event_id"])
                 for r in rows.iter_rows(named=True))
    assert got == [
        ("S1", "I1", "intent_signed", DAY, 800.0, "e1"),
        ("S1", "I1", "invested", date(2026, 5, 30), 800.0, "e1"),
        ("S2", "I1", "requested", DAY, None, "e1"),
        ("S2", "I2", "declined", DAY, None, "e1"),
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["S1", "S2"]), st.sampled_from(["held", "declined", "interested"])),
                min_size=1, max_size=12))
def test_the_current_outcome_is_the_latest_report(reports: list[tuple[str, str]]) -> None:
    made = [OutcomeReport(s, "I1", o) for s, o in reports]  # type: ignore[arg-type]
    frame = current_outcomes(made, event_day=DAY)
    latest = {s: o for s, o in reports}
    as_contract = {"held": "met", "declined": "declined", "interested": "interested"}
    assert dict(zip(frame["startup_id"], frame["outcome"], strict=True)) == {s: as_contract[o]
                                                                            for s, o in latest.items()}
    assert set(MEETING_OUTCOMES) >= set(latest.values())


_PAIRS = st.tuples(st.sampled_from(["S1", "S2"]), st.sampled_from(["I1", "I2"]))
_WISHES = st.lists(st.builds(
    StatedWish, st.sampled_from(["S1", "S2"]), st.sampled_from(["I1", "I2"]), st.sampled_from(["startup", "investor"]),
    st.sampled_from(["must", "wish", "no"]), st.sampled_from([None, "pending", "accepted", "declined"])), max_size=8)


@settings(max_examples=80, deadline=None)
@given(_WISHES, st.lists(_PAIRS, max_size=2))
def test_honouring_wishes_keeps_its_invariants(wishes: list[StatedWish], own_must: list[tuple[str, str]]) -> None:
    base = parse_event(_event(requests=[{"startup_id": s, "investor_id": i, "kind": "must"} for s, i in own_must]))
    honoured = honour_wishes(base, wishes)
    refused = {w.pair for w in wishes if w.kind == "no"}
    # Every no-thanks is a conflict unless the organiser requires the pair; a conflict is never a must.
    assert refused - base.must <= honoured.problem.conflicts
    assert not honoured.problem.must & honoured.problem.conflicts
    assert base.must <= honoured.problem.must  # the organiser's own terms stay
    assert without_wishes(honoured.problem, honoured) == base
