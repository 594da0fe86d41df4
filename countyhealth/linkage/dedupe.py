"""Batch deduplication of every Patient: Splink scores, then links and review Tasks.

The steps are those of ``countyhealth linkage dedupe`` (docs/linkage.md): read the Patients
through the Repository into DuckDB (:mod:`.table`), score the candidate pairs
(:mod:`.predict`), then act on each pair by its grade. A certain pair (an equal valid identity
number, or a probability at or above ``mpi_certain_probability``) is linked ``seealso`` both
ways (FHIR R4 Patient.link, https://hl7.org/fhir/R4/patient-definitions.html#Patient.link); a
probable one (or a possible one, with ``threshold="possible"``) opens a duplicate-review Task
for the identity steward, and so does an equal valid number whose other fields say two people
(probability below ``mpi_possible_probability``). Both are idempotent: a linked or reviewed
pair is left alone, so the job can run again every night.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import duckdb

from ..errors import OperationOutcomeError
from ..identity.links import link_patients
from ..identity.matching.model import MatchModel
from ..identity.review import open_review
from ..store import Repository
from .predict import ScoredPair, predict
from .table import load_from_store

Threshold = Literal["probable", "possible"]

_PROBLEMS_KEPT = 20


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Probabilities of the grades (the ``mpi_*_probability`` settings)."""

    certain: float
    probable: float
    possible: float


@dataclass(slots=True)
class DedupeReport:
    """What one run found and did, with the seconds of each step."""

    patients: int = 0
    pairs: int = 0
    certain: int = 0
    probable: int = 0
    possible: int = 0
    linked: int = 0
    reviews: int = 0
    unchanged: int = 0
    failed: int = 0
    #: the first problems met (a pair that could not be linked or reviewed), for the log
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def steps(self) -> tuple[str, ...]:
        """The steps that ran, in order (``read``, ``predict`` and, unless a dry run, ``apply``)."""
        return tuple(self.seconds)


@dataclass(frozen=True, slots=True)
class Hooks:
    """Progress callbacks (the CLI draws them with rich): patients read, pairs acted on."""

    read: Callable[[int], None] | None = None
    step: Callable[[str], None] | None = None
    acted: Callable[[int, int], None] | None = None


def dedupe(
    repo: Repository,
    thresholds: Thresholds,
    *,
    threshold: Threshold = "probable",
    dry_run: bool = False,
    model: MatchModel | None = None,
    hooks: Hooks | None = None,
    page_size: int = 5000,
) -> tuple[DedupeReport, list[ScoredPair]]:
    """Deduplicate every current Patient ``repo`` can read.

    Args:
        repo: the Repository (the CLI's is the system caller's).
        thresholds: the grade probabilities.
        threshold: the lowest grade that opens a review Task.
        dry_run: score and count, write nothing.
        model: the match model (default: the shipped one).
        hooks: progress callbacks.
        page_size: Patients read per round trip.

    Returns:
        The report and the graded pairs (at or above ``threshold``).
    """
    hooks = hooks or Hooks()
    model = model or MatchModel.load()
    report = DedupeReport()
    lowest = thresholds.possible if threshold == "possible" else thresholds.probable
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        _step(hooks, "reading patients")
        report.patients = load_from_store(repo, con, page_size=page_size, progress=hooks.read)
        report.seconds["read"] = time.perf_counter() - started
        started = time.perf_counter()
        _step(hooks, "scoring candidate pairs")
        scored = predict(con, model, min_probability=lowest)
        report.seconds["predict"] = time.perf_counter() - started
    finally:
        con.close()
    graded: list[tuple[ScoredPair, str]] = []
    for pair in scored:
        grade = pair.grade(
            certain=thresholds.certain, probable=thresholds.probable, possible=thresholds.possible
        )
        if grade is None or (grade == "possible" and threshold != "possible"):
            continue
        graded.append((pair, grade))
        setattr(report, grade, getattr(report, grade) + 1)
    report.pairs = len(graded)
    if not dry_run:
        started = time.perf_counter()
        _step(hooks, "linking and opening reviews")
        for done, (pair, pair_grade) in enumerate(graded, 1):
            try:
                _act(repo, pair, pair_grade, report, thresholds)
            except OperationOutcomeError as exc:
                # one record the store refuses to update (a legacy value that no longer
                # validates) must not stop the night's run: count it, keep the reason
                report.failed += 1
                if len(report.problems) < _PROBLEMS_KEPT:
                    report.problems.append(f"{pair.a} {pair.b}: {exc}")
            if hooks.acted is not None:
                hooks.acted(done, len(graded))
        report.seconds["apply"] = time.perf_counter() - started
    return report, [pair for pair, _ in graded]


def _step(hooks: Hooks, name: str) -> None:
    if hooks.step is not None:
        hooks.step(name)


def _act(
    repo: Repository, pair: ScoredPair, g: str, report: DedupeReport, thresholds: Thresholds
) -> None:
    # A shared valid number with nothing else alike (below ``possible``) is more likely a
    # mis-keyed or re-used number (a parent's number on a child's record) than one person:
    # still graded certain, but a person decides instead of the job linking.
    conflicting = pair.same_valid_id and pair.probability < thresholds.possible
    if g == "certain" and not conflicting:
        reason = (
            "batch deduplication: same valid identity number"
            if pair.same_valid_id
            else f"batch deduplication: match probability {pair.probability:.6f}"
        )
        if link_patients(repo, pair.a, pair.b, reason=reason):
            report.linked += 1
        else:
            report.unchanged += 1
        return
    # the later record (the greater id of the pair) is the one under review
    task = open_review(
        repo,
        pair.b,
        pair.a,
        probability=pair.probability,
        grade=g,
        levels=pair.levels,
        origin="dedupe",
    )
    if task is None:
        report.unchanged += 1
    else:
        report.reviews += 1


def dedupe_seconds(repo: Repository, thresholds: Thresholds) -> float:
    """Seconds a dry run takes over every Patient (read and score; for bench/mpi.py)."""
    report, _ = dedupe(repo, thresholds, dry_run=True)
    return report.total_seconds
