"""Participants' own side (issue 14, items 1–2): investor keys bound to one institution, availability,
wishes and requests honoured by the solver, and meeting outcomes that become interactions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from api.services.frames import load_dataset
from tests.factories import service_event, service_world
from tests.integration.conftest import Api
from tests.integration.test_api_startups import _problem

EVENT = "2026-12-lotus-01"
E = f"/api/events/{EVENT}"
STARTUPS = ["S_robotics_0", "S_biomedicine_0", "S_new_energy_0"]


@pytest.fixture
def world(api: Api) -> tuple[Api, dict[str, str]]:
    api.load(service_world())
    organiser = api.headers("organiser")
    return api, organiser


def _event(api: Api, organiser: dict[str, str], **overrides: Any) -> None:
    created = api.client.post("/api/events", json=service_event(EVENT, **overrides), headers=organiser)
    assert created.status_code == 201, created.text


def _issue(api: Api, organiser: dict[str, str], **body: Any) -> dict[str, str]:
    issued = api.client.post("/api/keys", json={"name": "参会方", **body}, headers=organiser)
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    return {"Authorization": f"Bearer {issued.json()['api_key']}"}


def _pairs(api: Api, organiser: dict[str, str]) -> set[tuple[str, str]]:
    meetings = api.client.get(f"{E}/meetings", headers=organiser).json()
    return {(m["startup_id"], m["investor_id"]) for m in meetings}


def _solve(api: Api, organiser: dict[str, str]) -> dict[str, Any]:
    solved = api.client.post(f"{E}/schedule", json={"time_limit": 10}, headers=organiser)
    assert solved.status_code == 200, solved.text
    summary: dict[str, Any] = solved.json()["summary"]
    return summary


def test_an_investor_key_sees_and_edits_only_its_own_institution(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    _event(api, organiser)
    robot = _issue(api, organiser, role="investor", investor_id="I_robot")
    bank = _issue(api, organiser, role="investor", investor_id="I_bank")

    me = api.client.get("/api/me", headers=robot).json()
    assert me["role"] == "investor" and me["participant_id"] == "I_robot" and me["name"] == "机器人基金"
    assert [e["event_id"] for e in me["events"]] == [EVENT]

    own = api.client.get("/api/investors/I_robot", headers=robot)
    assert own.status_code == 200 and own.json()["sectors"] == ["智能机器人"]
    edited = api.client.patch(
        "/api/investors/I_robot",
        json={"version": own.json()["version"], "sectors": ["智能机器人", "高端装备"], "stages": ["a"],
              "ticket_min_wan": 300, "ticket_max_wan": 3000},
        headers=robot,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["sectors"] == ["智能机器人", "高端装备"] and edited.json()["ticket_max_wan"] == 3000
    api.train("declared")
    ranked = api.client.get("/api/investors/I_robot/matches?k=3", headers=robot)
    assert ranked.status_code == 200 and len(ranked.json()["items"]) == 3
    # The organiser sees the change: it is the institution's record, not a copy.
    assert api.client.get("/api/investors/I_robot", headers=organiser).json()["stages"] == ["a"]
    _problem(api.client.patch("/api/investors/I_robot", json={"version": 2, "ticket_min_wan": 5000,
                                                               "ticket_max_wan": 100}, headers=robot), 422)

    for method, path, body in [
        ("GET", "/api/investors/I_bio", None),
        ("GET", "/api/investors/I_bio/matches", None),
        ("PATCH", "/api/investors/I_bio", {"version": 1, "sectors": []}),
        ("GET", "/api/banks/I_bank", None),
        ("GET", "/api/investors", None),
        ("GET", f"{E}/participants/I_bio", None),
        ("PUT", f"{E}/participants/I_bio/wishes", {"wishes": []}),
        ("PUT", f"{E}/participants/S_robotics_0/availability", {"available": ["s01"]}),
        ("GET", f"{E}/agenda/I_bio", None),
        ("GET", f"{E}/wishes", None),
        ("POST", "/api/keys", {"role": "investor", "name": "x", "investor_id": "I_robot"}),
    ]:
        _problem(api.client.request(method, path, json=body, headers=robot), 403)
    assert api.client.get("/api/investors/I_bio", headers=organiser).json()["sectors"] == ["生物医药"]

    # A bank's participant key edits its own products' terms, and only those.
    assert {p["product_id"] for p in api.client.get("/api/products", headers=bank).json()} == {"P_kv", "P_pledge"}
    assert api.client.get("/api/products", headers=robot).json() == []
    product = api.client.get("/api/products/P_kv", headers=bank).json()
    terms = api.client.patch("/api/products/P_kv", json={"version": product["version"], "max_amount_wan": 800,
                                                         "max_term_months": 24}, headers=bank)
    assert terms.status_code == 200 and terms.json()["max_amount_wan"] == 800
    _problem(api.client.patch("/api/products/P_other_bank", json={"version": 1, "max_amount_wan": 1}, headers=bank),
             403)
    assert api.client.get("/api/products/P_other_bank", headers=organiser).json()["max_amount_wan"] == 300
    # An organiser cannot issue staff keys; a key for no institution is refused naming the field.
    _problem(api.client.post("/api/keys", json={"role": "organiser", "name": "x"}, headers=organiser), 403)
    _problem(api.client.post("/api/keys", json={"role": "investor", "name": "x"}, headers=organiser), 422,
             "investor_id")
    _problem(api.client.post("/api/keys", json={"role": "investor", "name": "x", "investor_id": "I_nobody"},
                             headers=organiser), 422, "investor_id")
    _problem(api.client.post("/api/keys", json={"role": "boss", "name": "x"}, headers=organiser), 400, "role")


def test_issuing_a_key_is_idempotent_and_revocable(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    body = {"role": "investor", "name": "机器人基金", "investor_id": "I_robot"}
    retry = {**organiser, "Idempotency-Key": "issue-robot-1"}
    first = api.client.post("/api/keys", json=body, headers=retry)
    again = api.client.post("/api/keys", json=body, headers=retry)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    _problem(api.client.post("/api/keys", json={**body, "name": "另一个"}, headers=retry), 422, "Idempotency-Key")
    key = {"Authorization": f"Bearer {first.json()['api_key']}"}
    assert api.client.get("/api/investors/I_robot", headers=key).status_code == 200
    assert api.client.delete(f"/api/keys/{first.json()['key_id']}", headers=organiser).status_code == 204
    assert api.client.get("/api/investors/I_robot", headers=key).status_code == 401


def test_a_no_becomes_a_conflict_the_solver_respects(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    _event(api, organiser)
    assert ("S_robotics_0", "I_robot") in (_solve(api, organiser) and _pairs(api, organiser))
    robot = _issue(api, organiser, role="investor", investor_id="I_robot")
    said = api.client.put(f"{E}/participants/I_robot/wishes",
                          json={"wishes": [{"counterpart_id": "S_robotics_0", "kind": "no"}]}, headers=robot)
    assert said.status_code == 200, said.text
    assert said.json()["wishes"][0]["kind"] == "no" and said.json()["wishes"][0]["startup_name"] == "智能机器人0"

    _solve(api, organiser)
    assert ("S_robotics_0", "I_robot") not in _pairs(api, organiser)
    # The stored event stays the organiser's own: the no-thanks is honoured by each solve, not written in.
    assert api.client.get(E, headers=organiser).json()["conflicts"] == []
    seen = api.client.get(f"{E}/wishes", headers=organiser).json()
    assert [(w["startup_id"], w["investor_id"], w["by_side"], w["kind"]) for w in seen] == [
        ("S_robotics_0", "I_robot", "investor", "no")
    ]
    # Taking it back: the next solve may pair them again.
    assert api.client.put(f"{E}/participants/I_robot/wishes", json={"wishes": []}, headers=robot).status_code == 200
    _solve(api, organiser)
    assert ("S_robotics_0", "I_robot") in _pairs(api, organiser)


def test_an_accepted_request_becomes_a_meeting(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    # One meeting per startup: without a must, each meets its best partner (0.9 against 0.2).
    _event(api, organiser, startups=[{"startup_id": s, "max_meetings": 1} for s in STARTUPS])
    startup = api.headers("startup", startup_id="S_robotics_0")
    bio = _issue(api, organiser, role="investor", investor_id="I_bio")
    asked = api.client.put(f"{E}/participants/S_robotics_0/wishes",
                           json={"wishes": [{"counterpart_id": "I_bio", "kind": "must"}]}, headers=startup)
    assert asked.status_code == 200 and asked.json()["wishes"][0]["status"] == "pending"
    received = api.client.get(f"{E}/participants/I_bio", headers=bio).json()["requests"]
    assert [(r["startup_name"], r["kind"], r["status"]) for r in received] == [("智能机器人0", "must", "pending")]

    # Pending, a request is only a wish (0.2 + 0.25 bonus < 0.9): not planned.
    _solve(api, organiser)
    assert ("S_robotics_0", "I_bio") not in _pairs(api, organiser)

    accepted = api.client.put(f"{E}/participants/I_bio/requests/S_robotics_0", json={"answer": "accepted"},
                              headers=bio)
    assert accepted.status_code == 200 and accepted.json()["requests"][0]["status"] == "accepted"
    assert api.client.get(f"{E}/participants/S_robotics_0", headers=startup).json()["wishes"][0]["status"] == \
        "accepted"
    summary = _solve(api, organiser)
    assert ("S_robotics_0", "I_bio") in _pairs(api, organiser) and summary["meetings"] == 3
    agenda = api.client.get(f"{E}/agenda/S_robotics_0", headers=startup).json()
    assert [m["investor_name"] for m in agenda["meetings"]] == ["生物医药基金"]

    declined = api.client.put(f"{E}/participants/I_bio/requests/S_robotics_0", json={"answer": "declined"},
                              headers=bio)
    assert declined.json()["requests"][0]["status"] == "declined"
    _solve(api, organiser)
    assert ("S_robotics_0", "I_bio") not in _pairs(api, organiser)
    _problem(api.client.put(f"{E}/participants/I_bio/requests/S_biomedicine_0", json={"answer": "accepted"},
                            headers=bio), 404)
    _problem(api.client.put(f"{E}/participants/I_bio/requests/S_robotics_0", json={"answer": "maybe"},
                            headers=bio), 400, "answer")


def test_two_requests_for_the_same_meeting_accept_each_other(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    _event(api, organiser, startups=[{"startup_id": s, "max_meetings": 1} for s in STARTUPS])
    startup = api.headers("startup", startup_id="S_new_energy_0")
    bio = api.headers("investor", investor_id="I_bio")
    for who, pid, counterpart in ((startup, "S_new_energy_0", "I_bio"), (bio, "I_bio", "S_new_energy_0")):
        body = {"wishes": [{"counterpart_id": counterpart, "kind": "must"}]}
        assert api.client.put(f"{E}/participants/{pid}/wishes", json=body, headers=who).status_code == 200
    _solve(api, organiser)
    assert ("S_new_energy_0", "I_bio") in _pairs(api, organiser)


def test_wishes_within_the_organisers_limits(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    _event(api, organiser)
    robot = api.headers("investor", investor_id="I_robot")
    limits = api.client.put(f"{E}/wish-limits", json={"max_must": 1, "max_no": 1}, headers=organiser)
    assert limits.status_code == 200 and limits.json()["max_must"] == 1
    two = {"wishes": [{"counterpart_id": s, "kind": "must"} for s in STARTUPS[:2]]}
    body = _problem(api.client.put(f"{E}/participants/I_robot/wishes", json=two, headers=robot), 422, "wishes")
    assert "at most 1" in body["detail"]
    _problem(api.client.put(f"{E}/participants/I_robot/wishes",
                            json={"wishes": [{"counterpart_id": "I_bio", "kind": "wish"}]}, headers=robot),
             422, "wishes[0].counterpart_id")
    _problem(api.client.put(f"{E}/participants/I_robot/wishes",
                            json={"wishes": [{"counterpart_id": "S_robotics_0", "kind": "wish"},
                                             {"counterpart_id": "S_robotics_0", "kind": "no"}]}, headers=robot),
             422, "wishes[1].counterpart_id")
    _problem(api.client.put(f"{E}/participants/I_robot/wishes",
                            json={"wishes": [{"counterpart_id": "S_robotics_0", "kind": "maybe"}]}, headers=robot),
             400, "wishes[0].kind")
    _problem(api.client.put(f"{E}/participants/I_robot/availability", json={"available": ["s09"]}, headers=robot),
             422, "available[0]")
    _problem(api.client.put(f"{E}/wish-limits", json={"max_must": -1}, headers=organiser), 400, "max_must")
    _problem(api.client.get("/api/events/nope/participants/I_robot", headers=robot), 404)
    _problem(api.client.get(f"{E}/participants/I_bank", headers=api.headers("investor", investor_id="I_bank")), 404)

    available = api.client.put(f"{E}/participants/I_robot/availability", json={"available": ["s03", "s01"]},
                               headers=robot)
    assert available.status_code == 200 and available.json()["available"] == ["s01", "s03"]
    investors = api.client.get(E, headers=organiser).json()["investors"]
    assert next(i for i in investors if i["investor_id"] == "I_robot")["available"] == ["s01", "s03"]
    _solve(api, organiser)
    slots = {m["slot_id"] for m in api.client.get(f"{E}/agenda/I_robot", headers=robot).json()["meetings"]}
    assert slots <= {"s01", "s03"}

    # After the organiser closes wishes, only the organiser changes them.
    closed = api.client.put(f"{E}/wish-limits", json={"closes_at": "2026-01-01T00:00:00+08:00"}, headers=organiser)
    assert closed.status_code == 200
    one = {"wishes": [{"counterpart_id": "S_robotics_0", "kind": "wish"}]}
    _problem(api.client.put(f"{E}/participants/I_robot/wishes", json=one, headers=robot), 409)
    assert api.client.put(f"{E}/participants/I_robot/wishes", json=one, headers=organiser).status_code == 200
    assert api.client.get(f"{E}/participants/I_robot", headers=robot).json()["open"] is False


def _interactions(api: Api) -> list[dict[str, Any]]:
    async def work() -> list[dict[str, Any]]:
        async with api.state.sessions() as session, session.begin():
            data = await load_dataset(session, tables=("interactions",))
        return data.interactions.filter(data.interactions["event_id"] == EVENT).sort("outcome").to_dicts()

    return api.run(work)


def test_outcomes_become_interactions_and_corrections_are_new_records(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    _event(api, organiser)
    _solve(api, organiser)
    pairs = _pairs(api, organiser)
    assert ("S_robotics_0", "I_robot") in pairs and ("S_biomedicine_0", "I_bio") in pairs
    robot = api.headers("investor", investor_id="I_robot")
    startup = api.headers("startup", startup_id="S_robotics_0")
    day = "2026-12-01"

    held = api.client.post(f"{E}/outcomes", json={"startup_id": "S_robotics_0", "investor_id": "I_robot",
                                                   "outcome": "held"}, headers=startup)
    assert held.status_code == 201, held.text
    assert held.json()["recorded_role"] == "startup" and held.json()["scheduled"] is True
    assert [(i["outcome"], i["occurred_on"]) for i in held.json()["interactions"]] == [("met", day)]

    signed = api.client.post(f"{E}/outcomes", json={"startup_id": "S_robotics_0", "investor_id": "I_robot",
                                                     "outcome": "intent_signed", "amount_wan": 800, "on": day},
                             headers=robot)
    assert signed.status_code == 201, signed.text
    rows = _interactions(api)
    # What the trainer reads (load_dataset, as api.services.training does): the intent, with its event.
    assert [(r["startup_id"], r["investor_id"], r["outcome"], r["amount_wan"], r["occurred_on"]) for r in rows] == [
        ("S_robotics_0", "I_robot", "intent_signed", 800.0, date(2026, 12, 1))
    ]
    assert rows[0]["stage"] == "a"

    # A no-show from the other meeting, reported by the organiser; the contract's outcome is `requested`.
    absent = api.client.post(f"{E}/outcomes", json={"startup_id": "S_biomedicine_0", "investor_id": "I_bio",
                                                     "outcome": "no_show", "no_show": "investor"}, headers=organiser)
    assert absent.status_code == 201 and absent.json()["interactions"][0]["outcome"] == "requested"

    # A correction is a new record: the history keeps who said what, the interactions follow the latest.
    corrected = api.client.post(f"{E}/outcomes", json={"startup_id": "S_robotics_0", "investor_id": "I_robot",
                                                        "outcome": "interested"}, headers=organiser)
    assert corrected.status_code == 201
    history = api.client.get(f"{E}/outcomes?history=true", headers=organiser).json()
    mine = [h for h in history if h["investor_id"] == "I_robot"]
    assert [(h["outcome"], h["recorded_role"], h["current"]) for h in mine] == [
        ("held", "startup", False), ("intent_signed", "investor", False), ("interested", "organiser", True)
    ]
    assert mine[1]["amount_wan"] == 800 and mine[0]["recorded_at"] <= mine[2]["recorded_at"]
    current = api.client.get(f"{E}/outcomes", headers=organiser).json()
    assert sorted((c["startup_id"], c["outcome"]) for c in current) == [
        ("S_biomedicine_0", "no_show"), ("S_robotics_0", "interested")
    ]
    assert {(r["investor_id"], r["outcome"]) for r in _interactions(api)} == {
        ("I_robot", "interested"), ("I_bio", "requested")
    }
    # A participant sees only its own meetings' outcomes.
    assert {o["investor_id"] for o in api.client.get(f"{E}/outcomes", headers=robot).json()} == {"I_robot"}

    invested = api.client.post(f"{E}/outcomes", json={"startup_id": "S_robotics_0", "investor_id": "I_robot",
                                                       "outcome": "invested", "amount_wan": 600}, headers=robot)
    assert sorted(i["outcome"] for i in invested.json()["interactions"]) == ["intent_signed", "invested"]


def test_bad_outcomes_name_the_field_and_only_meetings_are_reported(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    _event(api, organiser)
    _solve(api, organiser)
    pairs = _pairs(api, organiser)
    robot = api.headers("investor", investor_id="I_robot")
    bio = api.headers("investor", investor_id="I_bio")
    pair = {"startup_id": "S_robotics_0", "investor_id": "I_robot"}
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    for body, status, field in [
        ({**pair, "outcome": "no_show"}, 422, "no_show"),
        ({**pair, "outcome": "held", "no_show": "startup"}, 422, "no_show"),
        ({**pair, "outcome": "intent_signed"}, 422, "amount_wan"),
        ({**pair, "outcome": "held", "amount_wan": 10}, 422, "amount_wan"),
        ({**pair, "outcome": "intent_signed", "amount_wan": 10, "on": tomorrow}, 422, "on"),
        ({**pair, "outcome": "intent_signed", "amount_wan": 10, "on": "2026-11-01"}, 422, "on"),
        ({**pair, "outcome": "intent_signed", "amount_wan": -5}, 400, "amount_wan"),
        ({**pair, "outcome": "met"}, 400, "outcome"),
        ({**pair, "outcome": "held", "on": "yesterday"}, 400, "on"),
        ({"startup_id": "S_nobody", "investor_id": "I_robot", "outcome": "intent_signed", "amount_wan": 5},
         422, "startup_id"),
    ]:
        _problem(api.client.post(f"{E}/outcomes", json=body, headers=robot), status, field)
    _problem(api.client.post(f"{E}/outcomes", json={**pair, "outcome": "held"}, headers=bio), 403)
    _problem(api.client.post("/api/events/nope/outcomes", json={**pair, "outcome": "held"}, headers=robot), 404)

    # Outside the schedule's meetings only an organiser records, and only a signed intent.
    unplanned = next((s, i) for s in STARTUPS for i in ("I_robot", "I_bio", "I_energy") if (s, i) not in pairs)
    off = {"startup_id": unplanned[0], "investor_id": unplanned[1]}
    _problem(api.client.post(f"{E}/outcomes", json={**off, "outcome": "held"}, headers=organiser), 422,
             "investor_id")
    intent = api.client.post(f"{E}/outcomes", json={**off, "outcome": "intent_signed", "amount_wan": 1000},
                             headers=organiser)
    assert intent.status_code == 201 and intent.json()["scheduled"] is False
    assert intent.json()["interactions"][0]["outcome"] == "intent_signed"
    other = api.headers("investor", investor_id=unplanned[1])
    _problem(api.client.post(f"{E}/outcomes", json={**off, "outcome": "interested"}, headers=other), 422,
             "investor_id")

    # A batch is all or none, naming the item.
    before = len(api.client.get(f"{E}/outcomes?history=true", headers=organiser).json())
    batch = {"items": [{**pair, "outcome": "held"}, {**pair, "outcome": "intent_signed"}]}
    _problem(api.client.post(f"{E}/outcomes/batch", json=batch, headers=organiser), 422, "items[1].amount_wan")
    assert len(api.client.get(f"{E}/outcomes?history=true", headers=organiser).json()) == before
    ok = api.client.post(f"{E}/outcomes/batch", json={"items": [{**pair, "outcome": "held"}]}, headers=organiser)
    assert ok.status_code == 201 and len(ok.json()) == 1


def test_reporting_an_outcome_is_idempotent(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    _event(api, organiser)
    _solve(api, organiser)
    robot = {**api.headers("investor", investor_id="I_robot"), "Idempotency-Key": "outcome-robot-1"}
    body = {"startup_id": "S_robotics_0", "investor_id": "I_robot", "outcome": "intent_signed", "amount_wan": 500}
    first = api.client.post(f"{E}/outcomes", json=body, headers=robot)
    again = api.client.post(f"{E}/outcomes", json=body, headers=robot)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert len(api.client.get(f"{E}/outcomes?history=true", headers=organiser).json()) == 1
    _problem(api.client.post(f"{E}/outcomes", json={**body, "amount_wan": 600}, headers=robot), 422,
             "Idempotency-Key")


def test_recorded_outcomes_are_the_roadshows_results(world: tuple[Api, dict[str, str]]) -> None:
    api, organiser = world
    _event(api, organiser)
    _solve(api, organiser)
    meetings = sorted(_pairs(api, organiser))
    assert len(meetings) == 6
    (s1, i1), (s2, i2), (s3, i3) = meetings[:3]
    batch = {"items": [
        {"startup_id": s1, "investor_id": i1, "outcome": "intent_signed", "amount_wan": 800},
        {"startup_id": s2, "investor_id": i2, "outcome": "no_show", "no_show": "startup"},
        {"startup_id": s3, "investor_id": i3, "outcome": "held"},
    ]}
    assert api.client.post(f"{E}/outcomes/batch", json=batch, headers=organiser).status_code == 201
    # A correction of the intent's amount counts once, at its latest value.
    fixed = {"startup_id": s1, "investor_id": i1, "outcome": "intent_signed", "amount_wan": 900}
    assert api.client.post(f"{E}/outcomes", json=fixed, headers=organiser).status_code == 201
    results = api.client.get(f"{E}/results", headers=organiser)
    assert results.status_code == 200, results.text
    totals = results.json()["totals"]
    assert (totals["meetings_planned"], totals["meetings_held"], totals["no_shows"], totals["not_recorded"]) == (
        6, 2, 1, 3
    )
    assert (totals["intents"], totals["intent_wan"]) == (1, 900.0)


def test_a_solve_keeps_availability_changed_while_it_ran(world: tuple[Api, dict[str, str]]) -> None:
    from api.services import events

    api, organiser = world
    _event(api, organiser)
    _solve(api, organiser)

    async def before() -> tuple[Any, Any, int]:
        async with api.state.sessions() as session:
            found = await events.scheduled(session, event_id=EVENT)
            async with session.begin():
                version = (await events._load(session, EVENT)).version
        return found.problem, found.schedule, version

    problem, schedule, version = api.run(before)
    robot = api.headers("investor", investor_id="I_robot")
    moved = api.client.put(f"{E}/participants/I_robot/availability", json={"available": ["s02"]}, headers=robot)
    assert moved.status_code == 200

    async def store_the_solve_that_read_the_old_document() -> None:
        async with api.state.sessions() as session, session.begin():
            await events._store(session, EVENT, problem, schedule, replace_document=False, read_version=version)

    api.run(store_the_solve_that_read_the_old_document)
    investors = api.client.get(E, headers=organiser).json()["investors"]
    assert next(i for i in investors if i["investor_id"] == "I_robot")["available"] == ["s02"]
