"""Patient matching: features of a Patient, comparison levels and the trained Fellegi–Sunter
model that scores a pair (used by Patient/$match and by the batch deduplication)."""

from .comparisons import LEVELS, compare
from .features import MatchFeatures, patient_features
from .model import MODEL_PATH, Grade, MatchModel, PairScore, grade, grade_score, probability

__all__ = [
    "LEVELS",
    "MODEL_PATH",
    "Grade",
    "MatchFeatures",
    "MatchModel",
    "PairScore",
    "compare",
    "grade",
    "grade_score",
    "patient_features",
    "probability",
]
