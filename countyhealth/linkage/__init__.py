"""Batch record linkage of Patients with Splink (DuckDB): training the match model, the
nightly deduplication and its evaluation against a synthetic county (docs/linkage.md)."""

from .comparisons_sql import BLOCKING_RULES, splink_settings
from .dedupe import DedupeReport, Thresholds, dedupe, dedupe_seconds
from .evaluate import Confusion, confusion, planted_pairs
from .predict import ScoredPair, predict

__all__ = [
    "BLOCKING_RULES",
    "Confusion",
    "DedupeReport",
    "ScoredPair",
    "Thresholds",
    "confusion",
    "dedupe",
    "dedupe_seconds",
    "planted_pairs",
    "predict",
    "splink_settings",
]
