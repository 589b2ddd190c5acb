"""Exports for people, produced in memory: meetings.csv, the Excel workbook, one iCalendar file per
participant, the printable agenda and the schedule document (JSON). The CLI writes them to a folder; the
service sends the same bytes as downloads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from matcher.errors import InvalidInputError
from matcher.scheduling import agenda, calendar, tables
from matcher.scheduling.handout import DEFAULT_ORGANISER, DEFAULT_TZ, Organiser
from matcher.scheduling.problem import EventProblem
from matcher.scheduling.schedule import Schedule

FORMATS = ("csv", "xlsx", "ics", "html", "json")


@dataclass(frozen=True, slots=True)
class Download:
    content: bytes
    media_type: str
    filename: str


def export_files(
    problem: EventProblem,
    schedule: Schedule,
    fmt: str,
    *,
    tz: str = DEFAULT_TZ,
    organiser: Organiser = DEFAULT_ORGANISER,
    generated_at: datetime | None = None,
) -> dict[str, bytes]:
    """``{relative path: bytes}`` of one format (``ics`` gives one file per participant under ``ics/``)."""
    if fmt == "csv":
        return {"meetings.csv": tables.meetings_csv(problem, schedule, tz)}
    if fmt == "xlsx":
        return {"schedule.xlsx": tables.workbook(problem, schedule, tz)}
    if fmt == "ics":
        files = calendar.calendars(problem, schedule, tz=tz, organiser=organiser, generated_at=generated_at)
        return {f"ics/{name}": content for name, content in files.items()}
    if fmt == "html":
        return {"agenda.html": agenda.agenda_html(problem, schedule, tz)}
    if fmt == "json":
        document = json.dumps(schedule.to_document(), ensure_ascii=False, indent=1)
        return {"schedule.json": document.encode("utf-8")}
    raise InvalidInputError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}", field="format")


def download(
    problem: EventProblem,
    schedule: Schedule,
    fmt: str,
    *,
    stem: str,
    tz: str = DEFAULT_TZ,
    organiser: Organiser = DEFAULT_ORGANISER,
) -> Download:
    """One format as a single file (the calendars as a zip) for a browser or an HTTP client."""
    files = export_files(problem, schedule, fmt, tz=tz, organiser=organiser)
    if fmt == "ics":
        flat = {path.removeprefix("ics/"): content for path, content in files.items()}
        return Download(calendar.calendars_zip(flat), "application/zip", f"{stem}-ics.zip")
    media = {"csv": "text/csv; charset=utf-8", "xlsx": tables.MEDIA_TYPE, "html": agenda.MEDIA_TYPE,
             "json": "application/json"}
    suffix = {"csv": "csv", "xlsx": "xlsx", "html": "html", "json": "json"}
    content = next(iter(files.values()))
    return Download(content, media[fmt], f"{stem}.{suffix[fmt]}")


def write_exports(
    problem: EventProblem,
    schedule: Schedule,
    out_dir: Path,
    *,
    formats: Sequence[str] = FORMATS,
    tz: str = DEFAULT_TZ,
    organiser: Organiser = DEFAULT_ORGANISER,
    generated_at: datetime | None = None,
) -> dict[str, list[Path]]:
    """Write the chosen formats into ``out_dir`` (created if missing); returns the files by format."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InvalidInputError(f"unknown export format {unknown[0]!r}", field="formats")
    written: dict[str, list[Path]] = {}
    for fmt in formats:
        files = export_files(problem, schedule, fmt, tz=tz, organiser=organiser, generated_at=generated_at)
        paths = []
        for relative, content in files.items():
            path = out_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            paths.append(path)
        written[fmt] = paths
    return written
