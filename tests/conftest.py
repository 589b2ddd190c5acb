"""Shared fixtures (paths to the shipped sample world) and the one hypothesis profile of the suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "sample"

# No deadline: the properties fit models and solve grids on a shared 2-core machine, where one slow
# example says nothing about the code (speed is measured by `make bench`, never by a test). For the same
# reason a slow data generator is no failure. 50 examples unless a test states its own count.
settings.register_profile("dev", deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])
# CI: the same, derandomised, so a run fails or passes the same way every time; a new failing example
# found by a developer's run is replayed from .hypothesis/ and then kept as an @example.
settings.register_profile(
    "ci",
    parent=settings.get_profile("dev"),
    derandomize=True,
    database=None,
    print_blob=True,
)
_ON_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if _ON_CI else "dev"))


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE_DIR
