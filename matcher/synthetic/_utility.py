"""The hidden utility of a startup-investor pair, computed from the truth files alone.

    u(s, i) = 2.0 · w_i[sector_s]                              actual sector affinity in [0, 1]
            + 1.2 · exp(-½ ((stage_s - c_i) / width_i)²)       actual stage focus
            + 0.8 · τ_i · exp(-dist(log ask_s, [log tmin_i, log tmax_i]))   ticket fit
            + 0.6 · locality_i · [city_s = home_i]             local preference
            + 0.7 · taste_i · quality_s                        quality sensitivity
            + z_s · t_i                                        latent taste match

The history's outcomes are this utility plus logistic noise, cut into the outcome ladder, so the
oracle ranking of a startup's investors is the ranking by ``u``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import STAGE_ORDER
from matcher.errors import InvalidInputError, NotFoundError
from matcher.synthetic._config import LATENT_DIM
from matcher.taxonomy import SECTORS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

W_SECTOR, W_STAGE, W_TICKET, W_REGION, W_QUALITY = 2.0, 1.2, 0.8, 0.6, 0.7
_BLOCK = 2048  # startups per block of the dense matrix, to bound temporaries


@dataclass(frozen=True, slots=True)
class UtilityModel:
    startup_ids: list[str]
    sector: IntArray
    stage: FloatArray
    log_ask: FloatArray
    city: IntArray  # city codes shared with ``home``
    quality: FloatArray
    z: FloatArray
    investor_ids: list[str]
    sector_weight: FloatArray  # (investors, sectors)
    center: FloatArray
    width: FloatArray
    log_tmin: FloatArray
    log_tmax: FloatArray
    ticket_weight: FloatArray
    home: IntArray
    locality: FloatArray
    taste: FloatArray
    t: FloatArray

    @classmethod
    def from_frames(cls, startups: pl.DataFrame, investors: pl.DataFrame) -> UtilityModel:
        sector_index = {s.code: j for j, s in enumerate(SECTORS)}
        cities = startups["city"].to_list()
        homes = investors["home_city"].to_list()
        city_index = {c: j for j, c in enumerate(dict.fromkeys([*cities, *homes]))}
        stage_index = {s.value: j for j, s in enumerate(STAGE_ORDER)}
        return cls(
            startup_ids=startups["startup_id"].to_list(),
            sector=np.array([sector_index[c] for c in startups["sector"].to_list()], dtype=np.int64),
            stage=np.array([stage_index[c] for c in startups["stage"].to_list()], dtype=np.float64),
            log_ask=np.log(np.maximum(startups["funding_ask_wan"].to_numpy(), 1.0)),
            city=np.array([city_index[c] for c in cities], dtype=np.int64),
            quality=startups["quality"].to_numpy(),
            z=startups.select([f"z{k}" for k in range(LATENT_DIM)]).to_numpy(),
            investor_ids=investors["investor_id"].to_list(),
            sector_weight=investors.select([f"w_{s.code}" for s in SECTORS]).to_numpy(),
            center=investors["stage_center"].to_numpy(),
            width=investors["stage_width"].to_numpy(),
            log_tmin=np.log(investors["ticket_min_wan"].to_numpy()),
            log_tmax=np.log(investors["ticket_max_wan"].to_numpy()),
            ticket_weight=investors["ticket_weight"].to_numpy(),
            home=np.array([city_index[c] for c in homes], dtype=np.int64),
            locality=investors["locality"].to_numpy(),
            taste=investors["quality_taste"].to_numpy(),
            t=investors.select([f"t{k}" for k in range(LATENT_DIM)]).to_numpy(),
        )

    def pairs(self, s: IntArray, i: IntArray, stage: FloatArray | None = None,
              log_ask: FloatArray | None = None) -> FloatArray:
        """Utility of pairs (s[k], i[k]). ``stage`` and ``log_ask`` override the startups' current
        values with those at the time of a past meeting."""
        st = self.stage[s] if stage is None else stage
        ask = self.log_ask[s] if log_ask is None else log_ask
        return _combine(
            sector_aff=self.sector_weight[i, self.sector[s]], stage=st, center=self.center[i],
            width=self.width[i], log_ask=ask, log_tmin=self.log_tmin[i], log_tmax=self.log_tmax[i],
            ticket_weight=self.ticket_weight[i], same_city=self.city[s] == self.home[i],
            locality=self.locality[i], taste=self.taste[i], quality=self.quality[s],
            latent_dot=np.einsum("kd,kd->k", self.z[s], self.t[i]),
        )

    def dense(self) -> npt.NDArray[np.float32]:
        """The (startups × investors) utility matrix as float32, built in blocks of startups."""
        out = np.empty((len(self.startup_ids), len(self.investor_ids)), dtype=np.float32)
        w_by_sector = self.sector_weight.T  # (sectors, investors)
        for lo in range(0, out.shape[0], _BLOCK):
            b = slice(lo, lo + _BLOCK)
            out[b] = _combine(
                sector_aff=w_by_sector[self.sector[b]], stage=self.stage[b, None], center=self.center[None],
                width=self.width[None], log_ask=self.log_ask[b, None], log_tmin=self.log_tmin[None],
                log_tmax=self.log_tmax[None], ticket_weight=self.ticket_weight[None],
                same_city=self.city[b, None] == self.home[None], locality=self.locality[None],
                taste=self.taste[None], quality=self.quality[b, None], latent_dot=self.z[b] @ self.t.T,
            )
        return out


def _combine(*, sector_aff: FloatArray, stage: FloatArray, center: FloatArray, width: FloatArray,
             log_ask: FloatArray, log_tmin: FloatArray, log_tmax: FloatArray, ticket_weight: FloatArray,
             same_city: npt.NDArray[np.bool_], locality: FloatArray, taste: FloatArray, quality: FloatArray,
             latent_dot: FloatArray) -> FloatArray:
    stage_fit = np.exp(-0.5 * ((stage - center) / width) ** 2)
    ticket_gap = np.maximum(np.maximum(log_tmin - log_ask, log_ask - log_tmax), 0.0)
    u = W_SECTOR * sector_aff + W_STAGE * stage_fit + W_TICKET * ticket_weight * np.exp(-ticket_gap)
    u += W_REGION * locality * same_city + W_QUALITY * taste * quality + latent_dot
    return np.asarray(u, dtype=np.float64)


def true_utility(
    truth_dir: Path,
    startup_ids: Sequence[str] | None = None,
    investor_ids: Sequence[str] | None = None,
) -> tuple[list[str], list[str], npt.NDArray[np.float32]]:
    """The hidden utility matrix of a generated world, read from its ``truth/`` directory.

    Returns the startup ids (rows), the investor ids (columns) and a float32 matrix; ids default to
    every startup and investor (banks included). Unknown ids raise ``NotFoundError``.
    """
    truth = Path(truth_dir)
    paths = [truth / "startups.csv", truth / "investors.csv"]
    for p in paths:
        if not p.is_file():
            raise InvalidInputError(f"{p} not found: is this the truth/ directory of a generated world?",
                                    field="truth_dir")
    startups = pl.read_csv(paths[0], schema_overrides={"startup_id": pl.Utf8})
    investors = pl.read_csv(paths[1], schema_overrides={"investor_id": pl.Utf8})
    startups = _select(startups, "startup_id", startup_ids)
    investors = _select(investors, "investor_id", investor_ids)
    model = UtilityModel.from_frames(startups, investors)
    return model.startup_ids, model.investor_ids, model.dense()


def _select(frame: pl.DataFrame, key: str, ids: Sequence[str] | None) -> pl.DataFrame:
    if ids is None:
        return frame
    wanted = pl.DataFrame({key: list(ids)}, schema={key: pl.Utf8})
    picked = wanted.join(frame, on=key, how="left", maintain_order="left")
    missing = picked.filter(pl.col(picked.columns[1]).is_null())[key].to_list()
    if missing:
        raise NotFoundError(f"unknown {key}: {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else ""))
    return picked
