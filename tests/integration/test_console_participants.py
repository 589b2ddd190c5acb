"""The participants' console pages (issue 14): an investor's own roadshow page (availability, wishes,
requests, outcomes), its preferences, and the organiser's view of every wish and outcome."""

from __future__ import annotations

import pytest

from tests.factories import service_event, service_world
from tests.integration.conftest import Api
from tests.integration.test_console import _csrf, _key, _sign_in

EVENT = "2026-12-lotus-01"
PAGE = f"/console/me/events/{EVENT}"


@pytest.fixture
def world(api: Api) -> Api:
    api.load(service_world())
    organiser = api.headers("organiser")
    assert api.client.post("/api/events", json=service_event(EVENT), headers=organiser).status_code == 201
    return api


def _post(api: Api, path: str, data: dict[str, object], page: str = PAGE) -> object:
    return api.client.post(path, data={**data, "_csrf_token": _csrf(api, page)}, follow_redirects=True)


def test_an_investor_states_wishes_answers_a_request_and_records_an_outcome(world: Api) -> None:
    api = world
    startup = api.headers("startup", startup_id="S_robotics_0")
    asked = api.client.put(f"/api/events/{EVENT}/participants/S_robotics_0/wishes",
                           json={"wishes": [{"counterpart_id": "I_bio", "kind": "must"}]}, headers=startup)
    assert asked.status_code == 200
    assert _sign_in(api, _key(api, "investor", investor_id="I_bio")).status_code == 303
    home = api.client.get("/console")
    assert home.url.path == "/console/me" and "生物医药基金" in home.text and EVENT in home.text
    page = api.client.get(PAGE)
    assert page.status_code == 200 and "智能机器人0" in page.text and "待回复" in page.text

    saved = _post(api, f"{PAGE}/wishes", {"wish.S_new_energy_0": "no", "wish.S_biomedicine_0": "wish"})
    assert saved.status_code == 200  # type: ignore[attr-defined]
    accepted = _post(api, f"{PAGE}/requests/S_robotics_0", {"answer": "accepted"})
    assert "已接受" in accepted.text  # type: ignore[attr-defined]
    available = _post(api, f"{PAGE}/availability", {"available": ["s01", "s02"]})
    assert available.status_code == 200  # type: ignore[attr-defined]
    view = api.client.get(f"/api/events/{EVENT}/participants/I_bio", headers=api.headers("organiser")).json()
    assert view["available"] == ["s01", "s02"]
    assert {(w["startup_id"], w["kind"]) for w in view["wishes"]} == {("S_new_energy_0", "no"),
                                                                      ("S_biomedicine_0", "wish")}
    assert view["requests"][0]["status"] == "accepted"

    organiser = api.headers("organiser")
    solved = api.client.post(f"/api/events/{EVENT}/schedule", json={"time_limit": 10}, headers=organiser)
    assert solved.status_code == 200, solved.text
    page = api.client.get(PAGE)
    assert "智能机器人0" in page.text and "outcome-form" in page.text
    missing = _post(api, f"{PAGE}/outcomes", {"counterpart_id": "S_robotics_0", "outcome": "intent_signed"})
    assert "amount_wan" in missing.text and 'role="alert"' in missing.text  # type: ignore[attr-defined]
    recorded = _post(api, f"{PAGE}/outcomes", {"counterpart_id": "S_robotics_0", "outcome": "intent_signed",
                                               "amount_wan": "600"})
    assert "600.0 万元" in recorded.text  # type: ignore[attr-defined]
    outcome = api.client.get(f"/api/events/{EVENT}/outcomes", headers=organiser).json()
    assert [(o["startup_id"], o["outcome"], o["amount_wan"]) for o in outcome] == [
        ("S_robotics_0", "intent_signed", 600.0)
    ]
    assert api.client.get(f"/console/events/{EVENT}/participation").status_code == 403


def test_the_organiser_sees_every_wish_and_records_an_intent_outside_the_grid(world: Api) -> None:
    api = world
    robot = api.headers("investor", investor_id="I_robot")
    api.client.put(f"/api/events/{EVENT}/participants/I_robot/wishes",
                   json={"wishes": [{"counterpart_id": "S_biomedicine_0", "kind": "no"}]}, headers=robot)
    assert _sign_in(api, _key(api, "organiser")).status_code == 303
    path = f"/console/events/{EVENT}/participation"
    page = api.client.get(path)
    assert page.status_code == 200 and "机器人基金" in page.text and "不见" in page.text
    assert "participation-link" in api.client.get(f"/console/events/{EVENT}").text
    limited = _post(api, f"/console/events/{EVENT}/wish-limits", {"max_must": "1", "max_wish": "4", "max_no": "2"},
                    page=path)
    assert 'value="1"' in limited.text  # type: ignore[attr-defined]
    recorded = _post(api, f"/console/events/{EVENT}/outcomes",
                     {"startup_id": "S_biomedicine_0", "investor_id": "I_energy", "outcome": "intent_signed",
                      "amount_wan": "1200"}, page=path)
    assert "表外" in recorded.text and "1200" in recorded.text  # type: ignore[attr-defined]


def test_an_investor_edits_its_preferences_and_a_bank_its_products_terms(world: Api) -> None:
    api = world
    assert _sign_in(api, _key(api, "investor", investor_id="I_bank")).status_code == 303
    page = api.client.get("/console/me")
    assert "知识价值信用贷" in page.text
    saved = _post(api, "/console/me/products/P_kv", {"version": "1", "max_amount_wan": "900",
                                                      "max_term_months": "24"}, page="/console/me")
    assert "已保存" in saved.text  # type: ignore[attr-defined]
    other = _post(api, "/console/me/products/P_other_bank", {"version": "1", "max_amount_wan": "1"},
                  page="/console/me")
    assert other.status_code == 403  # type: ignore[attr-defined]
    prefs = _post(api, "/console/me/preferences", {"version": "1", "sectors": "金融科技，智能机器人",
                                                    "ticket_min_wan": "100", "ticket_max_wan": "50"},
                  page="/console/me")
    assert 'role="alert"' in prefs.text  # type: ignore[attr-defined]  # the plausibility rule: min ≤ max
    prefs = _post(api, "/console/me/preferences", {"version": "1", "sectors": "金融科技，智能机器人",
                                                    "ticket_min_wan": "100", "ticket_max_wan": "5000"},
                  page="/console/me")
    assert "已保存" in prefs.text  # type: ignore[attr-defined]
    bank = api.client.get("/api/banks/I_bank", headers=api.headers("organiser")).json()
    assert bank["sectors"] == ["金融科技", "智能机器人"] and bank["ticket_max_wan"] == 5000
