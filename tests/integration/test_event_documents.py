"""An event stored before migration 0011 (columns, participant rows and a summary blob) reads back, after
the upgrade, as the library's problem and schedule (issue 11)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from api.db.engine import create_engine, session_factory
from api.db.migrate import upgrade
from api.db.models import Event, EventParticipant, Meeting
from api.services import events
from tests.integration.test_api_service import empty_database  # noqa: F401  # the fixture, both backends


def test_an_old_event_is_converted_in_place(empty_database: str) -> None:  # noqa: F811
    url = empty_database
    upgrade(url, "0001")
    slots = [{"slot_id": "s01", "start": "2026-12-01T14:00", "end": "2026-12-01T14:20"}]
    old_summary: dict[str, Any] = {
        "event_id": "old", "status": "optimal", "solver": "auto", "mode": "total", "objective": 0.9,
        "upper_bound": 0.9, "gap": 0.0, "meetings": 1, "seconds": 0.1, "total_score": 0.9, "wishes_met": 0,
        "moved": [{"startup_id": "S1", "investor_id": "I2", "from": "s01", "to": None, "reason": "cancelled"}],
    }

    async def work() -> events.ScheduledEvent:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(Event.__table__), [{
                    "event_id": "old", "name": "旧路演", "tables": 1, "slots": slots, "version": 1,
                    "scores": [{"startup_id": "S1", "investor_id": "I1", "score": 0.9}], "requests": [],
                    "conflicts": [], "summary": old_summary, "created_at": datetime(2026, 1, 1, tzinfo=UTC)}])
                await conn.execute(insert(EventParticipant.__table__), [
                    {"event_id": "old", "side": "startup", "participant_id": "S1", "min_meetings": 0},
                    {"event_id": "old", "side": "investor", "participant_id": "I1", "min_meetings": 0,
                     "max_meetings": 1, "available": ["s01"]},
                ])
                await conn.execute(insert(Meeting.__table__), [
                    {"event_id": "old", "slot_id": "s01", "table": 1, "startup_id": "S1", "investor_id": "I1",
                     "score": 0.9}])
            await asyncio.to_thread(upgrade, url)
            async with session_factory(engine)() as session:
                return await events.scheduled(session, event_id="old")
        finally:
            await engine.dispose()

    found = asyncio.run(work())
    assert found.problem.name == "旧路演" and found.problem.investor("I1").max_meetings == 1
    assert found.problem.scores == {("S1", "I1"): 0.9}
    assert found.schedule is not None and found.schedule.mode == "total"
    assert [(m.startup_id, m.investor_id) for m in found.schedule.meetings] == [("S1", "I1")]
    assert found.schedule.stats["total_score"] == 0.9
    assert [m.kind for m in found.schedule.moves] == ["dropped"]
