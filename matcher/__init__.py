"""Roadshow Matcher: the domain and ML core (no web code).

Sub-packages: ``features`` (polars feature extraction), ``ranking`` (pair scorer and baselines),
``scheduling`` (the one-to-one meeting grid), ``eligibility`` (credit-loan rules, PD, limits).
"""

__version__ = "0.1.0"
