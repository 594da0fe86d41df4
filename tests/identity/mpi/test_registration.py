"""The identity check on POST Patient: a second record of an identity number is refused, a
probable duplicate is stored with a review Task, anyone else is simply stored."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.identity.mpi import register_patient
from countyhealth.identity.review import KIND, Review
from countyhealth.records.query import find
from countyhealth.store import Repository, Store, system_caller

from .people import stranger, wang, wang_again


def _reviews(repo: Repository) -> list[Review]:
    found = find(repo, "Task", [("code", f"{systems.TASK_KIND}|{KIND}")], count=100)
    return [Review.of(t) for t in found.resources]


def _patients(repo: Repository) -> int:
    return len(find(repo, "Patient", [], count=100).resources)


def test_a_second_record_of_an_identity_number_is_refused(
    client: TestClient, repo: Repository
) -> None:
    first = client.post("/fhir/Patient", json=wang())
    assert first.status_code == 201, first.text
    again = client.post("/fhir/Patient", json=wang())
    assert again.status_code == 409
    issue = again.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "CH-9501"
    assert first.json()["id"] in issue["diagnostics"]
    assert _patients(repo) == 1


def test_a_probable_duplicate_is_stored_with_a_review_task(
    client: TestClient, repo: Repository
) -> None:
    original = client.post("/fhir/Patient", json=wang()).json()["id"]
    client.post("/fhir/Patient", json=stranger())
    second = client.post("/fhir/Patient", json=wang_again())
    assert second.status_code == 201, second.text
    reviews = _reviews(repo)
    assert len(reviews) == 1
    review = reviews[0]
    assert review.patient == f"Patient/{second.json()['id']}"
    assert review.candidate == f"Patient/{original}"
    assert review.origin == "create"
    assert review.grade in ("probable", "certain")
    assert review.levels  # the comparison of each field, for the reviewer
    assert review.status == "requested"
    assert _patients(repo) == 3


def test_someone_new_is_simply_stored(client: TestClient, repo: Repository) -> None:
    client.post("/fhir/Patient", json=wang())
    r = client.post("/fhir/Patient", json=stranger())
    assert r.status_code == 201
    assert _reviews(repo) == []


def test_desks_registering_one_number_at_once_make_one_record(store: Store) -> None:
    """Six desks register the same resident at the same moment: one record, five refusals."""
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def desk() -> None:
        repo = store.repository(system_caller("desk"))
        start.wait()
        try:
            register_patient(repo, wang())
            outcomes.append("created")
        except OperationOutcomeError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=desk) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["CH-9501"] * 5 + ["created"]
    repo = store.repository(system_caller("check"))
    assert _patients(repo) == 1
