"""The resources that refer to a target, and their stamp (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.store import HistoryQuery, Repository, Scopes, stamp_of
from countyhealth.store.context import Caller

from .bodies import appointment


def test_the_stamp_of_a_patients_appointments_follows_their_writes(repo: Repository) -> None:
    stamp = repo.referring_versions("Appointment", "patient", "Patient/p1")
    assert stamp == ()
    first = repo.create(appointment("p1"))
    repo.create(appointment("p2"))
    stamp = repo.referring_versions("Appointment", "patient", "Patient/p1")
    assert stamp == ((first.id, 1),)
    repo.update("Appointment", first.id, {**appointment("p1", "cancelled"), "id": first.id})
    assert repo.referring_versions("Appointment", "patient", "Patient/p1") == ((first.id, 2),)
    repo.delete("Appointment", first.id)
    assert repo.referring_versions("Appointment", "patient", "Patient/p1") == ()


def test_only_the_platform_reads_them(repo: Repository) -> None:
    clinic = repo.store.repository(
        Caller(
            kind="user",
            id="doctor",
            scopes=Scopes.parse("user/*.cruds"),
            access="organization",
            organization="Organization/o1",
        )
    )
    with pytest.raises(OperationOutcomeError) as exc:
        clinic.referring_versions("Appointment", "patient", "Patient/p1")
    assert exc.value.status == 403
    with pytest.raises(OperationOutcomeError) as exc:
        clinic.referring("Appointment", "patient", "Patient/p1")
    assert exc.value.status == 403


def test_the_resources_referring_to_a_patient_are_read_and_audited(repo: Repository) -> None:
    first = repo.create(appointment("p1"))
    second = repo.create(appointment("p1", "cancelled"))
    repo.create(appointment("p2"))
    deleted = repo.create(appointment("p1"))
    repo.delete("Appointment", deleted.id)
    found = repo.referring("Appointment", "patient", "Patient/p1")
    assert [s.id for s in found] == sorted([first.id, second.id])
    assert {s.id: s.resource["status"] for s in found} == {
        first.id: "booked",
        second.id: "cancelled",
    }
    # the stamp of what was read is the stamp read later, until one of them changes
    stamp = stamp_of(found)
    assert repo.referring_versions("Appointment", "patient", "Patient/p1") == stamp
    repo.update("Appointment", first.id, {**appointment("p1", "arrived"), "id": first.id})
    assert repo.referring_versions("Appointment", "patient", "Patient/p1") != stamp
    # read like a search of the patient's appointments: the patient sees it in the audit trail
    repo.store.audit.flush()
    events = repo.history(HistoryQuery(type="AuditEvent", count=1000)).entries
    searches = [
        e.resource
        for e in events
        if (e.resource.get("subtype") or [{}])[0].get("code") == "search-type"
        and any(
            (x.get("what") or {}).get("reference") == "Patient/p1"
            for x in e.resource.get("entity") or []
        )
    ]
    assert len(searches) == 1
