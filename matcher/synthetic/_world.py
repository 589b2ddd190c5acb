"""Assemble a world from its parts and write it as a data directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from matcher.errors import InvalidInputError
from matcher.io import DataSet, write_data_dir
from matcher.synthetic._config import SIZES
from matcher.synthetic._consents import make_consents
from matcher.synthetic._event import make_next_event
from matcher.synthetic._history import make_history
from matcher.synthetic._investors import make_investors, make_loan_products
from matcher.synthetic._loans import make_loans
from matcher.synthetic._startups import make_ip_assets, make_startups
from matcher.synthetic._truth import Truth

STEPS: tuple[str, ...] = ("startups", "ip assets", "investors and banks", "roadshow history", "loans",
                          "next event", "consents")
TRUTH_FILES: tuple[str, ...] = ("startups", "investors", "loans", "startup_pd", "meetings", "attendance")


@dataclass(frozen=True, slots=True)
class GeneratedWorld:
    """A generated world: the data directory's frames, the next roadshow and the hidden truth."""

    seed: int
    size: str
    data: DataSet
    next_event: dict[str, Any]
    truth: dict[str, pl.DataFrame]

    @property
    def events(self) -> pl.DataFrame:
        return self.data.events


def generate(seed: int, size: str = "small", progress: Callable[[str], None] | None = None) -> GeneratedWorld:
    """Generate the world of ``size`` (small, medium, large) from ``seed``; the same inputs give the same world.

    ``progress`` is called with the name of each step (see ``STEPS``) as it completes.
    """
    spec = SIZES.get(size)
    if spec is None:
        raise InvalidInputError(f"unknown size {size!r} (one of {', '.join(SIZES)})", field="size")
    if seed < 0:
        raise InvalidInputError("the seed must be a non-negative integer", field="seed")
    # One independent stream per part, so changing one part never reshuffles the others.
    streams = np.random.default_rng(seed).spawn(len(STEPS))
    done = progress or (lambda _step: None)

    startups = make_startups(streams[0], spec.startups)
    done(STEPS[0])
    ip_assets = make_ip_assets(streams[1], startups)
    done(STEPS[1])
    investors = make_investors(streams[2], spec.investors, spec.banks)
    products = make_loan_products(streams[2], investors)
    done(STEPS[2])
    truth_startups, truth_investors = startups.truth_frame(), investors.truth_frame()
    hidden = Truth.from_frames(truth_startups, truth_investors)
    history = make_history(streams[3], spec, startups, investors, hidden)
    done(STEPS[3])
    loans, truth_loans, startup_pd = make_loans(streams[4], startups, investors, ip=ip_assets,
                                                    products=products, hist=history)
    done(STEPS[4])
    next_event = make_next_event(streams[5], spec, startups, investors, hidden)
    done(STEPS[5])
    consents = make_consents(streams[6], startups.frame, investors.frame, history.interactions, loans)
    done(STEPS[6])

    data = DataSet(startups=startups.frame, ip_assets=ip_assets, investors=investors.frame,
                   interactions=history.interactions, loan_products=products, loans=loans,
                   events=history.events, consents=consents)
    truth = {"startups": truth_startups, "investors": truth_investors, "loans": truth_loans,
             "startup_pd": startup_pd, "meetings": history.meetings, "attendance": history.attendance}
    return GeneratedWorld(seed, size, data, next_event, truth)


def write_world(world: GeneratedWorld, out: Path, fmt: Literal["csv", "parquet"] = "csv") -> list[Path]:
    """Write the data files (CSV or Parquet), ``next_event.json`` and ``truth/*.csv`` under ``out``.

    A table's file in the other format is removed, since readers prefer the CSV and would otherwise
    read a previous world's table."""
    out = Path(out)
    written = write_data_dir(world.data, out, fmt=fmt)
    other = "parquet" if fmt == "csv" else "csv"
    for path in written:
        path.with_suffix(f".{other}").unlink(missing_ok=True)
    event_path = out / "next_event.json"
    event_path.write_text(json.dumps(world.next_event, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    written.append(event_path)
    truth_dir = out / "truth"
    truth_dir.mkdir(exist_ok=True)
    for name in TRUTH_FILES:
        path = truth_dir / f"{name}.csv"
        world.truth[name].write_csv(path)
        written.append(path)
    return written
