"""The prior PD model: what a bank with no loan history of its own starts from.

It is trained on the loans of the seeded sample world (``matcher.synthetic.generate(PRIOR_SEED,
PRIOR_SIZE)``), whose defaults follow a documented logistic risk model (see
``matcher/synthetic/_loans.py``), and shipped as ``models/prior.skops``. Decisions made with it say
``model_source = "prior"``; a bank should replace it with ``roadshow train-eligibility`` on its own
book once it has a few hundred loans with known outcomes.
"""

from __future__ import annotations

from pathlib import Path

from matcher.eligibility.engine import PRIOR_MODEL_PATH, prior_model
from matcher.eligibility.pd_model import BOOK_SPECIFIC, PDModel, train_pd_model
from matcher.eligibility.policy import Policy, default_policy

PRIOR_SEED = 20261127
PRIOR_SIZE = "large"


def build_prior_model(out: Path | str = PRIOR_MODEL_PATH, *, policy: Policy | None = None) -> PDModel:
    """Generate the sample world, train on all its labelled loans, save to ``out`` and return the model."""
    from matcher.synthetic import generate

    world = generate(PRIOR_SEED, PRIOR_SIZE)
    model = train_pd_model(
        world.data.startups, world.data.ip_assets, world.data.loans,
        as_of=None, policy=policy or default_policy(), source="prior",
        # Vintage, bank and city describe the sample world's book, not the bank that will use the prior.
        params={"exclude": BOOK_SPECIFIC},
    )
    model.save(out)
    prior_model.cache_clear()
    return model
