"""Participants' lists uploaded as files (``POST /api/imports``, the console's import page): each file is one
table of a data directory (DATA_FORMAT.md), in CSV, Parquet or an Excel workbook, under whatever name it was
saved as. The files are put in a directory under their tables' names and go the way ``roadshow import``
goes: ``matcher.io.read_data_dir`` validates them together, then one transaction inserts every row or none.
"""

from __future__ import annotations

import asyncio
import codecs
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.frames import import_dataset
from matcher.errors import DataIssue, DataValidationError, InvalidInputError
from matcher.io import TABLES, DataSet, read_data_dir

FORMATS = (".csv", ".xlsx", ".parquet")
# The tables an office uploads, in the order its form shows them; any other table of the contract is taken too.
PARTICIPANT_TABLES = ("startups", "ip_assets", "investors", "loan_products")


@dataclass(frozen=True, slots=True)
class Upload:
    table: str  # a table of the contract: the form field the file came in
    filename: str  # as the user saved it
    content: bytes


@dataclass(frozen=True, slots=True)
class ImportReport:
    counts: dict[str, int]
    warnings: list[DataIssue]


def _named(issue: DataIssue, names: dict[str, str]) -> DataIssue:
    # The user knows the file as they saved it: name both.
    original = names.get(issue.file)
    return issue if original is None or original == issue.file else replace(issue, file=f"{original} ({issue.file})")


def _read(uploads: list[Upload], encoding: str) -> tuple[DataSet, dict[str, str]]:
    names: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="roadshow-import-") as tmp:
        for upload in uploads:
            target = f"{upload.table}{PurePath(upload.filename).suffix.lower()}"
            names[target] = upload.filename
            (Path(tmp) / target).write_bytes(upload.content)
        try:
            data = read_data_dir(Path(tmp), encoding=encoding)
        except DataValidationError as exc:
            raise DataValidationError([_named(i, names) for i in exc.issues]) from None
    return data, names


def check(uploads: list[Upload], encoding: str) -> None:
    """What the form or request got wrong before any file is read, naming the field."""
    if not uploads:
        raise InvalidInputError("choose at least one file (startups, investors, ...)", field="files")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidInputError(f"unknown text encoding {encoding!r} (utf-8 or gb18030)", field="encoding") from None
    seen: set[str] = set()
    for upload in uploads:
        if upload.table not in TABLES:
            raise InvalidInputError(f"{upload.table!r} is no table of DATA_FORMAT.md (startups, investors, ...)",
                                    field=upload.table)
        if upload.table in seen:
            raise InvalidInputError(f"two files for {upload.table}", field=upload.table)
        seen.add(upload.table)
        if PurePath(upload.filename).suffix.lower() not in FORMATS:
            raise InvalidInputError(f"{upload.filename}: not a CSV, Excel (.xlsx) or Parquet file", field=upload.table)
        if not upload.content:
            raise InvalidInputError(f"{upload.filename} is empty", field=upload.table)


async def import_uploads(session: AsyncSession, uploads: list[Upload], *, encoding: str = "utf-8") -> ImportReport:
    """Validate the files together, then insert them in one transaction (``DataValidationError`` listing
    every problem by the user's file name, row and column, or ``ConflictError``: nothing is written)."""
    check(uploads, encoding)
    # Parsing and checking 20,000 rows is CPU work: not on the event loop.
    data, names = await asyncio.to_thread(_read, uploads, encoding)
    counts = await import_dataset(session, data)
    return ImportReport(counts={t: n for t, n in counts.items() if n},
                        warnings=[_named(i, names) for i in data.warnings])
