"""Rescheduling (issue 4): untouched confirmed meetings never move; what changed is reported."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.errors import InfeasibleError, InvalidInputError
from matcher.scheduling import parse_changes, parse_event, reschedule, solve, verify
from matcher.scheduling.generate import generate_event
from matcher.scheduling.reschedule import Changes, apply_changes


def test_a_cancelled_meeting_is_reported_and_the_freed_capacity_reused() -> None:
    # One slot, one table: S1–I1 (0.9) is held; cancelling it lets S2–I2 (0.4) take the table.
    raw: dict[str, Any] = {
        "event_id": "e",
        "tables": 1,
        "slots": [{"slot_id": "a", "start": "2026-12-01T09:00", "end": "2026-12-01T09:20"}],
        "startups": [{"startup_id": "S1"}, {"startup_id": "S2"}],
        "investors": [{"investor_id": "I1"}, {"investor_id": "I2"}],
        "scores": [
            {"startup_id": "S1", "investor_id": "I1", "score": 0.9},
            {"startup_id": "S2", "investor_id": "I2", "score": 0.4},
        ],
    }
    problem = parse_event(raw)
    first = solve(problem, time_limit=5)
    assert [(m.startup_id, m.investor_id) for m in first.meetings] == [("S1", "I1")]
    changes = parse_changes({"cancellations": [{"startup_id": "S1", "investor_id": "I1"}]}, problem)
    changed, second = reschedule(problem, first.meetings, changes, time_limit=5)
    assert [(m.startup_id, m.investor_id) for m in second.meetings] == [("S2", "I2")]
    assert [(m.kind, m.startup_id, m.investor_id, m.old_slot_id, m.new_slot_id, m.reason) for m in second.moves] == [
        ("dropped", "S1", "I1", "a", None, "cancelled"),
        ("added", "S2", "I2", None, "a", "new"),
    ]
    assert ("S1", "I1") in changed.conflicts
    assert ("S1", "I1") not in problem.conflicts  # the original event is untouched
    summary = second.summary(changed)
    assert summary["dropped"][0]["reason"] == "cancelled" and summary["added"][0]["to"]["slot_id"] == "a"
    assert summary["moved"] == [] and summary["mode"] == first.mode


def test_a_late_arrival_moves_its_meeting_to_a_slot_it_can_attend() -> None:
    raw = generate_event(6, 3, 3, seed=0, tables=3)
    problem = parse_event(raw)
    first = solve(problem, time_limit=5)
    target = first.meetings[0]
    late = [s for s in problem.slot_ids if s != target.slot_id]
    changes = parse_changes({"late_arrivals": [{"participant_id": target.investor_id, "available": late}]}, problem)
    changed, second = reschedule(problem, first.meetings, changes, time_limit=5)
    assert all(m.slot_id in late for m in second.meetings if m.investor_id == target.investor_id)
    moved = {(m.startup_id, m.investor_id): m for m in second.moves}
    for m in first.meetings:
        if m.investor_id == target.investor_id and m.slot_id == target.slot_id:
            assert moved[(m.startup_id, m.investor_id)].reason == "availability changed"
    assert verify(changed, second.meetings).valid


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 5000), data=st.data())
def test_rescheduling_never_moves_an_untouched_confirmed_meeting(seed: int, data: st.DataObject) -> None:
    problem = parse_event(generate_event(30, 10, 6, seed=seed))
    first = solve(problem, time_limit=10)
    meetings = list(first.meetings)
    pick = data.draw(st.lists(st.sampled_from(meetings), min_size=3, max_size=3, unique=True))
    cancelled, late, absent = pick
    late_slots = [s for s in problem.slot_ids if s != late.slot_id]
    new_must = data.draw(st.sampled_from(sorted(problem.scores)))
    raw_changes: dict[str, Any] = {
        "cancellations": [{"startup_id": cancelled.startup_id, "investor_id": cancelled.investor_id}],
        "late_arrivals": [{"participant_id": late.investor_id, "available": late_slots}],
        "no_shows": [absent.startup_id],
    }
    with_must = data.draw(st.booleans())
    if with_must:
        raw_changes["must"] = [{"startup_id": new_must[0], "investor_id": new_must[1]}]
    changes = parse_changes(raw_changes, problem)
    untouched = [
        m
        for m in meetings
        if (m.startup_id, m.investor_id) != (cancelled.startup_id, cancelled.investor_id)
        and absent.startup_id != m.startup_id
        and not (m.investor_id == late.investor_id and m.slot_id == late.slot_id)
    ]
    try:
        changed, second = reschedule(problem, meetings, changes, time_limit=10)
    except InfeasibleError as exc:
        assert exc.conflicts  # e.g. the new must hits a participant whose slots are all confirmed
        return
    placed = {(m.startup_id, m.investor_id): (m.slot_id, m.table) for m in second.meetings}
    for m in untouched:
        assert placed[(m.startup_id, m.investor_id)] == (m.slot_id, m.table)
    fixed = {(m.startup_id, m.investor_id): m.slot_id for m in untouched}
    check = verify(changed, second.meetings, fixed=fixed)
    assert check.valid, check.violations
    assert all(m.startup_id != absent.startup_id for m in second.meetings)
    if with_must:
        assert (new_must in placed) or (new_must[0] == absent.startup_id) or (new_must in changed.conflicts)
    assert second.stats["kept"] == len(untouched)


def test_changes_are_validated_with_the_field_named() -> None:
    problem = parse_event(generate_event(4, 2, 2, seed=0))
    with pytest.raises(InvalidInputError) as info:
        parse_changes({"no_shows": ["nobody"]}, problem)
    assert info.value.field == "changes.no_shows[0]"
    with pytest.raises(InvalidInputError) as info:
        parse_changes({"late_arrivals": [{"participant_id": "S1", "available": ["zz"]}]}, problem)
    assert info.value.field == "changes.late_arrivals[0].available"
    with pytest.raises(InvalidInputError):
        parse_changes({"surprise": []}, problem)


def test_a_no_show_loses_its_minimum_and_its_must_requests() -> None:
    raw = generate_event(4, 2, 2, seed=0)
    raw["startups"][0]["min_meetings"] = 1
    raw["requests"] = [{"startup_id": "S1", "investor_id": "I1", "kind": "must"}]
    problem = parse_event(raw)
    changed = apply_changes(problem, Changes(no_shows=frozenset({"S1"})))
    s1 = changed.startup("S1")
    assert (s1.available, s1.min_meetings) == ((), 0)
    assert ("S1", "I1") not in changed.must


def test_a_must_request_blocked_by_confirmed_meetings_says_which() -> None:
    raw: dict[str, Any] = {
        "event_id": "e",
        "tables": 2,
        "slots": [{"slot_id": "a", "start": "2026-12-01T09:00", "end": "2026-12-01T09:20"}],
        "startups": [{"startup_id": "S1"}, {"startup_id": "S2"}],
        "investors": [{"investor_id": "I1"}],
        "scores": [
            {"startup_id": "S1", "investor_id": "I1", "score": 0.9},
            {"startup_id": "S2", "investor_id": "I1", "score": 0.4},
        ],
    }
    problem = parse_event(raw)
    first = solve(problem, time_limit=5)
    changes = parse_changes({"must": [{"startup_id": "S2", "investor_id": "I1"}]}, problem)
    with pytest.raises(InfeasibleError) as info:
        reschedule(problem, first.meetings, changes, time_limit=5)
    assert info.value.conflicts == [
        "must request S2–I1: I1 already has 1 confirmed meetings (max_meetings 1); "
        "raise its maximum or cancel one of them"
    ]
