"""Startups over HTTP (issue 6 items 5 and 8): registration, profile, consents, listing, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import OTHER_VALID_USCC, VALID_USCC, registration, service_world
from tests.integration.conftest import Api


def _problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("urn:roadshow:problem:")
    if field is not None:
        assert body["field"] == field, body
    return body


def _register(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.client.post("/api/startups", json=registration(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health_and_openapi_need_no_key(api: Api) -> None:
    health = api.client.get("/health")
    assert health.status_code == 200
    assert health.json()["database"]["ok"] is True
    assert health.json()["model"]["loaded"] is False
    schema = api.client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/startups/{startup_id}/matches" in schema.json()["paths"]


def test_registration_returns_profile_and_a_working_key(api: Api) -> None:
    body = _register(api)
    startup = body["startup"]
    assert startup["startup_id"].startswith("st_") and startup["version"] == 1
    assert startup["uscc"] == VALID_USCC
    assert [a["kind"] for a in startup["ip_assets"]] == ["invention_patent", "software_copyright"]
    assert startup["ip_assets"][1]["status"] == "granted"
    own = {"Authorization": f"Bearer {body['api_key']}"}
    got = api.client.get(f"/api/startups/{startup['startup_id']}", headers=own)
    assert got.status_code == 200 and got.json()["name"] == startup["name"]
    # The key is shown once and stored only as a hash.
    assert body["api_key"] not in str(api.run(_all_key_hashes, api))


async def _all_key_hashes(api: Api) -> list[str]:
    from sqlalchemy import select

    from api.db.models import ApiKey

    async with api.state.sessions() as session:
        return list((await session.scalars(select(ApiKey.key_hash))).all())


def test_profile_access_by_role(api: Api) -> None:
    api.load(service_world())
    mine = _register(api)
    other = _register(api, uscc=OTHER_VALID_USCC, name="另一家公司")
    sid = mine["startup"]["startup_id"]
    own = {"Authorization": f"Bearer {mine['api_key']}"}
    allowed = [own, api.headers("organiser"), api.headers("admin")]
    for headers in allowed:
        assert api.client.get(f"/api/startups/{sid}", headers=headers).status_code == 200
    other_startup = {"Authorization": f"Bearer {other['api_key']}"}
    _problem(api.client.get(f"/api/startups/{sid}", headers=other_startup), 403)
    _problem(api.client.get(f"/api/startups/{sid}", headers=api.headers("bank", bank_id="I_bank")), 403)
    _problem(api.client.get(f"/api/startups/{sid}"), 401)
    _problem(api.client.get(f"/api/startups/{sid}", headers={"Authorization": "Bearer rsk_not-a-key"}), 401)
    _problem(api.client.get(f"/api/startups/{sid}", headers={"Authorization": "Basic abc"}), 401)
    _problem(api.client.get("/api/startups/st_missing", headers=api.headers("organiser")), 404)


def test_revoked_key_is_refused(api: Api) -> None:
    from api.services.keys import revoke_key

    body = _register(api)
    sid, own = body["startup"]["startup_id"], {"Authorization": f"Bearer {body['api_key']}"}
    assert api.client.get(f"/api/startups/{sid}", headers=own).status_code == 200

    async def revoke() -> None:
        async with api.state.sessions() as session:
            await revoke_key(session, key_id=body["key_id"])
        api.state.principals.invalidate()

    api.run(revoke)
    _problem(api.client.get(f"/api/startups/{sid}", headers=own), 401)


def test_duplicate_uscc_is_a_conflict_and_writes_nothing(api: Api) -> None:
    _register(api)
    _problem(api.client.post("/api/startups", json=registration(name="重复")), 409, "uscc")
    listing = api.client.get("/api/startups", headers=api.headers("organiser")).json()
    assert listing["total"] == 1


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"uscc": "91430300MA4L16JQ1G"}, 422, "uscc"),  # wrong check character
        ({"uscc": "123"}, 400, "uscc"),
        ({"name": ""}, 400, "name"),
        ({"name": "长" * 201}, 400, "name"),
        ({"stage": "series_z"}, 400, "stage"),
        ({"employees": -1}, 400, "employees"),
        ({"revenue_wan": 1e12}, 400, "revenue_wan"),
        ({"founded_on": "2020-13-01"}, 400, "founded_on"),
        ({"ip_assets": [{"kind": "recipe"}]}, 400, "ip_assets[0].kind"),
        ({"ip_assets": [{"kind": "trademark"}] * 501}, 400, "ip_assets"),
        (
            {"ip_assets": [{"kind": "trademark", "granted_on": "2022-01-01", "expires_on": "2021-01-01"}]},
            422,
            "ip_assets[0].expires_on",
        ),
        ({"consents": ["I_nobody"]}, 422, "consents[0]"),
        ({"unexpected": 1}, 400, None),
    ],
)
def test_bad_registrations_are_4xx_naming_the_field_and_write_nothing(
    api: Api, overrides: dict[str, Any], status: int, field: str | None
) -> None:
    response = api.client.post("/api/startups", json=registration(**overrides))
    body = _problem(response, status, field)
    assert body["detail"]
    assert api.client.get("/api/startups", headers=api.headers("admin")).json()["total"] == 0


def test_malformed_and_oversized_bodies(api: Api) -> None:
    _problem(api.client.post("/api/startups", content=b"{not json", headers={"content-type": "application/json"}), 400)
    huge = registration(description="x" * 2_000_000)
    _problem(api.client.post("/api/startups", json=huge), 413)


def test_patch_uses_optimistic_locking(api: Api) -> None:
    body = _register(api)
    sid, own = body["startup"]["startup_id"], {"Authorization": f"Bearer {body['api_key']}"}
    updated = api.client.patch(f"/api/startups/{sid}", json={"version": 1, "employees": 60}, headers=own)
    assert updated.status_code == 200, updated.text
    assert updated.json()["employees"] == 60 and updated.json()["version"] == 2
    assert updated.json()["revenue_wan"] == 1800.0  # untouched fields stay
    stale = api.client.patch(f"/api/startups/{sid}", json={"version": 1, "employees": 70}, headers=own)
    _problem(stale, 409, "version")
    ip_only = api.client.patch(
        f"/api/startups/{sid}", json={"version": 2, "ip_assets": [{"kind": "utility_model"}]}, headers=own
    )
    assert ip_only.status_code == 200 and ip_only.json()["version"] == 3
    assert [a["kind"] for a in ip_only.json()["ip_assets"]] == ["utility_model"]
    cleared = api.client.patch(f"/api/startups/{sid}", json={"version": 3, "city": None}, headers=own)
    assert cleared.json()["city"] is None
    _problem(api.client.patch(f"/api/startups/{sid}", json={"employees": 1}, headers=own), 400, "version")
    _problem(api.client.patch(f"/api/startups/{sid}", json={"version": 4, "uscc": "bad"}, headers=own), 400, "uscc")


def test_consents_replace_the_list(api: Api) -> None:
    api.load(service_world())
    body = _register(api, consents=["I_bank"])
    sid, own = body["startup"]["startup_id"], {"Authorization": f"Bearer {body['api_key']}"}
    assert api.client.get(f"/api/startups/{sid}/consents", headers=own).json()["bank_ids"] == ["I_bank"]
    put = api.client.put(f"/api/startups/{sid}/consents", json={"bank_ids": ["I_bank2", "I_bank2"]}, headers=own)
    assert put.status_code == 200 and put.json()["bank_ids"] == ["I_bank2"]
    # An investor that is not a bank cannot be given consent.
    _problem(
        api.client.put(f"/api/startups/{sid}/consents", json={"bank_ids": ["I_robot"]}, headers=own), 422, "bank_ids[0]"
    )
    assert api.client.get(f"/api/startups/{sid}/consents", headers=own).json()["bank_ids"] == ["I_bank2"]
    bank = api.headers("bank", bank_id="I_bank")
    _problem(api.client.put(f"/api/startups/{sid}/consents", json={"bank_ids": []}, headers=bank), 403)


def test_tech_sme_status_is_kept_on_the_profile_for_filtering(api: Api) -> None:
    qualified = _register(api)
    # No R&D staff: the 科技人员 score is 0, so the firm cannot qualify by score.
    plain = _register(api, uscc=None, name="普通公司", rd_staff=0, ip_assets=[])
    assert qualified["startup"]["tech_sme_qualified"] is True and qualified["startup"]["version"] == 1
    assert plain["startup"]["tech_sme_qualified"] is False
    organiser = api.headers("organiser")
    listed = api.client.get("/api/startups?tech_sme=true", headers=organiser).json()
    assert [s["startup_id"] for s in listed["items"]] == [qualified["startup"]["startup_id"]]
    sid = plain["startup"]["startup_id"]
    # Direct qualification: a valid 高新技术企业 certificate.
    edited = api.client.patch(
        f"/api/startups/{sid}", json={"version": 1, "high_tech_enterprise": True}, headers=organiser
    ).json()
    assert edited["tech_sme_qualified"] is True and edited["version"] == 2
    assert api.client.get("/api/startups?tech_sme=false", headers=organiser).json()["total"] == 0


def test_organisers_list_and_filter_startups(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    everything = api.client.get("/api/startups", headers=organiser).json()
    assert everything["total"] == 33 and len(everything["items"]) == 33
    page = api.client.get("/api/startups?limit=10&offset=30", headers=organiser).json()
    assert [s["startup_id"] for s in page["items"]] == [s["startup_id"] for s in everything["items"]][30:]
    robots = api.client.get("/api/startups?sector=智能机器人&stage=a", headers=organiser).json()
    assert robots["total"] == 9 and {s["sector"] for s in robots["items"]} == {"智能机器人"}
    assert api.client.get("/api/startups?stage=seed&sector=智能机器人", headers=organiser).json()["total"] == 0
    _problem(api.client.get("/api/startups?stage=late", headers=organiser), 400, "stage")
    _problem(api.client.get("/api/startups?limit=0", headers=organiser), 400, "limit")
    startup = _register(api)
    _problem(api.client.get("/api/startups", headers={"Authorization": f"Bearer {startup['api_key']}"}), 403)
    # A bank sees only the startups consenting to it (none here): issue 10, test_api_consents.
    assert api.client.get("/api/startups", headers=api.headers("bank", bank_id="I_bank")).json()["total"] == 0


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_fields = st.sampled_from([*sorted(registration()), "ip_assets", "consents", "version", "unknown"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(_fields, _json, max_size=4))
def test_arbitrary_bodies_never_cause_a_server_error(api: Api, changes: dict[str, Any]) -> None:
    # A staff key: its registrations are not counted against the anonymous limit of 20 a minute.
    staff = api.headers("admin")
    response = api.client.post("/api/startups", json=registration(**{"uscc": None, **changes}), headers=staff)
    assert response.status_code in (201, 400, 409, 422), response.text
    patched = api.client.patch("/api/startups/st_x", json=changes, headers=api.headers("admin"))
    assert patched.status_code in (400, 404, 409, 422), patched.text
