"""Precision and recall of the deduplication against the synthetic county's ground truth.

The ground truth lists every planted duplicate as a pair (``original``, ``duplicate``); a pair
the deduplication acts on (graded at or above the threshold) is a true positive when listed,
a false positive when not; a listed pair left alone is a false negative. True negatives are the
remaining pairs of all n·(n−1)/2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Confusion:
    """The confusion matrix of the found pairs against the planted ones."""

    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        planted = self.true_positives + self.false_negatives
        return self.true_positives / planted if planted else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "true_negatives": self.true_negatives,
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
        }


def planted_pairs(duplicates: Iterable[dict[str, Any]]) -> set[frozenset[str]]:
    """The ground truth's ``duplicates`` as unordered pairs of references."""
    return {frozenset((d["original"], d["duplicate"])) for d in duplicates}


def confusion(
    found: Iterable[tuple[str, str]], planted: set[frozenset[str]], patients: int
) -> Confusion:
    """Compare the found pairs (references) with the planted ones among ``patients`` records."""
    got = {frozenset(pair) for pair in found}
    tp = len(got & planted)
    fp = len(got - planted)
    fn = len(planted - got)
    tn = patients * (patients - 1) // 2 - tp - fp - fn
    return Confusion(tp, fp, fn, tn)
