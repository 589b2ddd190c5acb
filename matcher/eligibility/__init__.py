"""Credit-loan eligibility: policy rules, tech-SME evaluation, knowledge-value grade, calibrated PD,
limits with their derivation, reason codes and reproducible decision records.

Public entry points: ``assess`` / ``assess_frame`` (one path, one row or many), ``load_policy``,
``train_pd_model`` / ``load_pd_model`` / ``build_prior_model``, ``model_report``.
"""

from matcher.eligibility.decision import Decision, LimitDerivation
from matcher.eligibility.engine import (
    CONTRACT_COLUMNS,
    PRIOR_MODEL_PATH,
    SCORES_COLUMNS,
    ProductSpec,
    assess,
    assess_frame,
    prior_model,
    resolve_model,
    resolve_product,
)
from matcher.eligibility.pd_model import PDModel, load_pd_model, train_pd_model
from matcher.eligibility.policy import Policy, default_policy, load_policy
from matcher.eligibility.prior import build_prior_model
from matcher.eligibility.reasons import Reason
from matcher.eligibility.tech_sme import tech_sme_frame

__all__ = [
    "CONTRACT_COLUMNS",
    "PRIOR_MODEL_PATH",
    "SCORES_COLUMNS",
    "Decision",
    "LimitDerivation",
    "PDModel",
    "Policy",
    "ProductSpec",
    "Reason",
    "assess",
    "assess_frame",
    "build_prior_model",
    "default_policy",
    "load_pd_model",
    "load_policy",
    "prior_model",
    "resolve_model",
    "resolve_product",
    "tech_sme_frame",
    "train_pd_model",
]
