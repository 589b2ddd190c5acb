"""Learning from outcomes, safely: retrains run as jobs on the queue, a worse challenger is kept but not
served, every version keeps its evaluation, an organiser pins or rolls back, and recorded outcomes start
one retrain per burst."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from api.db.models import ScheduleJob
from api.services.training import _in_child
from api.settings import DEFAULT_NICENESS
from tests.factories import service_world
from tests.integration.conftest import Api, wait_for_job


def _retrain(api: Api, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    queued = api.client.post("/api/models/train", json=body, headers=headers)
    assert queued.status_code == 202, queued.text
    job = wait_for_job(api, queued.json()["job_id"], headers, seconds=120)
    assert job["status"] == "done", job
    api.run(api.state.models.current, force=True)
    result: dict[str, Any] = job["result"]
    return result


def _serving(api: Api) -> int:
    version: int = api.client.get("/health").json()["model"]["version"]
    return version


def _matches(api: Api, headers: dict[str, str], startup_id: str = "S_new_robotics") -> list[str]:
    body = api.client.get(f"/api/startups/{startup_id}/matches?k=5", headers=headers).json()
    return [m["investor_id"] for m in body["items"]]


def test_a_worse_challenger_is_kept_with_its_evaluation_but_not_served(api: Api) -> None:
    api.load(service_world())
    org = api.headers("organiser")
    first = _retrain(api, org, ranking_model="declared")
    assert first["decision"] == "first" and first["active"] and _serving(api) == first["version"]
    worse = _retrain(api, org, ranking_model="random")
    assert worse["decision"] == "rejected" and not worse["active"]
    assert _serving(api) == first["version"]  # the champion keeps serving
    evaluation = worse["evaluation"]
    assert evaluation["champion_version"] == first["version"] and evaluation["k"] == 10
    assert evaluation["challenger"]["ndcg"] < evaluation["champion"]["ndcg"] - evaluation["tolerance"]
    assert evaluation["reason"].startswith("worse: NDCG@10")
    listed = api.client.get("/api/models", headers=org).json()
    assert [v["version"] for v in listed] == [worse["version"], first["version"]]
    assert [v["active"] for v in listed] == [False, True]
    assert listed[1]["evaluation"]["challenger"]["targets"] > 0  # the first version keeps its evaluation too
    # Forced, the same recipe serves whatever its evaluation says.
    forced = _retrain(api, org, ranking_model="random", force=True)
    assert forced["decision"] == "forced" and _serving(api) == forced["version"]


def test_a_rollback_restores_the_previous_versions_matches(api: Api) -> None:
    api.load(service_world())
    org = api.headers("organiser")
    startup = api.headers("startup", startup_id="S_new_robotics")
    first = api.train("declared")
    before = _matches(api, startup)
    second = api.train("popularity")
    assert _serving(api) == second and _matches(api, startup) != before
    rolled = api.client.post("/api/models/rollback", headers=org)
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["version"] == first and rolled.json()["pinned"]
    api.run(api.state.models.current, force=True)
    assert _serving(api) == first and _matches(api, startup) == before
    # Pinned: a retrain that is not worse is evaluated and kept, and the pinned version keeps serving.
    kept = _retrain(api, org, ranking_model="declared")
    assert kept["decision"] == "pinned" and _serving(api) == first
    assert api.client.post("/api/models/unpin", headers=org).json()["pinned"] is False
    # Nothing before the first version: a second rollback is a 409 naming why.
    again = api.client.post("/api/models/rollback", headers=org)
    assert again.status_code == 409 and "nothing to roll back to" in again.json()["detail"]
    # Pinning any version serves it.
    pinned = api.client.post(f"/api/models/{second}/pin", headers=org)
    assert pinned.status_code == 200 and pinned.json()["active"] and pinned.json()["pinned"]
    assert api.client.post("/api/models/999/pin", headers=org).status_code == 404


def test_a_recorded_intent_is_in_the_results_and_the_next_training_set(api: Api) -> None:
    api.state.settings = replace(api.state.settings, retrain_debounce_seconds=5.0)
    api.load(service_world())
    org = api.headers("organiser")
    startup = api.headers("startup", startup_id="S_new_robotics")
    api.train("declared")
    event = api.client.post("/api/events", json={
        "event_id": "2026-11-lotus-01", "name": "智造莲城 路演 2026年第11期", "tables": 2,
        "slots": [{"slot_id": "s01", "start": "2026-11-20T14:00", "end": "2026-11-20T14:20"}],
        "startups": [{"startup_id": "S_new_robotics"}], "investors": [{"investor_id": "I_cold"}],
        "scores": [{"startup_id": "S_new_robotics", "investor_id": "I_cold", "score": 0.5}]}, headers=org)
    assert event.status_code == 201, event.text
    assert "I_cold" in _matches(api, startup)  # never met: the pair is a candidate

    # The organiser records an intent signed on the day (outside the grid), then corrects its amount:
    # a burst of two reports, one retrain.
    for amount in (600.0, 800.0):
        recorded = api.client.post("/api/events/2026-11-lotus-01/outcomes", headers=org, json={
            "startup_id": "S_new_robotics", "investor_id": "I_cold", "outcome": "intent_signed",
            "amount_wan": amount})
        assert recorded.status_code == 201, recorded.text

    async def retrains() -> list[str]:
        async with api.state.sessions() as session, session.begin():
            return list((await session.scalars(select(ScheduleJob.job_id).where(ScheduleJob.kind == "retrain"))).all())

    jobs = api.run(retrains)
    assert len(jobs) == 1
    results = api.client.get("/api/events/2026-11-lotus-01/results", headers=org).json()
    assert results["totals"]["intents"] == 1 and results["totals"]["intent_wan"] == 800.0
    assert results["intents"][0]["investor_name"] == "新设机器人基金"
    assert api.client.get("/api/results/2026", headers=org).json()["totals"]["intents"] == 1

    job = wait_for_job(api, jobs[0], org, seconds=120)
    assert job["status"] == "done", job
    api.run(api.state.models.current, force=True)
    trained = job["result"]
    listed = {v["version"]: v for v in api.client.get("/api/models", headers=org).json()}
    assert listed[trained["version"]]["training"]["last_outcome_on"] == "2026-11-20"
    # Served: the new model learned the pair, so it is no longer offered as a new match.
    assert trained["active"] and "I_cold" not in _matches(api, startup)


def test_the_console_lists_versions_and_rolls_back(api: Api) -> None:
    import re

    api.load(service_world())
    first = api.train("declared")
    second = api.train("popularity")
    key = api.headers("organiser")["Authorization"].removeprefix("Bearer ")

    def csrf(path: str) -> str:
        found = re.search(r'name="_csrf_token" value="([^"]+)"', api.client.get(path).text)
        assert found is not None
        return found.group(1)

    api.client.post("/console/login", data={"key": key, "_csrf_token": csrf("/console/login"), "next": "/console"})
    page = api.client.get("/console/models")
    assert page.status_code == 200 and f"v{second} · 使用中" in page.text and f"回退到 v{first}" in page.text
    rolled = api.client.post("/console/models/rollback", data={"_csrf_token": csrf("/console/models")},
                             follow_redirects=False)
    assert rolled.status_code in (302, 303)
    api.run(api.state.models.current, force=True)
    assert _serving(api) == first
    assert f"v{first} · 使用中 · 已固定" in api.client.get("/console/models").text


def test_a_retrain_as_of_a_date_learns_only_what_came_before(api: Api) -> None:
    api.load(service_world())
    org = api.headers("organiser")
    first = _retrain(api, org, ranking_model="declared", as_of="2024-01-01")
    listed = {v["version"]: v for v in api.client.get("/api/models", headers=org).json()}
    assert listed[first["version"]]["trained_as_of"] == "2024-01-01"
    bad = api.client.post("/api/models/train", json={"as_of": "2024-13-01"}, headers=org)
    assert bad.status_code == 400 and "as_of" in bad.text


def test_with_retrain_on_outcomes_off_recorded_outcomes_start_no_retrain(api: Api) -> None:
    api.state.settings = replace(api.state.settings, retrain_on_outcomes=False)
    api.load(service_world())
    org = api.headers("organiser")
    api.train("declared")
    event = api.client.post("/api/events", json={
        "event_id": "2026-11-lotus-01", "name": "智造莲城 路演 2026年第11期", "tables": 1,
        "slots": [{"slot_id": "s01", "start": "2026-11-20T14:00", "end": "2026-11-20T14:20"}],
        "startups": [{"startup_id": "S_new_robotics"}], "investors": [{"investor_id": "I_cold"}]}, headers=org)
    assert event.status_code == 201, event.text
    recorded = api.client.post("/api/events/2026-11-lotus-01/outcomes", headers=org, json={
        "startup_id": "S_new_robotics", "investor_id": "I_cold", "outcome": "intent_signed", "amount_wan": 500})
    assert recorded.status_code == 201, recorded.text

    async def retrains() -> int:
        async with api.state.sessions() as session, session.begin():
            return len((await session.scalars(select(ScheduleJob.job_id).where(ScheduleJob.kind == "retrain"))).all())

    assert api.run(retrains) == 0


def _priority_and_threads() -> tuple[int, list[int]]:
    from threadpoolctl import threadpool_info

    return os.nice(0), sorted({int(p["num_threads"]) for p in threadpool_info()})


def test_the_fit_runs_in_a_child_at_a_lower_priority_with_one_thread_per_pool() -> None:
    """Issue 14: the API keeps its request rate during a retrain on a small machine."""
    niceness, threads = _in_child(_priority_and_threads)
    assert niceness == DEFAULT_NICENESS == 10 and threads == [1]
    assert _in_child(_priority_and_threads, 19)[0] == 19
