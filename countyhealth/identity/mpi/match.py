"""Scoring a Patient against the index: the core of ``Patient/$match`` and of the check on
registration.

Deterministic first, as DOMAIN §2 asks: an equal, valid identity number makes a ``certain``
match whatever else differs. Otherwise every candidate of the blocking searches is scored
with the trained Fellegi–Sunter model and graded with the thresholds in the settings
(``mpi_certain_probability`` …); candidates below ``possible`` are dropped. Grades are the
codes of the R4 match-grade extension
(https://hl7.org/fhir/R4/extension-match-grade.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ...records.query import find
from ...store import Repository
from ..matching.features import MatchFeatures, patient_features
from ..matching.model import MatchModel, PairScore
from .candidates import find_candidates

GRADES = ("certain", "probable", "possible")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Match probabilities from which a candidate is certain, probable and possible."""

    certain: float
    probable: float
    possible: float

    @classmethod
    def of(cls, settings: Any) -> Thresholds:
        return cls(
            settings.mpi_certain_probability,
            settings.mpi_probable_probability,
            settings.mpi_possible_probability,
        )

    def grade(self, probability: float) -> str | None:
        if probability >= self.certain:
            return "certain"
        if probability >= self.probable:
            return "probable"
        if probability >= self.possible:
            return "possible"
        return None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One record the query may be: the stored Patient, its score and its grade."""

    resource: dict[str, Any]
    score: PairScore
    grade: str
    same_id_number: bool

    @property
    def reference(self) -> str:
        return f"Patient/{self.resource['id']}"


@cache
def model() -> MatchModel:
    return MatchModel.load()


def grade_pair(
    query: MatchFeatures, other: MatchFeatures, thresholds: Thresholds
) -> Candidate | None:
    """Score and grade one pair; None below ``possible``. (``resource`` is left empty.)"""
    score = model().score(query, other)
    same = score.same_valid_id
    grade = "certain" if same else thresholds.grade(score.probability)
    if grade is None:
        return None
    return Candidate({}, score, grade, same)


def match_patient(
    repo: Repository,
    resource: dict[str, Any],
    thresholds: Thresholds,
    *,
    exclude: str | None = None,
) -> list[Candidate]:
    """Every indexed record that ``resource`` may be, best first (certain before probable
    before possible, then by probability)."""
    query = patient_features(resource)
    found: list[Candidate] = []
    for other in find_candidates(repo.elevated(), query, exclude=exclude):
        graded = grade_pair(query, patient_features(other), thresholds)
        if graded is not None:
            found.append(Candidate(other, graded.score, graded.grade, graded.same_id_number))
    found.sort(key=lambda c: (GRADES.index(c.grade), -c.score.probability))
    return found


def visible_to_caller(
    repo: Repository, candidates: list[Candidate]
) -> tuple[list[Candidate], bool]:
    """The candidates the caller may read (as the caller reads them, one audited search), and
    whether others were left out. Matching sees the whole index; what is shown follows the
    caller's access rule (consent, own institution)."""
    if not candidates:
        return [], False
    ids = [str(c.resource["id"]) for c in candidates]
    found = find(repo, "Patient", [("_id", ",".join(ids))], count=len(ids), note="match")
    readable = {str(r["id"]): r for r in found.resources}
    shown = [
        Candidate(readable[str(c.resource["id"])], c.score, c.grade, c.same_id_number)
        for c in candidates
        if str(c.resource["id"]) in readable
    ]
    return shown, found.hidden or len(shown) < len(candidates)
