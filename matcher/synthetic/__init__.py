"""The seeded generator of realistic sample worlds; ``data/README.md`` documents every file and column.

A world is a zone's startups and their IP, investors and banks, three years of 智造莲城 roadshows
(2023–2025) with their outcomes, bank loans with defaults, the next roadshow to schedule
(``next_event.json``), and the hidden truth the history was drawn from (``truth/``, which the product
never reads). All randomness comes from ``numpy.random.default_rng(seed)``, one spawned stream per
part, so the same seed and size give byte-identical files.

The generative model, in brief:

- Startups get a sector, sub-sector and stage from the zone's mix, a latent quality ``q`` (driving
  R&D staff and spend, revenue, IP counts, certificates and credit flags) and a latent vector ``z``
  partly shared within a sub-sector. Stages rise during the history (up to two upgrades).
- Investors have ACTUAL sector affinities, stage focus, cheque range, locality, quality taste,
  activity and latent taste ``t``; what they DECLARE in investors.csv is partly stale (30% of declared
  sectors, shifted stage focus). Banks are investors of kind ``bank`` with loan products.
- The hidden pair utility ``u(s, i)`` (see ``_utility``) mixes sector, stage, cheque and region fit,
  quality and ``z·t``. At each roadshow, guests meet the pitching startups that look best to them
  (declared fit + part of ``u`` + noise). 8% of planned meetings are no-shows (a `requested` row);
  a held meeting's outcome is ``u`` + logistic noise cut into declined / met / interested /
  intent_signed / invested, most intents signed on the day (see ``_outcomes``). Contacts outside
  roadshows use the same model.
- Loans default with a logistic PD in R&D intensity, valid invention patents (never raising risk),
  credit flags, revenue, leverage, stage, sector and quality (see ``_loans``).
- ``small`` is calibrated on the 2021 figures: 6 roadshows, 56 investor and 93 bank visits, about
  25亿 of intents signed at a year's roadshows; larger sizes scale roadshows and visits with about
  the square root of the population (``_config.SIZES``).

Benchmarks replay roadshows from a written directory alone: ``read_truth`` → ``roadshow_event`` (a
past roadshow as an ``event.json``) → ``draw_wishes`` / ``apply_wishes`` (participants' requests and
no-thanks from their hidden utilities) → a schedule → ``simulate_meeting_outcomes`` →
``meeting_interactions`` (the ``interactions.csv`` rows).
"""

from matcher.outcomes import meeting_interactions
from matcher.synthetic._config import HISTORY_END, HISTORY_START, SIZES, SizeSpec
from matcher.synthetic._event import roadshow_event
from matcher.synthetic._outcomes import NO_SHOW_RATE, ON_THE_DAY_SHARE, simulate_meeting_outcomes
from matcher.synthetic._truth import Truth, read_truth
from matcher.synthetic._utility import true_utility
from matcher.synthetic._wishes import Wish, WishKind, apply_wishes, draw_wishes
from matcher.synthetic._world import STEPS, GeneratedWorld, generate, write_world

__all__ = [
    "HISTORY_END",
    "HISTORY_START",
    "NO_SHOW_RATE",
    "ON_THE_DAY_SHARE",
    "SIZES",
    "STEPS",
    "GeneratedWorld",
    "SizeSpec",
    "Truth",
    "Wish",
    "WishKind",
    "apply_wishes",
    "draw_wishes",
    "generate",
    "meeting_interactions",
    "read_truth",
    "roadshow_event",
    "simulate_meeting_outcomes",
    "true_utility",
    "write_world",
]
