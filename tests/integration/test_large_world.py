"""The large generated world, end to end: the sizes the benchmarks and data/README.md quote, with every
reference resolving (generating it takes seconds, so it lives here; its speed is measured by `make bench`)."""

from __future__ import annotations

import polars as pl
import pytest

from matcher.synthetic import SIZES, generate


@pytest.mark.slow
def test_the_large_world_has_its_documented_size_and_consistent_references() -> None:
    spec, data = SIZES["large"], generate(1, "large").data
    banks = data.investors.filter(pl.col("kind") == "bank")
    assert data.startups.height == spec.startups
    assert (banks.height, data.investors.height - banks.height) == (spec.banks, spec.investors)
    assert set(data.interactions["startup_id"]) <= set(data.startups["startup_id"])
    assert set(data.interactions["investor_id"]) <= set(data.investors["investor_id"])
    assert set(data.loans["bank_id"]) <= set(banks["investor_id"])
