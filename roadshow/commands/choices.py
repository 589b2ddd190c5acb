"""The fixed choices of the command-line options, written out so ``--help`` lists them without importing
the libraries that define them (the CLI must start at once). ``tests/unit/test_cli.py`` checks that each
equals the library's own list, so a model or solver added there cannot be missing here."""

from __future__ import annotations

from typing import Literal

RankingModel = Literal[
    "learned", "boosted", "random", "popularity", "recent_popularity", "sector_popularity", "declared"]
"""``matcher.ranking.MODELS``."""
Side = Literal["investors", "startups"]
"""What ``recommend`` ranks: investors for each startup, or startups for each investor."""
Kind = Literal["investor", "bank", "all"]
"""``matcher.ranking.base.KINDS``: investors (every kind but bank), banks, or both."""
ScheduleMode = Literal["balanced", "total", "fair"]
"""``matcher.scheduling.encoder.MODES``."""
Solver = Literal["auto", "milp", "decomposition"]
"""``matcher.scheduling.solvers.SOLVER_NAMES``."""
KeyRole = Literal["admin", "organiser", "bank", "startup", "investor"]
"""``api.services.keys.Role``."""
