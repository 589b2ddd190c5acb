"""Issue 12: every probed input is a 4xx naming the field, limits hold, history is never erased,
retries are idempotent, and responses carry the security headers. Each case of the issue's
measurement list is pinned here, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.db.engine import create_all, drop_all
from api.settings import Settings
from tests.factories import OTHER_VALID_USCC, registration, service_event, service_world
from tests.integration.conftest import Api, wait_for_job
from tests.integration.test_api_startups import _problem, _register

PAGED = ("/api/startups", "/api/investors", "/api/banks", "/api/eligibility")


def _run_app(settings: Settings) -> Iterator[Api]:
    """The app on ``settings`` with empty tables (the PostgreSQL database is shared by the session)."""
    with TestClient(app=create_app(settings), raise_server_exceptions=False) as client:
        harness = Api(client)
        if not settings.is_sqlite:
            harness.run(drop_all, harness.state.engine)
        harness.run(create_all, harness.state.engine)
        yield harness


@pytest.fixture
def limited(api_settings: Settings) -> Iterator[Api]:
    """The app with a registration limit of 2 a minute (the api fixture's database, freshly created)."""
    yield from _run_app(dataclasses.replace(api_settings, registration_rate_per_minute=2, key_rate_per_minute=3))


# --- 1. every input a 4xx ----------------------------------------------------------------------------


def test_longest_allowed_name_registers_and_its_key_name_fits(api: Api) -> None:
    body = _register(api, name="湘" * 200, uscc=None)
    assert len(body["startup"]["name"]) == 200

    async def key_names() -> list[str]:
        from sqlalchemy import select

        from api.db.models import ApiKey

        async with api.state.sessions() as session:
            return list((await session.scalars(select(ApiKey.name))).all())

    (name,) = api.run(key_names)
    assert name.startswith("self-registration of 湘") and len(name) <= 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "a\u0000b"}, "name"),
        ({"description": "line one\u0000"}, "description"),
        ({"ip_assets": [{"kind": "invention_patent", "title": "专利\u0001"}]}, "ip_assets[0].title"),
        ({"name": "two\nlines"}, "name"),
        ({"sector": "a\u007f"}, "sector"),
    ],
)
def test_control_characters_in_a_body_are_refused_naming_the_field(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    _problem(api.client.post("/api/startups", json=registration(uscc=None, **overrides)), 400, field)


def test_text_with_line_breaks_stays_allowed_where_it_belongs(api: Api) -> None:
    body = _register(api, uscc=None, description="第一行\n第二行\t缩进")
    assert body["startup"]["description"] == "第一行\n第二行\t缩进"


def test_control_characters_in_query_and_path_are_refused(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    _problem(api.client.get("/api/startups", params={"sector": "a\x00b"}, headers=organiser), 400, "sector")
    _problem(api.client.get("/api/startups/S_robotics_0%00x", headers=organiser), 400, "startup_id")
    _problem(api.client.get("/api/investors/I_robot%01", headers=organiser), 400, "investor_id")
    bank = api.headers("bank", bank_id="I_bank")
    _problem(api.client.get("/api/eligibility", params={"startup_id": "x\x00"}, headers=bank), 400, "startup_id")


@pytest.mark.parametrize("path", PAGED)
def test_offsets_beyond_the_database_range_are_refused(api: Api, path: str) -> None:
    api.load(service_world())
    headers = api.headers("bank", bank_id="I_bank") if path == "/api/eligibility" else api.headers("organiser")
    for offset in (2**63, 2**31):
        _problem(api.client.get(path, params={"offset": offset}, headers=headers), 400, "offset")
    assert api.client.get(path, params={"offset": 2**31 - 1}, headers=headers).status_code == 200


def test_a_deeply_nested_body_is_refused_before_parsing(api: Api) -> None:
    deep = '{"name": "x", "description": ' + "[" * 1000 + "]" * 1000 + "}"
    response = api.client.post("/api/startups", content=deep, headers={"Content-Type": "application/json"})
    body = _problem(response, 400)
    assert "nested" in body["detail"]
    # Brackets inside strings do not count.
    assert _register(api, uscc=None, description="[" * 2000)["startup"]["description"] == "[" * 2000


def test_a_version_beyond_the_integer_range_is_a_400(api: Api) -> None:
    body = _register(api, uscc=None)
    own = {"Authorization": f"Bearer {body['api_key']}"}
    sid = body["startup"]["startup_id"]
    _problem(api.client.patch(f"/api/startups/{sid}", json={"version": 2**63}, headers=own), 400, "version")


def test_slots_mixing_zoned_and_plain_times_are_a_422_naming_the_slot(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    slots = [
        {"slot_id": "s01", "start": "2026-12-01T14:00+08:00", "end": "2026-12-01T14:19+08:00"},
        {"slot_id": "s02", "start": "2026-12-01T14:20", "end": "2026-12-01T14:39"},
        {"slot_id": "s03", "start": "2026-12-01T14:40", "end": "2026-12-01T14:59"},
    ]
    # The rule (every slot zoned, or none) is the library's; the API maps it to a problem naming the slot.
    response = api.client.post("/api/events", json=service_event("mixed", slots=slots), headers=organiser)
    assert "time zone" in _problem(response, 422, "slots[1].start")["detail"]


def test_an_unreachable_database_is_a_503_with_retry_after(api_settings: Settings) -> None:
    down = dataclasses.replace(api_settings, database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none")
    with TestClient(app=create_app(down), raise_server_exceptions=False) as client:
        for response in (
            client.get("/api/startups", headers={"Authorization": "Bearer rsk_whatever"}),
            client.post("/api/startups", json=registration(uscc=None)),
        ):
            body = _problem(response, 503)
            assert int(response.headers["retry-after"]) >= 1 and "database" in body["detail"]
        assert client.get("/health").status_code == 503


# --- 2. rate limits ----------------------------------------------------------------------------------


def test_anonymous_registrations_are_limited_per_address_whatever_x_forwarded_for_says(limited: Api) -> None:
    codes = [
        limited.client.post(
            "/api/startups", json=registration(uscc=None), headers={"X-Forwarded-For": f"10.0.0.{k}"}
        ).status_code
        for k in range(5)
    ]
    assert codes == [201, 201, 429, 429, 429]
    refused = limited.client.post("/api/startups", json=registration(uscc=None))
    _problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1


def test_staff_keys_have_their_own_registration_limit(limited: Api) -> None:
    for _ in range(2):
        assert limited.client.post("/api/startups", json=registration(uscc=None)).status_code == 201
    assert limited.client.post("/api/startups", json=registration(uscc=None)).status_code == 429
    organiser = limited.headers("organiser")
    staff = [
        limited.client.post("/api/startups", json=registration(uscc=None), headers=organiser).status_code
        for _ in range(4)
    ]
    assert staff == [201, 201, 201, 429]
    # A startup's own key is not staff: it counts against its address.
    key = limited.client.post("/api/startups", json=registration(uscc=None), headers=organiser)
    assert key.status_code == 429


def test_forwarded_for_is_read_only_from_trusted_proxies() -> None:
    from api.guards.rate_limit import client_address

    assert client_address("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"
    assert client_address("10.0.0.5", "1.2.3.4", ("127.0.0.1",)) == "10.0.0.5"
    assert client_address("127.0.0.1", "1.2.3.4", ("127.0.0.1",)) == "1.2.3.4"
    # A client cannot hide behind a forged first hop: the nearest untrusted hop counts.
    assert client_address("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", ("10.0.0.0/8",)) == "1.2.3.4"
    assert client_address("10.0.0.1", "10.0.0.3", ("10.0.0.0/8",)) == "10.0.0.3"


# --- 5. history never erased -------------------------------------------------------------------------


def test_an_archived_bank_keeps_its_decisions_for_itself_and_the_startups(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    bank = api.headers("bank", bank_id="I_bank")
    startup = _register(api, consents=["I_bank"])
    sid, own = startup["startup"]["startup_id"], {"Authorization": f"Bearer {startup['api_key']}"}
    decided = api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}, headers=bank)
    assert decided.status_code == 200, decided.text

    assert api.client.delete("/api/banks/I_bank", headers=organiser).status_code == 204
    assert "I_bank" not in [b["investor_id"] for b in api.client.get("/api/banks", headers=organiser).json()["items"]]
    archived = api.client.get("/api/banks/I_bank", headers=organiser).json()
    assert archived["archived_at"] is not None
    history = api.client.get("/api/eligibility", headers=bank).json()
    assert [d["assessment_id"] for d in history["items"]] == [decided.json()["assessment_id"]]
    seen = api.client.get(f"/api/startups/{sid}/assessments", headers=own).json()
    assert [a["bank_id"] for a in seen] == ["I_bank"]
    # No new decisions, consents, products or edits for an archived bank.
    again = api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}, headers=bank)
    _problem(again, 409)
    _problem(api.client.put(f"/api/startups/{sid}/consents", json={"bank_ids": ["I_bank"]}, headers=own), 422)
    _problem(api.client.patch("/api/banks/I_bank", json={"version": archived["version"], "name": "x"},
                              headers=organiser), 409)


def test_investors_with_history_are_archived_and_others_deleted(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    assert api.client.delete("/api/investors/I_robot", headers=organiser).status_code == 204
    assert api.client.get("/api/investors/I_robot", headers=organiser).json()["archived_at"] is not None
    listed = [i["investor_id"] for i in api.client.get("/api/investors", headers=organiser).json()["items"]]
    assert "I_robot" not in listed
    # An archived investor can no longer be booked.
    booked = api.client.post("/api/events", json=service_event("after"), headers=organiser)
    _problem(booked, 422, "investors[0].investor_id")
    # The cold investor has no history: it is deleted for real.
    assert api.client.delete("/api/investors/I_cold", headers=organiser).status_code == 204
    _problem(api.client.get("/api/investors/I_cold", headers=organiser), 404)


def test_a_participant_archived_after_scheduling_is_removed_by_the_next_replan(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    assert api.client.post("/api/events", json=service_event(), headers=organiser).status_code == 201
    solved = api.client.post("/api/events/2026-12-lotus-01/schedule", json={}, headers=organiser)
    assert solved.status_code == 200, solved.text
    assert api.client.delete("/api/investors/I_bio", headers=organiser).status_code == 204
    replanned = api.client.post("/api/events/2026-12-lotus-01/reschedule", json={"changes": {}}, headers=organiser)
    assert replanned.status_code == 200, replanned.text
    assert replanned.json()["summary"]["removed"] == ["I_bio"]
    meetings = api.client.get("/api/events/2026-12-lotus-01/meetings", headers=organiser).json()
    assert meetings and all(m["investor_id"] != "I_bio" for m in meetings)


def test_startups_with_history_are_archived(api: Api) -> None:
    body = _register(api, consents=[])
    organiser = api.headers("organiser")
    sid = body["startup"]["startup_id"]
    other = _register(api, uscc=OTHER_VALID_USCC, name="另一家")
    assert api.client.delete(f"/api/startups/{sid}", headers=organiser).status_code == 204
    _problem(api.client.get(f"/api/startups/{sid}", headers=organiser), 404)  # no history: deleted
    api.load(service_world())
    assert api.client.delete("/api/startups/S_robotics_0", headers=organiser).status_code == 204
    kept = api.client.get("/api/startups/S_robotics_0", headers=organiser).json()
    assert kept["archived_at"] is not None
    listed = api.client.get("/api/startups", params={"limit": 500}, headers=organiser).json()["items"]
    assert "S_robotics_0" not in {s["startup_id"] for s in listed}
    # A startup may withdraw itself, not another.
    own = {"Authorization": f"Bearer {other['api_key']}"}
    _problem(api.client.delete("/api/startups/S_bio_0", headers=own), 403)


# --- 6. idempotent creation --------------------------------------------------------------------------


def test_a_retried_registration_replays_the_first_response_and_creates_nothing(api: Api) -> None:
    organiser = api.headers("organiser")
    key = {"Idempotency-Key": "3f1c2a9e-retry-1"}
    first = api.client.post("/api/startups", json=registration(uscc=None), headers=key)
    again = api.client.post("/api/startups", json=registration(uscc=None), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the startup's key is shown again, to this caller only
    assert first.headers["cache-control"] == "no-store" and again.headers["cache-control"] == "no-store"
    total = api.client.get("/api/startups", headers=organiser).json()["total"]
    assert total == 1
    _problem(api.client.post("/api/startups", json=registration(uscc=None, name="别的"), headers=key), 422,
             "Idempotency-Key")
    # Another caller with the same idempotency key makes its own registration.
    theirs = api.client.post("/api/startups", json=registration(uscc=None), headers={**key, **organiser})
    assert theirs.status_code == 201 and theirs.json()["api_key"] != first.json()["api_key"]

    async def stored() -> list[str]:
        from sqlalchemy import select

        from api.db.models import IdempotencyRecord

        async with api.state.sessions() as session:
            return list((await session.scalars(select(IdempotencyRecord.sealed_response))).all())

    assert all(first.json()["api_key"] not in row for row in api.run(stored))


def test_a_retried_schedule_gets_the_same_job(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    assert api.client.post("/api/events", json=service_event(), headers=organiser).status_code == 201
    headers = {**organiser, "Idempotency-Key": "solve-1"}
    first = api.client.post("/api/events/2026-12-lotus-01/schedule", json={"background": True}, headers=headers)
    assert first.status_code == 202, first.text
    job_id = first.json()["job"]["job_id"]
    wait_for_job(api, job_id, organiser)
    again = api.client.post("/api/events/2026-12-lotus-01/schedule", json={"background": True}, headers=headers)
    assert again.json()["job"]["job_id"] == job_id
    _problem(api.client.post("/api/events/2026-12-lotus-01/schedule", json={"mode": "fair"}, headers=headers), 422)


# --- 8. headers and logs -----------------------------------------------------------------------------


def test_security_headers_and_the_access_log(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    organiser = api.headers("organiser")
    with caplog.at_level(logging.INFO, logger="api.access"):
        listed = api.client.get("/api/startups", headers=organiser)
        missing = api.client.get("/api/startups")
        health = api.client.get("/health")
    for response in (listed, missing, health):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "api.access"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/api/startups", 200),
        ("GET", "/api/startups", 401),
        ("GET", "/health", 200),
    ]
    assert lines[0]["key_id"].startswith("key_") and lines[1]["key_id"] is None
    assert all(isinstance(line["ms"], float) for line in lines)
    token = organiser["Authorization"].removeprefix("Bearer ")
    assert all(token not in r.getMessage() for r in caplog.records)


def test_pages_get_a_content_security_policy() -> None:
    from api.guards.headers import PAGE_POLICY, security_headers

    message: dict[str, Any] = {"type": "http.response.start", "status": 200,
                               "headers": [(b"content-type", b"text/html; charset=utf-8")]}
    api_run = __import__("asyncio").run
    api_run(security_headers(message, {"type": "http", "path": "/console"}))  # type: ignore[arg-type]
    assert (b"content-security-policy", PAGE_POLICY.encode()) in [(k.lower(), v) for k, v in message["headers"]]
    assert "'unsafe-inline'" not in PAGE_POLICY and "script-src 'self'" in PAGE_POLICY


def test_200_concurrent_registrations_all_land_once(api_settings: Settings) -> None:
    import asyncio

    import httpx

    for api in _run_app(dataclasses.replace(api_settings, registration_rate_per_minute=100_000)):

        async def storm(api: Api = api) -> list[int]:
            transport = httpx.ASGITransport(app=api.client.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120.0) as client:
                responses = await asyncio.gather(
                    *(client.post("/api/startups", json=registration(uscc=None, name=f"同时注册{k}"))
                      for k in range(200))
                )
            return [r.status_code for r in responses]

        codes = api.run(storm)
        assert codes == [201] * 200
        organiser = api.headers("organiser")
        assert api.client.get("/api/startups", headers=organiser).json()["total"] == 200


# --- 3. the queue's sweeper --------------------------------------------------------------------------


def test_the_sweeper_requeues_lost_jobs_and_fails_twice_lost_ones(api: Api) -> None:
    from datetime import timedelta

    from api.db.models import utcnow
    from api.services.jobs import new_job, sweep

    api.load(service_world())
    organiser = api.headers("organiser")
    assert api.client.post("/api/events", json=service_event(), headers=organiser).status_code == 201
    long_ago = utcnow() - timedelta(minutes=10)
    params = {"mode": "total", "time_limit": 10.0}
    # Committed but never put on the queue (the API died in between), and running on a dead worker twice.
    orphan = new_job("schedule", params, event_id="2026-12-lotus-01", lock_key="event:2026-12-lotus-01")
    orphan.heartbeat_at = long_ago
    dead = new_job("schedule", params, event_id="2026-12-lotus-01")
    dead.status, dead.attempts, dead.heartbeat_at = "running", 2, long_ago

    async def insert() -> None:
        async with api.state.sessions() as session, session.begin():
            session.add_all([orphan, dead])

    api.run(insert)
    assert api.run(sweep, api.state.sessions, api.state.queue) == {"retried": 0, "failed": 1, "requeued": 1}
    failed = api.client.get(f"/api/jobs/{dead.job_id}", headers=organiser).json()
    assert failed["status"] == "failed" and "worker stopped" in failed["error"]["detail"]
    done = wait_for_job(api, orphan.job_id, organiser)
    assert done["status"] == "done" and done["attempts"] == 1 and done["result"]["meetings"] == 6
