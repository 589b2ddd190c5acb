"""Domain exceptions. The API maps each class to one HTTP status; the CLI to one exit code."""

from __future__ import annotations

from dataclasses import dataclass, field


class MatcherError(Exception):
    """Base class of every error the library raises on purpose."""


class InvalidInputError(MatcherError):
    """A value supplied by a user is wrong. ``field`` names it when one field is to blame."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(MatcherError):
    """A referenced record does not exist."""


class ConflictError(MatcherError):
    """The request conflicts with stored state (duplicate, stale version). ``field`` names the value to blame
    (a duplicate 统一社会信用代码, a stale ``version``) when one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PermissionDeniedError(MatcherError):
    """The caller may not do this."""


class NotFittedError(MatcherError):
    """A model was used before it was fitted or loaded."""


@dataclass(frozen=True, slots=True)
class DataIssue:
    """One problem found in an interchange file, located to file, row and column."""

    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{self.severity}: {where}: {self.message}"


@dataclass(slots=True)
class DataValidationError(MatcherError):
    """A data directory failed validation; ``issues`` lists every problem found."""

    issues: list[DataIssue] = field(default_factory=list)

    def __str__(self) -> str:
        errors = [i for i in self.issues if i.severity == "error"]
        head = f"{len(errors)} error(s) in the data directory"
        return head + "".join(f"\n  {i}" for i in errors[:50])


class InfeasibleError(MatcherError):
    """An optimisation problem has no solution. ``conflicts`` says what to relax."""

    def __init__(self, message: str, *, conflicts: list[str] | None = None) -> None:
        super().__init__(message)
        self.conflicts = conflicts or []


class PolicyError(MatcherError):
    """A policy file is malformed (overlapping bands, gaps, wrong order, missing keys)."""
