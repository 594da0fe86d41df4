"""Repository interactions on SQLite and PostgreSQL (one parametrised fixture)."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.store import HistoryQuery, Repository, Scopes, Store
from countyhealth.store.context import Caller

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"family": "张", "given": ["三"], "text": "张三"}],
    "gender": "male",
    "birthDate": "1980-02-03",
}


def obs(pid: str, value: float) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "valueQuantity": {
            "value": value,
            "unit": "mmHg",
            "system": "http://unitsofmeasure.org",
            "code": "mm[Hg]",
        },
    }


def code_of(exc: pytest.ExceptionInfo[OperationOutcomeError]) -> str:
    return exc.value.code


def test_update_as_create_then_versions(repo: Repository) -> None:
    stored, created = repo.update("Patient", "p1", PATIENT)
    assert created and stored.version == 1
    again, created = repo.update("Patient", "p1", {**PATIENT, "gender": "female"})
    assert not created and again.version == 2
    current = repo.read("Patient", "p1")
    assert current.version == 2
    assert current.resource["gender"] == "female"
    assert current.resource["meta"]["versionId"] == "2"
    assert repo.vread("Patient", "p1", "1").resource["gender"] == "male"


def test_create_assigns_id_and_ignores_client_id(repo: Repository) -> None:
    stored = repo.create({**PATIENT, "id": "ignored"})
    assert stored.id != "ignored"
    assert repo.read("Patient", stored.id).resource["name"][0]["text"] == "张三"


def test_if_match(repo: Repository) -> None:
    repo.update("Patient", "p1", PATIENT)
    with pytest.raises(OperationOutcomeError) as exc:
        repo.update("Patient", "p1", PATIENT, if_match=7)
    assert code_of(exc) == "CH-2008" and exc.value.status == 412
    stored, _ = repo.update("Patient", "p1", PATIENT, if_match=1)
    assert stored.version == 2


def test_delete_then_read_is_gone_and_history_keeps_it(repo: Repository) -> None:
    repo.update("Patient", "p1", PATIENT)
    deleted = repo.delete("Patient", "p1")
    assert deleted is not None and deleted.version == 2
    with pytest.raises(OperationOutcomeError) as exc:
        repo.read("Patient", "p1")
    assert exc.value.status == 410
    assert repo.delete("Patient", "p1") is None  # nothing left to delete
    page = repo.history(HistoryQuery(type="Patient", id="p1"))
    assert [(e.version, e.method) for e in page.entries] == [(2, "DELETE"), (1, "POST")]
    assert page.total == 2
    recreated, created = repo.update("Patient", "p1", PATIENT)
    assert recreated.version == 3 and not created


def test_read_unknown(repo: Repository) -> None:
    with pytest.raises(OperationOutcomeError) as exc:
        repo.read("Patient", "nobody")
    assert code_of(exc) == "CH-2001" and exc.value.status == 404
    with pytest.raises(OperationOutcomeError) as exc:
        repo.read("NotAType", "x")
    assert code_of(exc) == "CH-2004"


def test_patch(repo: Repository) -> None:
    repo.update("Patient", "p1", PATIENT)
    stored = repo.patch("Patient", "p1", [{"op": "replace", "path": "/gender", "value": "female"}])
    assert stored.version == 2 and stored.resource["gender"] == "female"
    with pytest.raises(OperationOutcomeError) as exc:
        repo.patch("Patient", "p1", [{"op": "replace", "path": "/id", "value": "other"}])
    assert code_of(exc) == "CH-2013"
    with pytest.raises(OperationOutcomeError) as exc:
        repo.patch("Patient", "p1", [{"op": "add", "path": "/nonsense", "value": 1}])
    assert code_of(exc) == "CH-3002"
    with pytest.raises(OperationOutcomeError) as exc:
        repo.patch("Patient", "p1", {"not": "a patch"})
    assert code_of(exc) == "CH-2012"
    assert repo.read("Patient", "p1").version == 2


def test_history_since_at_and_paging(repo: Repository, store: Store) -> None:
    repo.update("Patient", "p1", PATIENT)
    first = repo.read("Patient", "p1")
    for i in range(4):
        repo.update("Patient", "p1", {**PATIENT, "birthDate": f"198{i}-01-01"})
    page = repo.history(HistoryQuery(type="Patient", id="p1", count=2))
    assert [e.version for e in page.entries] == [5, 4] and page.has_more
    page2 = repo.history(
        HistoryQuery(type="Patient", id="p1", count=2, offset=2, snapshot_us=page.snapshot_us)
    )
    assert [e.version for e in page2.entries] == [3, 2]
    since = repo.history(HistoryQuery(type="Patient", id="p1", since_us=first.last_updated_us + 1))
    assert [e.version for e in since.entries] == [5, 4, 3, 2]
    at = repo.history(
        HistoryQuery(type="Patient", id="p1", at=(first.last_updated_us, first.last_updated_us))
    )
    assert [e.version for e in at.entries] == [1]
    # writes after the snapshot do not shift a page
    repo.update("Patient", "p1", PATIENT)
    again = repo.history(
        HistoryQuery(type="Patient", id="p1", count=2, offset=2, snapshot_us=page.snapshot_us)
    )
    assert [e.version for e in again.entries] == [3, 2]


def test_type_and_system_history(repo: Repository) -> None:
    repo.update("Patient", "p1", PATIENT)
    repo.create(obs("p1", 120))
    types = [e.type for e in repo.history(HistoryQuery()).entries]
    assert "Observation" in types and "Patient" in types
    assert {e.type for e in repo.history(HistoryQuery(type="Observation")).entries} == {
        "Observation"
    }


def test_scopes_are_enforced(store: Store) -> None:
    reader = store.repository(Caller("client", "ro", Scopes.parse("system/Patient.rs")))
    writer = store.repository(Caller("client", "rw", Scopes.parse("system/*.cruds")))
    writer.update("Patient", "p1", PATIENT)
    assert reader.read("Patient", "p1").version == 1
    with pytest.raises(OperationOutcomeError) as exc:
        reader.update("Patient", "p1", PATIENT)
    assert exc.value.status == 403 and code_of(exc) == "CH-4003"
    with pytest.raises(OperationOutcomeError):
        reader.create(obs("p1", 1))
    # system history shows only the types the scopes allow
    writer.create(obs("p1", 1))
    assert {e.type for e in reader.history(HistoryQuery()).entries} == {"Patient"}


def audit_events(repo: Repository) -> list[dict]:
    repo.store.audit.flush()
    return [e.resource for e in repo.history(HistoryQuery(type="AuditEvent", count=1000)).entries]


def test_every_patient_data_interaction_is_audited(repo: Repository, store: Store) -> None:
    repo.update("Patient", "p1", PATIENT)
    o = repo.create(obs("p1", 130))
    repo.read("Observation", o.id)
    repo.read("Patient", "p1")
    with pytest.raises(OperationOutcomeError):
        repo.read("Patient", "missing")
    events = audit_events(repo)
    subtypes = sorted(e["subtype"][0]["code"] for e in events)
    assert subtypes == ["create", "read", "read", "read", "update"]
    failed = [e for e in events if e["outcome"] != "0"]
    assert len(failed) == 1 and failed[0]["outcomeDesc"].startswith("CH-2001")
    obs_read = next(
        e
        for e in events
        if e["subtype"][0]["code"] == "read"
        and e["entity"][-1]["what"]["reference"].startswith("Observation/")
    )
    assert obs_read["entity"][0]["what"]["reference"] == "Patient/p1"
    assert all(e["agent"][0]["who"]["identifier"]["value"] == "tests" for e in events)


def test_put_many_inserts_and_updates_in_one_transaction(repo: Repository) -> None:
    repo.update("Patient", "p1", PATIENT)
    batch = [{**PATIENT, "gender": "female"}] + [
        {**PATIENT, "id": f"n{i}", "birthDate": f"200{i}-01-01"} for i in range(5)
    ]
    batch.append({**obs("p1", 140), "id": "o1"})
    stored = repo.put_many(batch)
    assert [(s.id, s.version) for s in stored][:2] == [("p1", 2), ("n0", 1)]
    assert repo.read("Patient", "n4").resource["birthDate"] == "2004-01-01"
    assert repo.read("Observation", "o1").resource["subject"]["reference"] == "Patient/p1"
    assert len(repo.history(HistoryQuery(type="Patient", id="p1")).entries) == 2


def test_put_many_is_all_or_nothing(repo: Repository) -> None:
    bad = [{**PATIENT, "id": "ok1"}, {**PATIENT, "id": "bad", "gender": "nonsense"}]
    with pytest.raises(OperationOutcomeError) as exc:
        repo.put_many(bad)
    assert code_of(exc) == "CH-3006"
    with pytest.raises(OperationOutcomeError):
        repo.read("Patient", "ok1")
    with pytest.raises(OperationOutcomeError) as exc:
        repo.put_many([PATIENT, PATIENT])
    assert code_of(exc) == "CH-1006"
