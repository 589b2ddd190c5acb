from __future__ import annotations

from msgspec import Struct


class ImportIssue(Struct):
    file: str
    row: int | None
    column: str | None
    message: str


class ImportRead(Struct):
    imported: dict[str, int]  # table -> rows inserted
    warnings: list[ImportIssue]
