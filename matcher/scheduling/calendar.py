"""One iCalendar file per participant, as bytes.

Each entry names the counterpart, has the venue and table as LOCATION, the organiser as ORGANIZER and the
roadshow in its description, at the slot's time in the event's zone (with its VTIMEZONE). UIDs are derived
from event id + participant + pair only, never from the slot or the run, so importing a re-run or a re-plan
updates the same entries instead of adding duplicates; a meeting a re-plan dropped is written as a
cancelled entry with its old UID so calendars remove it.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from matcher.scheduling.handout import DEFAULT_ORGANISER, DEFAULT_TZ, Organiser, location, zone
from matcher.scheduling.problem import EventProblem
from matcher.scheduling.schedule import Schedule

MEDIA_TYPE = "text/calendar; charset=utf-8"
_UID_NAMESPACE = uuid.UUID("6f1c1d0e-2f4b-5a57-9f1e-6a5e0c7d2b11")
_SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def meeting_uid(event_id: str, participant_id: str, startup_id: str, investor_id: str) -> str:
    """Stable across re-runs and reschedules: depends on who meets whom, not when."""
    key = f"{event_id}\x1f{participant_id}\x1f{startup_id}\x1f{investor_id}"
    return f"{uuid.uuid5(_UID_NAMESPACE, key)}@roadshow-matcher"


def calendar_name(side: str, participant_id: str) -> str:
    return f"{side}-{re.sub(r'[^0-9A-Za-z._-]', '_', participant_id)}.ics"


def calendars(
    problem: EventProblem,
    schedule: Schedule,
    *,
    tz: str = DEFAULT_TZ,
    organiser: Organiser = DEFAULT_ORGANISER,
    generated_at: datetime | None = None,
) -> dict[str, bytes]:
    """``{file name: .ics bytes}`` for every participant with a meeting (or a cancelled one)."""
    where = zone(tz)
    stamp = (generated_at or datetime.now(UTC)).astimezone(UTC)
    slots = {s.slot_id: s for s in problem.slots}
    # Every export supersedes the previous one: SEQUENCE grows with the export time (in minutes), so a
    # calendar that already holds an entry takes the new time or the cancellation as the newer revision.
    sequence = int((stamp - _SEQUENCE_EPOCH).total_seconds() // 60)
    entries: dict[tuple[str, str], list[tuple[str, str, str, int, bool]]] = defaultdict(list)
    for m in schedule.meetings:
        entries[("startup", m.startup_id)].append((m.startup_id, m.investor_id, m.slot_id, m.table, False))
        entries[("investor", m.investor_id)].append((m.startup_id, m.investor_id, m.slot_id, m.table, False))
    for d in schedule.changes("dropped"):
        old_slot = d.old_slot_id or ""
        entries[("startup", d.startup_id)].append((d.startup_id, d.investor_id, old_slot, d.old_table or 0, True))
        entries[("investor", d.investor_id)].append((d.startup_id, d.investor_id, old_slot, d.old_table or 0, True))

    # Built once: converting a zone to VTIMEZONE is most of the cost of writing hundreds of files.
    vtimezone = icalendar.Timezone.from_tzid(tz)
    organizer = icalendar.vCalAddress(f"mailto:{organiser.email}")
    organizer.params["cn"] = icalendar.vText(organiser.name)
    files: dict[str, bytes] = {}
    for (side, pid), items in sorted(entries.items()):
        cal = icalendar.Calendar()
        cal.add("prodid", "-//Roadshow Matcher//meeting grid//ZH")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", f"{problem.name} · {problem.label_of(pid)}")
        cal.add("x-wr-timezone", tz)
        for startup_id, investor_id, slot_id, table, cancelled in items:
            slot = slots[slot_id]
            other = problem.label_of(investor_id if side == "startup" else startup_id)
            event = icalendar.Event()
            event.add("uid", meeting_uid(problem.event_id, pid, startup_id, investor_id))
            event.add("dtstamp", stamp)
            event.add("dtstart", _zoned(slot.start, where))
            event.add("dtend", _zoned(slot.end, where))
            event.add("summary", f"与 {other} 会谈")
            event.add("organizer", organizer)
            event.add("sequence", sequence)
            if cancelled:
                event.add("status", "CANCELLED")
                event.add("description", f"{problem.name}：与 {other} 的会谈已取消\nMeeting with {other} cancelled")
            else:
                event.add("status", "CONFIRMED")
                event.add("location", location(problem, table))
                event.add(
                    "description",
                    f"{problem.name}\n与 {other} 一对一会谈，{table}号桌\n"
                    f"One-to-one meeting with {other}, table {table}",
                )
            cal.add_component(event)
        cal.add_component(vtimezone)
        files[calendar_name(side, pid)] = cal.to_ical()
    return files


def _zoned(value: datetime, where: ZoneInfo) -> datetime:
    return value.astimezone(where) if value.utcoffset() is not None else value.replace(tzinfo=where)


def calendars_zip(files: dict[str, bytes]) -> bytes:
    """Per-participant calendars bundled in one download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()
