"""World sizes, the history window and the calibration targets of the generator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

HISTORY_START = date(2023, 1, 1)
HISTORY_END = date(2025, 12, 31)
HISTORY_YEARS: tuple[int, ...] = (2023, 2024, 2025)

# 智造莲城 2021 (seed article, POLICY.md §4): 6 roadshows, 56 investor-institution visits,
# 93 financial-institution visits and 25.92亿 of signed intent agreements in one year.
TARGET_INVESTOR_VISITS_PER_YEAR = 56
TARGET_BANK_VISITS_PER_YEAR = 93
TARGET_INTENT_WAN_PER_YEAR = 250_000.0
# Intents signed at a year's roadshows: the three-year mean within 15% of the target, each single year
# within 35% (a few late-stage deals make years differ: across seeds 0-31 single years vary by about 22%).
INTENT_TOLERANCE = 0.15
INTENT_YEAR_TOLERANCE = 0.35

LATENT_DIM = 8


@dataclass(frozen=True, slots=True)
class SizeSpec:
    """How big a world is. Visit and roadshow counts are per year of history.

    ``small`` is calibrated on the 2021 figures of 智造莲城. Larger worlds model a zone that runs
    parallel sector sessions: roadshows, pitching startups and visits grow roughly with the square
    root of the population, so each participant still takes part in a few roadshows a year.
    """

    name: str
    startups: int
    investors: int
    banks: int
    roadshows_per_year: int
    pitches_per_roadshow: float
    investor_visits_per_year: int
    bank_visits_per_year: int
    offline_share: float
    next_event_startups: int
    next_event_investors: int
    next_event_banks: int
    next_event_tables: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec("small", 300, 60, 20, 6, 14, TARGET_INVESTOR_VISITS_PER_YEAR,
                      TARGET_BANK_VISITS_PER_YEAR, 0.35, 20, 6, 4, 8),
    "medium": SizeSpec("medium", 3_000, 400, 40, 18, 40, 540, 420, 0.35, 60, 20, 10, 24),
    "large": SizeSpec("large", 20_000, 2_000, 80, 48, 110, 4_000, 1_900, 0.35, 150, 50, 25, 60),
}
