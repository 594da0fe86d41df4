"""The identity steward's worklist: open duplicate reviews, oldest first, with both records
side by side and what the model saw in each field; and the recently decided ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..fhir import systems
from ..records.query import find
from ..store import Repository
from .matching.features import patient_features
from .merge import require_steward
from .mpi.match import model
from .review import KIND, OPEN, Review, output_value
from .review_decisions import read_review

#: the fields of the comparison, in the order the page shows them
FIELDS = ("id_number", "name", "birth_date", "sex", "phone", "address", "guardian")


@dataclass(frozen=True, slots=True)
class ReviewView:
    review: Review
    patient: dict[str, Any]
    candidate: dict[str, Any]
    comparison: list[dict[str, Any]]
    provenance: str | None


def _reviews(repo: Repository, status: str, sort: str, count: int) -> list[Review]:
    require_steward(repo)
    criteria = [("code", f"{systems.TASK_KIND}|{KIND}"), ("status", status), ("_sort", sort)]
    return [Review.of(t) for t in find(repo, "Task", criteria, count=count).resources]


def open_reviews(repo: Repository, count: int = 50) -> list[Review]:
    """Undecided reviews, oldest first."""
    return _reviews(repo, ",".join(OPEN), "authored-on", count)


def decided_reviews(repo: Repository, count: int = 20) -> list[Review]:
    """Decided reviews, the latest decision first."""
    return _reviews(repo, "completed", "-_lastUpdated", count)


def review_view(repo: Repository, task_id: str) -> ReviewView:
    """One review with both records (as they are now) and the per-field comparison."""
    require_steward(repo)
    task, review = read_review(repo, task_id)
    a = repo.read("Patient", review.patient.split("/", 1)[1]).resource
    b = repo.read("Patient", review.candidate.split("/", 1)[1]).resource
    score = model().score(patient_features(a), patient_features(b))
    comparison = [
        {
            "field": name,
            "level": score.levels.get(name, "null"),
            "weight": round(score.weights.get(name, 0.0), 2),
        }
        for name in FIELDS
        if name in score.levels or name in review.levels
    ]
    provenance = output_value(task, "provenance")
    return ReviewView(
        review,
        a,
        b,
        comparison,
        str(provenance.get("reference")) if isinstance(provenance, dict) else None,
    )
