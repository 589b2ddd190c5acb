"""Consents that flow (issue 10): imported from consents.csv, a bank lists and reads exactly the
startups consenting to it today, revocation takes effect at once and stays in the history; one set of
plausibility rules refuses impossible profiles over HTTP as validate/import do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import polars as pl

from matcher.io import from_frames
from tests.factories import service_world
from tests.integration.conftest import Api
from tests.integration.test_api_startups import _problem, _register

TODAY = datetime.now(UTC).date()


def _world_with_consents() -> tuple[object, list[str]]:
    world = service_world()
    ids = world.startups["startup_id"].to_list()
    rows = [
        {"startup_id": ids[0], "bank_id": "I_bank", "granted_on": date(2024, 1, 1), "revoked_on": None},
        {"startup_id": ids[1], "bank_id": "I_bank", "granted_on": date(2024, 2, 1), "revoked_on": None},
        # Revoked last year: no longer in force, but kept as history.
        {"startup_id": ids[2], "bank_id": "I_bank", "granted_on": date(2023, 1, 1), "revoked_on": date(2024, 6, 1)},
        # Granted to the other bank only.
        {"startup_id": ids[3], "bank_id": "I_bank2", "granted_on": date(2024, 1, 1), "revoked_on": None},
        # Granted from tomorrow: not yet in force.
        {"startup_id": ids[4], "bank_id": "I_bank", "granted_on": TODAY + timedelta(days=1), "revoked_on": None},
    ]
    consents = from_frames(consents=pl.DataFrame(rows, schema={"startup_id": pl.Utf8, "bank_id": pl.Utf8,
                                                                "granted_on": pl.Date, "revoked_on": pl.Date}))
    return dataclasses.replace(world, consents=consents.consents), ids


def test_a_bank_lists_and_reads_exactly_the_consenting_startups(api: Api) -> None:
    world, ids = _world_with_consents()
    counts = api.load(world)  # type: ignore[arg-type]
    assert counts["consents"] == 5
    bank = api.headers("bank", bank_id="I_bank")
    page = api.client.get("/api/startups", headers=bank, params={"limit": 50}).json()
    assert sorted(s["startup_id"] for s in page["items"]) == sorted(ids[:2]) and page["total"] == 2
    # The organisers' filters and pagination apply the same way.
    first = api.client.get("/api/startups", headers=bank, params={"limit": 1, "offset": 1}).json()
    assert first["total"] == 2 and len(first["items"]) == 1
    assert api.client.get(f"/api/startups/{ids[0]}", headers=bank).json()["startup_id"] == ids[0]
    for other in (ids[2], ids[3], ids[4]):
        assert "consent" in _problem(api.client.get(f"/api/startups/{other}", headers=bank), 403)["detail"]
    assert api.client.get("/api/startups", headers=api.headers("bank", bank_id="I_bank2")).json()["total"] == 1
    decision = api.client.post("/api/eligibility", json={"startup_id": ids[0], "product_id": "P_kv"}, headers=bank)
    assert decision.status_code == 200, decision.text
    _problem(api.client.post("/api/eligibility", json={"startup_id": ids[2], "product_id": "P_kv"}, headers=bank), 403)


def test_revoking_takes_effect_at_once_and_is_recorded(api: Api) -> None:
    api.load(service_world())
    body = _register(api, consents=["I_bank", "I_bank2"])
    sid, own = body["startup"]["startup_id"], {"Authorization": f"Bearer {body['api_key']}"}
    bank = api.headers("bank", bank_id="I_bank")
    assert api.client.get(f"/api/startups/{sid}", headers=bank).status_code == 200
    revoked = api.client.delete(f"/api/startups/{sid}/consents/I_bank", headers=own)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["bank_ids"] == ["I_bank2"]
    _problem(api.client.get(f"/api/startups/{sid}", headers=bank), 403)
    assert sid not in [s["startup_id"] for s in api.client.get("/api/startups", headers=bank).json()["items"]]
    _problem(api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}, headers=bank), 403)
    _problem(api.client.delete(f"/api/startups/{sid}/consents/I_bank", headers=own), 404)
    # Granting again is a new grant; the revoked one stays in the history with today's date.
    again = api.client.put(f"/api/startups/{sid}/consents", json={"bank_ids": ["I_bank"]}, headers=own).json()
    assert again["bank_ids"] == ["I_bank"]
    history = [(h["bank_id"], h["revoked_on"]) for h in again["history"]]
    assert history.count(("I_bank", TODAY.isoformat())) == 1 and ("I_bank", None) in history
    assert ("I_bank2", TODAY.isoformat()) in history  # dropped by the PUT: revoked, not deleted
    assert api.client.get(f"/api/startups/{sid}", headers=bank).status_code == 200


def test_the_api_refuses_what_validate_refuses(api: Api) -> None:
    api.load(service_world())
    _problem(api.client.post("/api/startups", json={"name": "甲", "employees": 22, "rd_staff": 99_999}), 422,
             "rd_staff")
    _problem(api.client.post("/api/startups", json={"name": "乙", "founded_on": (TODAY + timedelta(days=30))
                                                    .isoformat()}), 422, "founded_on")
    ip = {"kind": "invention_patent", "granted_on": "2022-01-01", "expires_on": "2021-01-01"}
    _problem(api.client.post("/api/startups", json={"name": "丙", "ip_assets": [ip]}), 422,
             "ip_assets[0].expires_on")
    body = _register(api, uscc=None)
    sid, own = body["startup"]["startup_id"], {"Authorization": f"Bearer {body['api_key']}"}
    # The rule holds on the profile as it would be stored: rd_staff alone above the stored 45 employees.
    _problem(api.client.patch(f"/api/startups/{sid}", json={"version": 1, "rd_staff": 46}, headers=own), 422,
             "rd_staff")
    assert api.client.get(f"/api/startups/{sid}", headers=own).json()["rd_staff"] == 15
