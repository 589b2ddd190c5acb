"""``roadshow generate``: write a seeded sample world (data directory, next event and hidden truth)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from roadshow.commands._common import console, user_errors


class Size(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


def generate_command(
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory to write the world into (created if missing).")],
    seed: Annotated[int, typer.Option(min=0, help="Random seed; the same seed and size give identical files.")] = 7,
    size: Annotated[Size, typer.Option(help="World size (startups / investors / banks).")] = Size.SMALL,
    fmt: Annotated[Format, typer.Option("--format", help="File format of the data tables.")] = Format.CSV,
) -> None:
    """Generate a seeded sample world: data directory, next roadshow and hidden truth.

    Writes startups, IP, investors and banks, three years of roadshows and their outcomes, loans,
    the next roadshow (next_event.json) and the hidden truth (truth/, for benchmarks only)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from matcher.synthetic import SIZES, STEPS, generate, write_world

    spec = SIZES[size.value]
    console.print(f"Generating a {size.value} world (seed {seed}): {spec.startups:,} startups, "
                  f"{spec.investors:,} investors, {spec.banks:,} banks", highlight=False)
    started = time.perf_counter()
    with user_errors(), Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                                 console=console, transient=True) as progress:
        task = progress.add_task("generating", total=len(STEPS) + 1)

        def step(name: str) -> None:
            progress.update(task, advance=1, description=name)

        world = generate(seed, size.value, progress=step)
        progress.update(task, description="writing files")
        written = write_world(world, out, fmt=fmt.value)
        progress.update(task, advance=1)
    for name, frame in world.data.frames().items():
        console.print(f"  {name:<14} {frame.height:>9,} rows", highlight=False)
    console.print(f"[green]wrote {len(written)} files to {out}[/green] in {time.perf_counter() - started:.1f} s")


def register(app: typer.Typer) -> None:
    app.command("generate")(generate_command)
