"""Entry point of the ``roadshow`` console script.

Start-up is kept to typer and the command signatures: every command imports the libraries it needs
(polars, scikit-learn, SciPy, the service layer) when it runs, so ``roadshow --help`` answers at once.

Exit codes: 0 success; 1 bad input or any other error, usage errors included (one line on stderr naming
the option or file); 2 only for an infeasible schedule (DATA_FORMAT.md).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer._click.exceptions import NoArgsIsHelpError  # typer's bundled click; pinned by uv.lock, tested
from typer.core import TyperGroup

from roadshow.commands import data, demo, eligibility, generate, outcomes, ranking, scheduling, service
from roadshow.commands._common import EXIT_ERROR


def usage_error_line(exc: typer.TyperException) -> str:
    """One line for a usage error: the option or argument, what is wrong, and where help is."""
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None) or (param.get_error_hint() if param is not None else None)
    message = exc.message if hint and exc.message else exc.format_message()
    message = " ".join(message.removeprefix("Value error, ").split()).rstrip(".")  # one line, as typer words it
    where = hint.replace("'", "") + ": " if hint and exc.message else ""
    ctx = getattr(exc, "ctx", None)
    help_hint = f" (see '{ctx.command_path} -h')" if ctx is not None else ""
    return f"error: {where}{message[:1].lower()}{message[1:]}{help_hint}"


class RoadshowGroup(TyperGroup):
    """Turns click's usage errors (exit 2, a usage dump) into one line and exit 1, because exit code 2 is
    the contract's "infeasible schedule"."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        run = super().main
        if not standalone_mode:
            return run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:
            # A group called without a sub-command: its help is the answer, not an error.
            typer.echo(exc.message)
            sys.exit(0)
        except typer.TyperException as exc:
            typer.echo(usage_error_line(exc), err=True)
            sys.exit(EXIT_ERROR)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="roadshow",
    cls=RoadshowGroup,
    help="Roadshow Matcher: pairing, scheduling and credit eligibility for 智造莲城 roadshows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help: it reads the same in any terminal (a Chinese Windows console too) and needs no rich import.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"roadshow {version('roadshow-matcher')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Roadshow Matcher: pairing, scheduling and credit eligibility for 智造莲城 roadshows."""


for module in (data, demo, ranking, generate, service, outcomes, scheduling, eligibility):
    module.register(app)


def main() -> None:
    app()
