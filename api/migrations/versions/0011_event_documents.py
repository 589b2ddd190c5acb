"""Events stored as one document each: the event problem (event.json as the library resolved it, names
and scores included) and the schedule (the library's Schedule, its meetings in the meetings table).

Existing events are converted in place from the old columns; the old columns stay (additive migration)
but are no longer written.

Revision ID: 0011_event_documents
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011_event_documents"
down_revision = "0001"
branch_labels = None
depends_on = None

_SUMMARY_KEYS = ("event_id", "status", "solver", "mode", "objective", "upper_bound", "gap", "meetings", "seconds",
                 "moved", "meeting_list")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("problem", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("schedule", sa.JSON(), nullable=True))
    bind = op.get_bind()
    events = sa.table(
        "events",
        sa.column("event_id", sa.String), sa.column("name", sa.String), sa.column("tables", sa.Integer),
        sa.column("slots", sa.JSON), sa.column("scores", sa.JSON), sa.column("requests", sa.JSON),
        sa.column("conflicts", sa.JSON), sa.column("summary", sa.JSON), sa.column("problem", sa.JSON),
        sa.column("schedule", sa.JSON),
    )
    people = sa.table(
        "event_participants",
        sa.column("event_id", sa.String), sa.column("side", sa.String), sa.column("participant_id", sa.String),
        sa.column("available", sa.JSON), sa.column("min_meetings", sa.Integer), sa.column("max_meetings", sa.Integer),
    )
    for row in bind.execute(sa.select(events).where(events.c.tables > 0)).mappings().all():
        problem: dict[str, Any] = {
            "event_id": row["event_id"], "name": row["name"] or row["event_id"], "tables": row["tables"],
            "slots": row["slots"] or [], "scores": row["scores"] or [], "requests": row["requests"] or [],
            "conflicts": row["conflicts"] or [], "startups": [], "investors": [],
        }
        for p in bind.execute(sa.select(people).where(people.c.event_id == row["event_id"])).mappings().all():
            key, id_key = ("startups", "startup_id") if p["side"] == "startup" else ("investors", "investor_id")
            entry: dict[str, Any] = {id_key: p["participant_id"], "min_meetings": p["min_meetings"] or 0}
            if p["available"] is not None:
                entry["available"] = p["available"]
            if p["max_meetings"] is not None:
                entry["max_meetings"] = p["max_meetings"]
            problem[key].append(entry)
        schedule = None
        summary = row["summary"]
        if summary:
            schedule = {
                "event_id": row["event_id"], "status": summary.get("status", "feasible"),
                "solver": summary.get("solver", "auto"), "mode": summary.get("mode", "total"),
                "objective": summary.get("objective", 0.0), "upper_bound": summary.get("upper_bound", 0.0),
                "seconds": summary.get("seconds", 0.0), "rescheduled": bool(summary.get("moved")),
                "stats": {k: v for k, v in summary.items() if k not in _SUMMARY_KEYS},
                "moves": [
                    {"startup_id": m["startup_id"], "investor_id": m["investor_id"], "old_slot_id": m.get("from"),
                     "new_slot_id": m.get("to"), "reason": m.get("reason", "")}
                    for m in summary.get("moved", [])
                ],
            }
        bind.execute(
            events.update().where(events.c.event_id == row["event_id"]).values(problem=problem, schedule=schedule)
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("schedule")
        batch_op.drop_column("problem")
