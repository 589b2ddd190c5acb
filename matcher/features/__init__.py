"""Features as of a date: per startup, per investor and per pair. Nothing on or after the date leaks in."""

from matcher.features.investor import InvestorProfiles, investor_profiles
from matcher.features.pairs import FAMILIES, PAIR_FEATURES, PairFeaturizer
from matcher.features.startup import startup_features

__all__ = [
    "FAMILIES",
    "PAIR_FEATURES",
    "InvestorProfiles",
    "PairFeaturizer",
    "investor_profiles",
    "startup_features",
]
