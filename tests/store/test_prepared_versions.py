"""Versions prepared before their transaction, and the stamp of what refers to a patient (SQLite
and PostgreSQL)."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir.search_request import parse_search
from countyhealth.store import HistoryQuery, Repository, Scopes
from countyhealth.store.context import Caller

from .bodies import appointment

SLOT = {
    "resourceType": "Slot",
    "id": "s1",
    "schedule": {"reference": "Schedule/sch1"},
    "status": "free",
    "start": "2026-12-08T08:00:00+08:00",
    "end": "2026-12-08T08:10:00+08:00",
}


def ids(repo: Repository, rtype: str, *params: tuple[str, str]) -> list[str]:
    page = repo.search(parse_search([rtype], list(params)))
    return sorted(s.id for s in page.entries)


def write_events(repo: Repository, entity_prefix: str) -> list[dict]:
    repo.store.audit.flush()
    events = repo.history(HistoryQuery(type="AuditEvent", count=1000)).entries
    return [
        e.resource
        for e in events
        if any(
            str((x.get("what") or {}).get("reference") or "").startswith(entity_prefix)
            for x in e.resource.get("entity") or []
        )
    ]


def test_a_prepared_update_and_create_are_written_together(repo: Repository) -> None:
    slot, _ = repo.update("Slot", "s1", SLOT)
    taken = repo.prepare_update(slot, {**SLOT, "status": "busy"})
    booked = repo.prepare_create(appointment("p1"))
    with repo.transaction():
        new_slot, stored = repo.write_versions([taken, booked])
    assert new_slot.version == 2 and stored.version == 1
    current = repo.read("Slot", "s1")
    assert current.resource["status"] == "busy"
    assert current.resource["meta"]["versionId"] == "2"
    assert current.resource["meta"]["lastUpdated"] == current.last_updated
    # the index rows prepared with each version are the ones searches use
    assert ids(repo, "Slot", ("status", "busy")) == ["s1"]
    assert ids(repo, "Slot", ("status", "free")) == []
    assert ids(repo, "Appointment", ("patient", "Patient/p1")) == [stored.id]
    # the Appointment is patient data: its AuditEvent was written with it
    events = write_events(repo, f"Appointment/{stored.id}/_history/1")
    assert len(events) == 1 and events[0]["outcome"] == "0"


def test_an_update_prepared_from_an_old_version_writes_nothing(repo: Repository) -> None:
    slot, _ = repo.update("Slot", "s1", SLOT)
    taken = repo.prepare_update(slot, {**SLOT, "status": "busy"})
    booked = repo.prepare_create(appointment("p1"))
    repo.update("Slot", "s1", {**SLOT, "comment": "moved by the clinic"})  # version 2 meanwhile
    with pytest.raises(OperationOutcomeError) as exc, repo.transaction():
        repo.write_versions([booked, taken])
    assert exc.value.code == "CH-2009" and exc.value.status == 409
    # all or nothing: the Appointment written before the refused update was rolled back
    assert ids(repo, "Appointment", ("patient", "Patient/p1")) == []
    assert repo.read("Slot", "s1").resource.get("comment") == "moved by the clinic"


def test_a_deleted_resource_cannot_be_updated_from_a_prepared_version(repo: Repository) -> None:
    slot, _ = repo.update("Slot", "s1", SLOT)
    taken = repo.prepare_update(slot, {**SLOT, "status": "busy"})
    repo.delete("Slot", "s1")
    with pytest.raises(OperationOutcomeError) as exc:
        repo.write_versions([taken])
    assert exc.value.code == "CH-2009"


def test_preparing_checks_the_resource_like_a_write(repo: Repository) -> None:
    slot, _ = repo.update("Slot", "s1", SLOT)
    with pytest.raises(OperationOutcomeError) as exc:
        repo.prepare_update(slot, {**SLOT, "status": "taken"})
    assert exc.value.status == 400
    with pytest.raises(OperationOutcomeError) as exc:
        repo.prepare_update(slot, {**SLOT, "id": "s2"})
    assert exc.value.code == "CH-2006"
    with pytest.raises(OperationOutcomeError) as exc:
        repo.prepare_create({"resourceType": "Appointment", "status": "booked"})
    assert exc.value.status == 400  # Appointment.participant is required


def test_preparing_needs_the_scope_of_the_write(repo: Repository) -> None:
    reader = repo.store.repository(
        Caller(kind="client", id="reader", scopes=Scopes.parse("system/*.rs"), access="all")
    )
    with pytest.raises(OperationOutcomeError) as exc:
        reader.prepare_create(appointment("p1"))
    assert exc.value.status == 403
