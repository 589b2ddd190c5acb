"""The hidden state of a generated world, as the outcome and wish models use it, read from ``truth/`` alone.

The generator builds the same object from the same frames it writes, so what a benchmark simulates
from a written directory is what the history was drawn from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import STAGE_ORDER
from matcher.errors import InvalidInputError, NotFoundError
from matcher.synthetic._startups import ask_at, stage_on
from matcher.synthetic._utility import UtilityModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DayArray = npt.NDArray[np.datetime64]

ATTENDANCE_SCHEMA: dict[str, type[pl.DataType]] = {
    "event_id": pl.Utf8, "held_on": pl.Date, "side": pl.Utf8, "participant_id": pl.Utf8,
}


@dataclass(frozen=True, slots=True)
class Truth:
    """Hidden preferences, stage paths and roadshow attendance of a generated world.

    Build it with ``read_truth(directory)``; rows follow ``truth/startups.csv`` and
    ``truth/investors.csv``. ``attendance`` lists, per past roadshow, who pitched (``side =
    startup``) and which institutions came (``side = investor``)."""

    utility: UtilityModel
    stage_end: IntArray
    upgrades: DayArray  # (startups, 2); NaT when none
    ask_end: FloatArray
    is_bank: npt.NDArray[np.bool_]
    ticket_min: FloatArray
    ticket_max: FloatArray
    attendance: pl.DataFrame

    @classmethod
    def from_frames(cls, startups: pl.DataFrame, investors: pl.DataFrame,
                    attendance: pl.DataFrame | None = None) -> Truth:
        stage_index = {s.value: j for j, s in enumerate(STAGE_ORDER)}
        upgrades = np.stack([startups[c].cast(pl.Date).to_numpy().astype("datetime64[D]")
                             for c in ("upgrade_1_on", "upgrade_2_on")], axis=1)
        return cls(
            utility=UtilityModel.from_frames(startups, investors),
            stage_end=np.array([stage_index[c] for c in startups["stage"].to_list()], dtype=np.int64),
            upgrades=upgrades,
            ask_end=startups["funding_ask_wan"].cast(pl.Float64).to_numpy(),
            is_bank=(investors["kind"] == "bank").to_numpy(),
            ticket_min=investors["ticket_min_wan"].cast(pl.Float64).to_numpy(),
            ticket_max=investors["ticket_max_wan"].cast(pl.Float64).to_numpy(),
            attendance=attendance if attendance is not None else pl.DataFrame(schema=ATTENDANCE_SCHEMA),
        )

    @property
    def startup_ids(self) -> list[str]:
        return self.utility.startup_ids

    @property
    def investor_ids(self) -> list[str]:
        return self.utility.investor_ids

    def startup_rows(self, ids: Sequence[str]) -> IntArray:
        return _rows(self.utility.startup_ids, ids, "startup_id")

    def investor_rows(self, ids: Sequence[str]) -> IntArray:
        return _rows(self.utility.investor_ids, ids, "investor_id")

    def stage_on(self, sj: IntArray, on: DayArray) -> IntArray:
        """Stage ordinals of startup rows ``sj`` on dates ``on``."""
        return stage_on(self.stage_end[sj], self.upgrades[sj], on)

    def ask_at(self, sj: IntArray, stage: IntArray) -> FloatArray:
        """What startup rows ``sj`` sought when they were at ``stage``."""
        return ask_at(self.ask_end[sj], self.stage_end[sj], stage)

    def pair_utility(self, sj: IntArray, gi: IntArray, stage: IntArray) -> FloatArray:
        """Utility of pairs (``sj[k]``, ``gi[k]``) with each startup at ``stage[k]`` and the ask it implies."""
        return self.utility.pairs(sj, gi, stage=stage.astype(np.float64), log_ask=np.log(self.ask_at(sj, stage)))


def read_truth(directory: Path | str) -> Truth:
    """The hidden truth of a world written by ``roadshow generate``: ``directory`` is the world's
    folder (holding ``truth/``) or its ``truth/`` folder itself."""
    root = Path(directory)
    truth = root / "truth" if (root / "truth").is_dir() else root
    paths = {name: truth / f"{name}.csv" for name in ("startups", "investors", "attendance")}
    for path in paths.values():
        if not path.is_file():
            raise InvalidInputError(f"{path} not found: is this a world written by roadshow generate?",
                                    field="directory")
    startups = pl.read_csv(paths["startups"], schema_overrides={
        "startup_id": pl.Utf8, "upgrade_1_on": pl.Date, "upgrade_2_on": pl.Date})
    investors = pl.read_csv(paths["investors"], schema_overrides={"investor_id": pl.Utf8})
    attendance = pl.read_csv(paths["attendance"], schema_overrides=ATTENDANCE_SCHEMA)
    return Truth.from_frames(startups, investors, attendance)


def day_array(on: date, n: int) -> DayArray:
    return np.full(n, np.datetime64(on, "D"))


def _rows(known: list[str], ids: Sequence[str], key: str) -> IntArray:
    index = {v: k for k, v in enumerate(known)}
    missing = [v for v in ids if v not in index]
    if missing:
        raise NotFoundError(f"unknown {key}: {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else ""))
    return np.array([index[v] for v in ids], dtype=np.int64)
