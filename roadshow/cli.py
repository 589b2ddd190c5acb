"""Entry point of the ``roadshow`` console script."""

from __future__ import annotations

import typer

from roadshow.commands import data, demo, eligibility, generate, ranking, scheduling, service

app = typer.Typer(
    name="roadshow",
    help="Roadshow Matcher: pairing, scheduling and credit eligibility for 智造莲城 roadshows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)



@app.callback()
def _root() -> None:
    """Roadshow Matcher: pairing, scheduling and credit eligibility for 智造莲城 roadshows."""


for module in (data, demo, ranking, generate, service, scheduling, eligibility):
    module.register(app)


def main() -> None:
    app()
