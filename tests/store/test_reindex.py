"""Custom SearchParameters and reindexing: refused while pending, resumable, then correct."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir.search_params import set_custom_parameters
from countyhealth.fhir.search_request import parse_search
from countyhealth.store import Repository, Store

CONTACT_NAME = {
    "resourceType": "SearchParameter",
    "id": "patient-contact-name",
    "url": "https://countyhealth.example.org/fhir/SearchParameter/patient-contact-name",
    "name": "ContactName",
    "status": "active",
    "description": "Name of a contact person of the patient (e.g. a guardian)",
    "code": "contact-name",
    "base": ["Patient"],
    "type": "string",
    "expression": "Patient.contact.name",
}


def patient(pid: str, contact: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "contact": [{"name": {"text": contact}}]}


@pytest.fixture(autouse=True)
def _no_custom_parameters_left() -> Iterator[None]:
    yield
    set_custom_parameters([])


def ids(repo: Repository, params: list[tuple[str, str]]) -> set[str]:
    return {s.id for s in repo.search(parse_search(["Patient"], params, strict=True)).entries}


def test_custom_parameter_is_pending_until_reindexed(repo: Repository, store: Store) -> None:
    repo.put_many([patient(f"p{i}", "李四" if i % 2 else "王五") for i in range(7)])
    with pytest.raises(OperationOutcomeError) as exc:
        ids(repo, [("contact-name", "李")])
    assert exc.value.code == "CH-6001"  # not a parameter yet
    repo.update("SearchParameter", CONTACT_NAME["id"], CONTACT_NAME)
    assert "Patient.contact-name" in store.search_state.pending()
    with pytest.raises(OperationOutcomeError) as exc:
        ids(repo, [("contact-name", "李")])
    assert exc.value.code == "CH-6010"
    repo.update("Patient", "late", patient("late", "李六"))  # indexed when written

    calls: list[int] = []

    def stop_after_first_chunk(rtype: str, done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.search_state.reindex(chunk=3, progress=stop_after_first_chunk)
    assert "Patient.contact-name" in store.search_state.pending(force=True)

    processed = store.search_state.reindex(chunk=3)
    assert processed == 5  # resumed after the first chunk of 3 (8 patients in all)
    assert store.search_state.pending(force=True) == frozenset()
    assert ids(repo, [("contact-name", "李")]) == {"p1", "p3", "p5", "late"}
    assert ids(repo, [("contact-name", "王五")]) == {"p0", "p2", "p4", "p6"}


def test_fresh_database_has_nothing_pending(store: Store) -> None:
    assert store.search_state.pending(force=True) == frozenset()
