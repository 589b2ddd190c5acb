"""Credit-loan eligibility: policy rules, tech-SME evaluation, knowledge-value grade, calibrated PD,
limits, reason codes and reproducible decision records (issue 5).

Public entry points: ``assess`` / ``assess_frame`` / ``assess_one``, ``load_policy``,
``train_pd_model`` / ``load_pd_model`` / ``build_prior_model``.
"""

from matcher.eligibility.decision import Decision
from matcher.eligibility.engine import (
    CONTRACT_COLUMNS,
    PRIOR_MODEL_PATH,
    ProductSpec,
    assess,
    assess_frame,
    assess_one,
    prior_model,
    resolve_product,
)
from matcher.eligibility.pd_model import PDModel, load_pd_model, train_pd_model
from matcher.eligibility.policy import Policy, default_policy, load_policy
from matcher.eligibility.prior import build_prior_model
from matcher.eligibility.reasons import Reason
from matcher.eligibility.tech_sme import TechSmeResult, evaluate_tech_sme, tech_sme_frame

__all__ = [
    "CONTRACT_COLUMNS",
    "PRIOR_MODEL_PATH",
    "Decision",
    "PDModel",
    "Policy",
    "ProductSpec",
    "Reason",
    "TechSmeResult",
    "assess",
    "assess_frame",
    "assess_one",
    "build_prior_model",
    "default_policy",
    "evaluate_tech_sme",
    "load_pd_model",
    "load_policy",
    "prior_model",
    "resolve_product",
    "tech_sme_frame",
    "train_pd_model",
]
