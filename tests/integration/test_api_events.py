"""Organisers build, schedule, reschedule and download a roadshow over HTTP (issue 6 item 6)."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import icalendar
from openpyxl import load_workbook

from tests.factories import service_event, service_world
from tests.integration.conftest import Api, wait_for_job
from tests.integration.test_api_startups import _problem, _register


def _created(api: Api, organiser: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = api.client.post("/api/events", json=service_event(**overrides), headers=organiser)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_organiser_builds_schedules_and_downloads_a_roadshow(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    event = _created(api, organiser)
    assert event["event_id"] == "2026-12-lotus-01" and event["summary"] is None and event["scores_given"] == 9
    _problem(api.client.get("/api/events/2026-12-lotus-01/meetings", headers=organiser), 409)

    solved = api.client.post("/api/events/2026-12-lotus-01/schedule", json={"time_limit": 10}, headers=organiser)
    assert solved.status_code == 200, solved.text
    summary = solved.json()["summary"]
    # Each startup meets at most 2 investors: the best pairs (0.9 each) plus 3 more pairs at 0.2 fit the
    # 3 slots × 2 tables = 6 places exactly: 3 × 0.9 + 3 × 0.2 = 3.3, which is also the bound.
    assert summary["meetings"] == 6
    assert abs(summary["objective"] - 3.3) < 1e-6 and summary["gap"] <= 1e-6

    meetings = api.client.get("/api/events/2026-12-lotus-01/meetings", headers=organiser).json()
    assert len(meetings) == 6 and {m["table"] for m in meetings} <= {1, 2}
    assert {(m["startup_id"], m["investor_id"]) for m in meetings} >= {
        ("S_robotics_0", "I_robot"),
        ("S_biomedicine_0", "I_bio"),
        ("S_new_energy_0", "I_energy"),
    }

    as_csv = api.client.get("/api/events/2026-12-lotus-01/meetings?format=csv", headers=organiser)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert len(rows) == 6 and list(rows[0]) == [
        "slot_id", "table", "startup_id", "investor_id", "score", "start", "end", "startup_name", "investor_name"
    ]
    assert ("智能机器人0", "机器人基金") in {(r["startup_name"], r["investor_name"]) for r in rows}
    assert {m["investor_name"] for m in meetings} == {"机器人基金", "生物医药基金", "新能源产业基金"}

    as_xlsx = api.client.get("/api/events/2026-12-lotus-01/meetings?format=xlsx", headers=organiser)
    assert as_xlsx.status_code == 200
    workbook = load_workbook(io.BytesIO(as_xlsx.content))
    assert len(workbook.sheetnames) == 8  # the grid, the list, one sheet per participant
    assert any("机器人基金" in title for title in workbook.sheetnames)

    as_ics = api.client.get("/api/events/2026-12-lotus-01/meetings?format=ics", headers=organiser)
    assert as_ics.status_code == 200 and as_ics.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(as_ics.content)) as archive:
        calendars = {n: icalendar.Calendar.from_ical(archive.read(n)) for n in archive.namelist()}
    assert len(calendars) == 6
    assert sum(len(c.walk("VEVENT")) for c in calendars.values()) == 12  # each meeting in two calendars
    for entry in calendars["investor-I_robot.ics"].walk("VEVENT"):
        assert str(entry["LOCATION"]).startswith("湘潭高新区 · ")  # the deployment's default venue
        assert "mailto:" in str(entry["ORGANIZER"]) and "智造莲城 路演 测试期" in str(entry["DESCRIPTION"])
    agenda_html = api.client.get("/api/events/2026-12-lotus-01/meetings?format=html", headers=organiser)
    assert agenda_html.status_code == 200 and "机器人基金" in agenda_html.text

    agenda = api.client.get("/api/events/2026-12-lotus-01/agenda/I_robot", headers=organiser).json()
    assert agenda["side"] == "investor" and all(m["investor_id"] == "I_robot" for m in agenda["meetings"])
    assert agenda["name"] == "机器人基金"
    ics = api.client.get("/api/events/2026-12-lotus-01/agenda/S_robotics_0?format=ics", headers=organiser)
    assert ics.headers["content-type"].startswith("text/calendar")
    assert len(icalendar.Calendar.from_ical(ics.content).walk("VEVENT")) == 2
    _problem(api.client.get("/api/events/2026-12-lotus-01/agenda/I_cold", headers=organiser), 404)
    _problem(api.client.get("/api/events/2026-12-lotus-01/meetings?format=pdf", headers=organiser), 400)


def test_reschedule_keeps_untouched_meetings(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("admin")
    _created(api, organiser)
    api.client.post("/api/events/2026-12-lotus-01/schedule", json={"mode": "fair"}, headers=organiser)
    before = api.client.get("/api/events/2026-12-lotus-01/meetings", headers=organiser).json()
    cancelled = next(m for m in before if (m["startup_id"], m["investor_id"]) == ("S_robotics_0", "I_robot"))
    response = api.client.post(
        "/api/events/2026-12-lotus-01/reschedule",
        json={"changes": {"cancellations": [{"startup_id": "S_robotics_0", "investor_id": "I_robot"}]}},
        headers=organiser,
    )
    assert response.status_code == 200, response.text
    summary = response.json()["summary"]
    # The schedule was made in fair mode; the re-plan keeps it and names what it dropped.
    assert summary["mode"] == "fair"
    assert [(d["startup_name"], d["investor_name"], d["reason"]) for d in summary["dropped"]] == [
        ("智能机器人0", "机器人基金", "cancelled")
    ]
    assert summary["meetings_per_startup"]["fewest"] <= summary["meetings_per_startup"]["most"]
    after = api.client.get("/api/events/2026-12-lotus-01/meetings", headers=organiser).json()
    pairs_after = {(m["startup_id"], m["investor_id"]) for m in after}
    assert ("S_robotics_0", "I_robot") not in pairs_after
    untouched = [m for m in before if m is not cancelled]
    for m in untouched:
        assert m in after  # same slot and table
    bad = api.client.post(
        "/api/events/2026-12-lotus-01/reschedule", json={"changes": {"no_shows": ["I_nobody"]}}, headers=organiser
    )
    _problem(bad, 422, "changes.no_shows[0]")


def test_background_job_and_infeasible_event(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    _created(api, organiser)
    accepted = api.client.post("/api/events/2026-12-lotus-01/schedule", json={"background": True}, headers=organiser)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()["job"]
    assert job["status"] in ("queued", "running", "done")
    done = wait_for_job(api, job["job_id"], organiser)
    assert done["status"] == "done" and done["result"]["meetings"] == 6 and done["finished_at"]
    _problem(api.client.get("/api/jobs/job_missing", headers=organiser), 404)

    # S_robotics_0 must meet everyone but is available in one slot only: infeasible, and it says why.
    impossible = service_event(
        "2026-12-lotus-02",
        startups=[{"startup_id": "S_robotics_0", "available": ["s01"]}, {"startup_id": "S_biomedicine_0"}],
        requests=[{"startup_id": "S_robotics_0", "investor_id": i, "kind": "must"} for i in ("I_robot", "I_bio")],
    )
    impossible["scores"] = [s for s in impossible["scores"] if s["startup_id"] != "S_new_energy_0"]  # type: ignore[union-attr]
    assert api.client.post("/api/events", json=impossible, headers=organiser).status_code == 201
    body = _problem(api.client.post("/api/events/2026-12-lotus-02/schedule", json={}, headers=organiser), 422)
    assert body["title"] == "Infeasible" and body["conflicts"]
    failed = api.client.post("/api/events/2026-12-lotus-02/schedule", json={"background": True}, headers=organiser)
    job = wait_for_job(api, failed.json()["job"]["job_id"], organiser)
    assert job["status"] == "failed" and job["error"]["status"] == 422


def test_event_validation_and_roles(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    _created(api, organiser)
    _problem(api.client.post("/api/events", json=service_event(), headers=organiser), 409, "event_id")
    unknown = service_event("e2", investors=[{"investor_id": i} for i in ("I_robot", "I_bio", "I_energy", "I_ghost")])
    _problem(api.client.post("/api/events", json=unknown, headers=organiser), 422, "investors[3].investor_id")
    bad_slot = service_event("e3", slots=[{"slot_id": "s01", "start": "2026-12-01T15:00", "end": "2026-12-01T14:00"}])
    _problem(api.client.post("/api/events", json=bad_slot, headers=organiser), 422, "slots[0].end")
    same_time = [{"slot_id": f"s0{k}", "start": "2026-12-01T14:00", "end": "2026-12-01T14:20"} for k in (1, 2)]
    body = _problem(api.client.post("/api/events", json=service_event("e6", slots=same_time), headers=organiser), 422,
                    "slots[1].start")
    assert "s02" in body["detail"] and "s01" in body["detail"]
    mixed = [{"slot_id": "s01", "start": "2026-12-01T14:00+08:00", "end": "2026-12-01T14:20+08:00"},
             {"slot_id": "s02", "start": "2026-12-01T14:20", "end": "2026-12-01T14:40"}]
    _problem(api.client.post("/api/events", json=service_event("e7", slots=mixed), headers=organiser), 422,
             "slots[1].start")
    _problem(api.client.post("/api/events", json=service_event("e4", tables=0), headers=organiser), 400, "tables")
    _problem(api.client.post("/api/events/e9/schedule", json={}, headers=organiser), 404)
    _problem(
        api.client.post("/api/events/2026-12-lotus-01/schedule", json={"mode": "random"}, headers=organiser),
        400,
        "mode",
    )
    startup = _register(api)
    others = [{"Authorization": f"Bearer {startup['api_key']}"}, api.headers("bank", bank_id="I_bank")]
    for headers in others:
        _problem(api.client.post("/api/events", json=service_event("e5"), headers=headers), 403)
        _problem(api.client.get("/api/events/2026-12-lotus-01/meetings", headers=headers), 403)
        _problem(api.client.post("/api/events/2026-12-lotus-01/schedule", json={}, headers=headers), 403)


def test_model_scores_pairs_the_event_leaves_unscored(api: Api) -> None:
    api.load(service_world())
    api.train("declared")
    organiser = api.headers("organiser")
    _created(api, organiser, scores=[])
    solved = api.client.post("/api/events/2026-12-lotus-01/schedule", json={}, headers=organiser)
    assert solved.status_code == 200, solved.text
    assert solved.json()["summary"]["meetings"] > 0
    assert api.client.get("/api/events/2026-12-lotus-01", headers=organiser).json()["scores_given"] == 9
