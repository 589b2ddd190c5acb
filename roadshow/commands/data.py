"""Data-directory commands: ``validate``, ``template``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roadshow.commands._common import EXIT_ERROR, console, user_errors

DataDir = Annotated[Path, typer.Argument(help="Data directory (CSV or Parquet files as in DATA_FORMAT.md).")]
Encoding = Annotated[str, typer.Option(help="Text encoding of the CSV files, e.g. utf-8, gbk, cp1252.")]


def validate(directory: DataDir, encoding: Encoding = "utf-8") -> None:
    """Check a data directory and print every problem with its file, row and column."""
    from matcher.io import validate_data_dir

    with user_errors():
        issues = validate_data_dir(directory, encoding=encoding)
    errors = [i for i in issues if i.severity == "error"]
    # One line per problem, so the report can be grepped and read in any terminal width.
    for issue in issues:
        style = "red" if issue.severity == "error" else "yellow"
        console.print(f"[{style}]{issue}[/{style}]", highlight=False, soft_wrap=True)
    if errors:
        console.print(f"[red]{len(errors)} error(s)[/red] in {directory}")
        raise typer.Exit(EXIT_ERROR)
    console.print(f"[green]{directory} is valid[/green] ({len(issues)} warning(s))")


def template(
    table: Annotated[str, typer.Argument(help="A table of DATA_FORMAT.md: startups, ip_assets, investors, ...")],
    out: Annotated[Path, typer.Option("--out", help="The .xlsx file to write.")],
) -> None:
    """Write a blank Excel workbook for one table: its header row, and a sheet on what each column takes."""
    from matcher.templates import template_workbook

    with user_errors():
        content = template_workbook(table)
        out.write_bytes(content)
    console.print(f"wrote {out}: fill in the first sheet, then `roadshow import` a directory holding it as "
                  f"{table}.xlsx, or upload it on the console's import page", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(template)
