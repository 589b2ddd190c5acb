"""The one-to-one meeting grid of a roadshow (and its pitch sessions).

event.json → :func:`load_event` → :func:`solve` (encoder → solver → decoder, then :func:`verify`) →
:func:`export_files` / :func:`write_exports`. :func:`reschedule` re-solves after changes with confirmed
meetings fixed; :func:`plan_sessions` groups pitches into themed sessions and invites investors.

Session planning needs polars and solving a grid does not, so its names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matcher.scheduling.encoder import DEFAULT_MODE, MODES, Mode
from matcher.scheduling.exports import FORMATS, Download, download, export_files, write_exports
from matcher.scheduling.grid import solve
from matcher.scheduling.handout import DEFAULT_ORGANISER, Organiser
from matcher.scheduling.problem import EventProblem, PairScorer, event_to_dict, load_event, parse_event, score_unscored
from matcher.scheduling.reschedule import (
    Changes,
    load_changes,
    load_current,
    parse_changes,
    read_meetings_csv,
    reschedule,
)
from matcher.scheduling.schedule import Meeting, Move, Schedule, meetings_per_startup, spread
from matcher.scheduling.verify import Verification, verify

if TYPE_CHECKING:
    from matcher.scheduling.sessions import PitchSession, SessionPlan, plan_sessions

_SESSIONS = ("PitchSession", "SessionPlan", "plan_sessions")


def __getattr__(name: str) -> Any:
    if name in _SESSIONS:
        from matcher.scheduling import sessions

        return getattr(sessions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MODE",
    "DEFAULT_ORGANISER",
    "FORMATS",
    "MODES",
    "Changes",
    "Download",
    "EventProblem",
    "Meeting",
    "Mode",
    "Move",
    "Organiser",
    "PairScorer",
    "PitchSession",
    "Schedule",
    "SessionPlan",
    "Verification",
    "download",
    "event_to_dict",
    "export_files",
    "load_changes",
    "load_current",
    "load_event",
    "meetings_per_startup",
    "parse_changes",
    "parse_event",
    "plan_sessions",
    "read_meetings_csv",
    "reschedule",
    "score_unscored",
    "solve",
    "spread",
    "verify",
    "write_exports",
]
