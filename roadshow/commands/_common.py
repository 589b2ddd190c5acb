"""What every command shares: the console, loading a data directory, and turning domain errors into
a one-line message and an exit code instead of a traceback."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from matcher.errors import DataIssue, DataValidationError, InfeasibleError, InvalidInputError, MatcherError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from matcher.io import DataSet


@contextmanager
def native_output_to_stderr() -> Iterator[None]:
    """While the block runs, what native code writes to the process's stdout goes to stderr instead:
    HiGHS prints a debug line there on some events, and a command's stdout must carry only its JSON.
    (A command is one thread, so moving file descriptor 1 for the block takes nothing from anyone else.)"""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class _LazyConsole:
    """A rich ``Console`` made on first use: importing rich takes longer than answering ``--help`` should."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _made(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
            if not self._stderr and not self._console.is_terminal:
                # Piped or captured output (make demo in CI, logs): wide enough that tables keep one line per row.
                self._console.width = 140
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)

    # rich's progress display enters the console; special methods bypass __getattr__.
    def __enter__(self) -> Console:
        return self._made().__enter__()

    def __exit__(self, *exc: object) -> None:
        self._made().__exit__(*exc)


console = cast("Console", _LazyConsole(stderr=False))
err_console = cast("Console", _LazyConsole(stderr=True))

EXIT_ERROR = 1
EXIT_INFEASIBLE = 2


@contextmanager
def user_errors() -> Iterator[None]:
    """Report domain errors as messages naming the field or file; exit non-zero without a traceback."""
    try:
        yield
    except DataValidationError as exc:
        for line in error_lines(exc.issues):
            err_console.print(f"[red]{line}[/red]", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
    except InfeasibleError as exc:
        err_console.print(f"[red]infeasible:[/red] {exc}", highlight=False, soft_wrap=True)
        for line in exc.conflicts:
            err_console.print(f"  - {line}", highlight=False, markup=False)
        raise typer.Exit(EXIT_INFEASIBLE) from None
    except InvalidInputError as exc:
        where = f"{exc.field}: " if exc.field else ""
        err_console.print(f"[red]error:[/red] {where}{exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
    except MatcherError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        # Some readers (polars) raise these with only a message, no strerror or filename.
        what = f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc)
        err_console.print(f"[red]error:[/red] {what}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
    except Exception as exc:
        reason = database_failure(exc)
        if reason is None:
            raise
        err_console.print(f"[red]error:[/red] {reason}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None


SHOWN_PER_COLUMN = 5


def error_lines(issues: list[DataIssue]) -> list[str]:
    """One line per error, the first few of each file and column and a count of the rest: a file with
    one wrong convention in a column fails on every row, and a screenful of the same line hides the
    others (``roadshow validate`` lists them all)."""
    lines: list[str] = []
    shown: Counter[tuple[str, str | None]] = Counter()
    rest: Counter[tuple[str, str | None]] = Counter()
    for issue in (i for i in issues if i.severity == "error"):
        where = (issue.file, issue.column)
        if issue.column is not None and shown[where] >= SHOWN_PER_COLUMN:
            rest[where] += 1
            continue
        shown[where] += 1
        lines.append(str(issue))
    lines += [f"error: {file}, column {column}: {n} more row(s) like these (roadshow validate lists every one)"
              for (file, column), n in rest.items()]
    return lines


# Errors raised by the database layers; recognised by module so the CLI need not import them to catch them.
_DATABASE_MODULES = frozenset({"sqlalchemy", "alembic", "asyncpg", "aiosqlite", "sqlite3"})


def database_failure(exc: BaseException) -> str | None:
    """A one-line reason when ``exc`` means the configured database cannot be used, else None."""
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return f"cannot reach the database (DATABASE_URL): {exc}"
    if type(exc).__module__.split(".")[0] not in _DATABASE_MODULES:
        return None
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    first = text.splitlines()[0] if text else type(cause).__name__
    return f"the database (DATABASE_URL) failed: {first}"


DataDirOption = Annotated[
    Path | None,
    typer.Option("--data", help="Data directory (DATA_FORMAT.md); without it, the configured database (DATABASE_URL)."),
]


def load_data(data_dir: Path | None, encoding: str = "utf-8") -> DataSet:
    """Read and validate a data directory, printing its warnings; ``None`` reads the configured database."""
    if data_dir is None:
        # The service layer is imported only on this path, so batch runs on a directory stay light.
        from roadshow.commands.service import database_dataset

        return database_dataset()
    from matcher.io import read_data_dir

    data = read_data_dir(data_dir, encoding=encoding)
    for issue in data.warnings:
        err_console.print(f"[yellow]{issue}[/yellow]", highlight=False, soft_wrap=True)
    return data


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{value!r} is not a YYYY-MM-DD date", field=option) from None


PROGRESS_DELAY = 1.0  # seconds: a command that finishes sooner shows no progress display at all


class Steps:
    """What a long command reports to its progress display: the current step and, when known, how far."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self._bar, self._task = bar, task

    def step(self, description: str, total: int | None = None) -> None:
        self._bar.reset(self._task, description=description, total=total, start=True)

    def advance(self, done: int, total: int) -> None:
        self._bar.update(self._task, completed=done, total=total)


@contextmanager
def progress(description: str) -> Iterator[Steps]:
    """A progress display on stderr (never in the files or the output a command writes) that appears
    only once the work has taken longer than ``PROGRESS_DELAY`` and vanishes when it ends."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=err_console, transient=True)
    task = bar.add_task(description, total=None)
    timer = threading.Timer(PROGRESS_DELAY, bar.start)
    timer.daemon = True
    timer.start()
    try:
        yield Steps(bar, task)
    finally:
        timer.cancel()
        bar.stop()
