"""Review Tasks for probable duplicate patients (a person registered twice).

When matching finds a pair it cannot decide alone — a new registration that looks like an
existing resident, or a pair the batch deduplication scores as probable — it opens a Task for
the identity steward instead of merging or staying silent. The Task follows R4 Task
(https://hl7.org/fhir/R4/task.html): ``code`` task-kind ``duplicate-review``, ``intent``
proposal, ``focus`` and ``for`` the later record, ``input`` the candidate it may duplicate,
the match probability, the grade (https://hl7.org/fhir/R4/extension-match-grade.html codes),
the comparison level of every field and where the pair came from (``create``, ``match`` or
``dedupe``). The steward's decision ends it as ``completed`` with an ``output`` saying
``merged``, ``linked`` or ``distinct``; a decided pair is never reopened. A merge undone from
the review adds the output ``undone`` (read back as the decision ``unmerged``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..fhir import systems
from ..fhir.instant import format_instant
from ..records.query import find_all
from ..store import Repository
from .links import linked

KIND = "duplicate-review"
DECISIONS = ("merged", "linked", "distinct")
OPEN = ("requested", "received", "accepted", "in-progress")


def _input(name: str, **value: Any) -> dict[str, Any]:
    return {"type": {"coding": [{"system": systems.TASK_INPUT, "code": name}]}, **value}


def _named(items: Any, name: str) -> Any:
    """The value[x] of the ``Task.input`` / ``Task.output`` item whose type is ``name``."""
    for item in items or []:
        codes = [c.get("code") for c in (item.get("type") or {}).get("coding") or []]
        if name in codes:
            return next((v for k, v in item.items() if k.startswith("value")), None)
    return None


def input_value(task: dict[str, Any], name: str) -> Any:
    """The value of the Task input called ``name`` (None when absent)."""
    return _named(task.get("input"), name)


def output_value(task: dict[str, Any], name: str) -> Any:
    """The value of the Task output called ``name`` (None when absent)."""
    return _named(task.get("output"), name)


@dataclass(frozen=True, slots=True)
class Review:
    """A duplicate-review Task read back."""

    id: str
    status: str
    patient: str
    candidate: str
    probability: float
    grade: str
    origin: str
    levels: dict[str, str]
    authored: str
    decision: str | None

    @classmethod
    def of(cls, task: dict[str, Any]) -> Review:
        candidate = input_value(task, "candidate") or {}
        levels_text = str(input_value(task, "levels") or "")
        levels = dict(part.split("=", 1) for part in levels_text.split(";") if "=" in part)
        return cls(
            id=str(task["id"]),
            status=str(task.get("status")),
            patient=str((task.get("focus") or {}).get("reference") or ""),
            candidate=str(candidate.get("reference") or ""),
            probability=float(input_value(task, "match-probability") or 0.0),
            grade=str(input_value(task, "match-grade") or ""),
            origin=str(input_value(task, "origin") or ""),
            levels=levels,
            authored=str(task.get("authoredOn") or ""),
            decision="unmerged" if output_value(task, "undone") else output_value(task, "decision"),
        )


def review_task(
    patient: str,
    candidate: str,
    *,
    probability: float,
    grade: str,
    levels: dict[str, str],
    origin: str,
    authored: str,
) -> dict[str, Any]:
    """The Task resource for one pair (not stored)."""
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "proposal",
        "priority": "routine",
        "code": {
            "coding": [{"system": systems.TASK_KIND, "code": KIND, "display": "疑似重复档案审核"}]
        },
        "description": "疑似同一居民的两份档案：请核对后合并、关联或确认不是同一人",
        "focus": {"reference": patient},
        "for": {"reference": patient},
        "authoredOn": authored,
        "input": [
            _input("candidate", valueReference={"reference": candidate}),
            _input("match-probability", valueDecimal=round(probability, 6)),
            _input("match-grade", valueCode=grade),
            _input("levels", valueString=";".join(f"{k}={v}" for k, v in sorted(levels.items()))),
            _input("origin", valueCode=origin),
        ],
    }


def reviews_of_pair(repo: Repository, a: str, b: str) -> list[Review]:
    """Every review Task (any status) about the pair, in either order."""
    found = find_all(
        repo.elevated(),
        "Task",
        [("code", f"{systems.TASK_KIND}|{KIND}"), ("focus", f"{a},{b}")],
        page_size=100,
    )
    pair = {a, b}
    return [r for r in map(Review.of, found) if {r.patient, r.candidate} == pair]


def open_review(
    repo: Repository,
    patient: str,
    candidate: str,
    *,
    probability: float,
    grade: str,
    levels: dict[str, str],
    origin: str,
) -> str | None:
    """Open a review Task for a probable duplicate pair ("Patient/a", "Patient/b").

    Returns the Task id, or None when the pair already has a review (open or decided) or the
    two records are already linked.
    """
    platform = repo.elevated()
    if patient == candidate or reviews_of_pair(platform, patient, candidate):
        return None
    if linked(platform, patient, candidate):
        return None
    task = review_task(
        patient,
        candidate,
        probability=probability,
        grade=grade,
        levels=levels,
        origin=origin,
        authored=format_instant(platform.store.clock.now_us()),
    )
    return platform.create(task).id
