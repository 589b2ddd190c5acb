"""Knowledge-value index (知识价值信用评价): six indicators scored 0–100, a weighted score and a grade.

Indicators (weights and bands in the policy file):
- ``ip``: valid IP on the evaluation date, class I weighted above class II (trademarks do not count);
- ``rd_investment`` and ``talent``: the tech-SME R&D and 科技人员 points rescaled to 0–100, so the index
  and the national method never disagree about which firm invests more;
- ``commercialisation``: last-year revenue; ``growth``: the financing stage reached (the data holds one
  fiscal year, so stage is the available proxy of trajectory); ``recognition``: 高新技术企业, a
  provincial R&D centre, a national award, standards led.

The core works on numpy arrays, so the frame path and the one-firm path run the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.eligibility.policy import KV_INDICATORS, BandTable, Policy

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class KVInputs:
    """Per-firm arrays the index needs (one element per firm)."""

    valid_class_i: npt.NDArray[np.int64]
    valid_class_ii: npt.NDArray[np.int64]
    rd_points: npt.NDArray[np.int64]
    tech_staff_points: npt.NDArray[np.int64]
    revenue_wan: FloatArray  # NaN = missing
    stage: npt.NDArray[np.object_]  # str or None
    recognition: Mapping[str, npt.NDArray[np.bool_]]  # route column -> met


def _float_bands(x: FloatArray, bands: BandTable[int]) -> FloatArray:
    out = np.full(x.shape, float(bands.values[0]))
    for edge, value in zip(bands.lowers[1:], bands.values[1:], strict=True):
        out = np.where(x >= float(edge), float(value), out)
    return out


def indicator_points(inputs: KVInputs, policy: Policy) -> dict[str, FloatArray]:
    kv = policy.kv
    ip_measure = inputs.valid_class_i * kv.class_i_weight + inputs.valid_class_ii * kv.class_ii_weight
    rd_max = max(policy.tech_sme.rd_sales_bands.values[-1], policy.tech_sme.rd_cost_bands.values[-1]) or 1
    staff_max = policy.tech_sme.tech_staff_bands.values[-1] or 1
    revenue = np.where(np.isnan(inputs.revenue_wan), 0.0, inputs.revenue_wan)
    stage_lookup = np.vectorize(lambda s: kv.stage_points.get(s, 0.0) if s else 0.0, otypes=[np.float64])
    recognition = np.zeros(revenue.shape)
    for route, points in kv.recognition_points.items():
        recognition += np.where(inputs.recognition[route], points, 0.0)
    return {
        "ip": _float_bands(ip_measure.astype(np.float64), kv.ip_bands),
        "rd_investment": inputs.rd_points.astype(np.float64) * (100.0 / rd_max),
        "talent": inputs.tech_staff_points.astype(np.float64) * (100.0 / staff_max),
        "commercialisation": _float_bands(revenue, kv.revenue_bands),
        "growth": stage_lookup(inputs.stage) if len(inputs.stage) else np.zeros(0),
        "recognition": np.minimum(recognition, 100.0),
    }


def kv_score(points: Mapping[str, FloatArray], policy: Policy) -> FloatArray:
    """Weighted sum of indicator points, rounded to 0.01 so equal inputs give equal grades everywhere."""
    total = np.zeros_like(points["ip"])
    for name in KV_INDICATORS:
        total = total + policy.kv.weights[name] * points[name]
    return np.round(total, 2)


def grade_of(score: FloatArray, policy: Policy) -> npt.NDArray[np.object_]:
    """Grade letter per score, ``None`` below the lowest graded band."""
    bands = policy.kv.grade_bands
    letters = np.asarray([v or None for v in bands.values], dtype=object)
    index = np.zeros(score.shape, dtype=np.int64)
    for k, edge in enumerate(bands.lowers[1:], start=1):
        index = np.where(score >= float(edge), k, index)
    return np.asarray(letters[index], dtype=object)


def kv_inputs_from_frame(startups: pl.DataFrame, tech: pl.DataFrame) -> KVInputs:
    """Inputs from the startups frame and the ``tech_sme_frame`` output (same row order)."""
    routes = ("high_tech_enterprise", "provincial_rd_center", "national_award_5y", "standards_led_5y")
    schema = startups.schema  # built anew on every access
    inputs = startups.select(
        *((pl.col(r).fill_null(False) if schema[r] == pl.Boolean else pl.col(r).fill_null(0) >= 1).alias(r)
          for r in routes),
        pl.col("revenue_wan").cast(pl.Float64).fill_null(np.nan),
    )
    recognition = {r: inputs[r].to_numpy().astype(bool) for r in routes}
    return KVInputs(
        valid_class_i=tech["valid_class_i"].to_numpy().astype(np.int64),
        valid_class_ii=tech["valid_class_ii"].to_numpy().astype(np.int64),
        rd_points=tech["rd_points"].to_numpy().astype(np.int64),
        tech_staff_points=tech["tech_staff_points"].to_numpy().astype(np.int64),
        revenue_wan=inputs["revenue_wan"].to_numpy(),
        stage=np.asarray(startups["stage"].to_list(), dtype=object),
        recognition=recognition,
    )


def kv_frame(startups: pl.DataFrame, tech: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """startup_id, kv_<indicator> points, kv_score and grade (null = ungraded), in input order."""
    points = indicator_points(kv_inputs_from_frame(startups, tech), policy)
    score = kv_score(points, policy)
    return pl.DataFrame(
        {
            "startup_id": startups["startup_id"],
            **{f"kv_{k}": v for k, v in points.items()},
            "kv_score": score,
            "grade": pl.Series("grade", grade_of(score, policy).tolist(), dtype=pl.Utf8),
        }
    )
