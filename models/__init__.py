"""models: the explainable credit model (features, estimator, scores, reasons, persistence)."""

from models.estimator import CreditModel
from models.explain import Explanation, explain
from models.features import build_feature_frame, feature_dictionary
from models.persist import load_model, save_model
from models.scoring import GradeScale, LimitPolicy, ScoreScale, suggested_limit

__all__ = [
    "CreditModel",
    "Explanation",
    "GradeScale",
    "LimitPolicy",
    "ScoreScale",
    "build_feature_frame",
    "explain",
    "feature_dictionary",
    "load_model",
    "save_model",
    "suggested_limit",
]
