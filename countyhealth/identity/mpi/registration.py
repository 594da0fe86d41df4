"""The identity check on registration (``POST Patient`` and the registration page).

A new record is matched against the index before it is stored, in the same transaction:
- an equal, valid identity number means the resident is already registered — the create is
  refused (CH-9501, naming the record) rather than making a second record of one person;
- a probable match is stored and a duplicate-review Task opened for the identity steward
  (neither a silent merge nor a silent second record);
- anything less is simply stored.
Bulk loads (bundles, ``$import``, the seed) are checked afterwards by the batch
deduplication (``countyhealth linkage dedupe``), which opens the same Tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import error
from ...fhir import systems
from ...fhir.validation import check_resource
from ...store import Repository, Stored
from ..matching.features import patient_features
from ..review import open_review
from .match import Thresholds, match_patient


@dataclass(frozen=True, slots=True)
class Registration:
    stored: Stored
    reviews: list[str] = field(default_factory=list)


def register_patient(repo: Repository, body: dict[str, Any]) -> Registration:
    """Create the Patient ``body`` as the caller, after the identity check."""
    check_resource(body)  # a malformed record is refused before anything is matched
    thresholds = Thresholds.of(repo.store.settings)
    number = patient_features(body).id_number
    with repo.transaction():
        if number:
            # serialises registrations of one number (and conditional creates on it) until
            # this transaction ends, so two desks cannot both find nobody and both create
            repo.elevated().matches("Patient", [("identifier", f"{systems.ID_CARD}|{number}")])
        candidates = match_patient(repo, body, thresholds)
        same = next((c for c in candidates if c.same_id_number), None)
        if same is not None:
            raise error(
                "CH-9501",
                f"a resident with this identity number is already registered as "
                f"{same.reference}; use that record (or a conditional create)",
                "Patient.identifier",
            )
        stored = repo.create(body)
        reviews: list[str] = []
        for candidate in candidates:
            if candidate.grade not in ("certain", "probable"):
                continue
            task = open_review(
                repo,
                f"Patient/{stored.id}",
                candidate.reference,
                probability=candidate.score.probability,
                grade=candidate.grade,
                levels=dict(candidate.score.levels),
                origin="create",
            )
            if task is not None:
                reviews.append(task)
    return Registration(stored, reviews)
