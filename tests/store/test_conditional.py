"""Conditional create, update and delete (https://hl7.org/fhir/R4/http.html#cond-update)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir.search_request import parse_search
from countyhealth.store import Repository

SYSTEM = "urn:oid:2.16.156.10011.1.3"


def patient(id_number: str, **extra: object) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM, "value": id_number}],
        **extra,
    }


def by_identifier(id_number: str) -> list[tuple[str, str]]:
    return [("identifier", f"{SYSTEM}|{id_number}")]


def count(repo: Repository, id_number: str) -> int:
    req = parse_search(["Patient"], [*by_identifier(id_number), ("_total", "accurate")])
    return repo.search(req).total or 0


def test_conditional_create(repo: Repository) -> None:
    first, created = repo.create_if_none_exist(
        patient("11010519491231002X"), by_identifier("11010519491231002X")
    )
    assert created
    again, created = repo.create_if_none_exist(
        patient("11010519491231002X", gender="male"), by_identifier("11010519491231002X")
    )
    assert not created and again.id == first.id and again.version == 1
    repo.create(patient("11010519491231002X"))  # a duplicate made by a plain create
    with pytest.raises(OperationOutcomeError) as exc:
        repo.create_if_none_exist(
            patient("11010519491231002X"), by_identifier("11010519491231002X")
        )
    assert exc.value.code == "CH-2015" and exc.value.status == 412


def test_parallel_conditional_creates_make_one_resource(repo: Repository) -> None:
    def attempt(_: int) -> bool:
        return repo.create_if_none_exist(
            patient("513101198201130014"), by_identifier("513101198201130014")
        )[1]

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(attempt, range(16)))
    assert created.count(True) == 1
    assert count(repo, "513101198201130014") == 1


def test_conditional_update(repo: Repository) -> None:
    stored, created = repo.update_where(
        "Patient",
        by_identifier("130503196704010016"),
        patient("130503196704010016", gender="female"),
    )
    assert created
    updated, created = repo.update_where(
        "Patient", by_identifier("130503196704010016"), patient("130503196704010016", gender="male")
    )
    assert not created and updated.id == stored.id and updated.version == 2
    with pytest.raises(OperationOutcomeError) as exc:
        repo.update_where(
            "Patient",
            by_identifier("130503196704010016"),
            patient("130503196704010016", id="someone-else"),
        )
    assert exc.value.code == "CH-2016"
    with pytest.raises(OperationOutcomeError) as exc:
        repo.update_where("Patient", [("nonsense", "x")], patient("1"))
    assert exc.value.code == "CH-6001"


def test_conditional_delete(repo: Repository) -> None:
    assert repo.delete_where("Patient", by_identifier("nobody")) is None
    stored = repo.create(patient("440524188001010014"))
    deleted = repo.delete_where("Patient", by_identifier("440524188001010014"))
    assert deleted is not None and deleted.id == stored.id
    with pytest.raises(OperationOutcomeError) as exc:
        repo.read("Patient", stored.id)
    assert exc.value.status == 410


def test_conditional_interactions_over_http(client: TestClient) -> None:
    ident = f"identifier={SYSTEM}|11010519491231002X"
    body = patient("11010519491231002X")
    r = client.post("/fhir/Patient", json=body, headers={"If-None-Exist": ident})
    assert r.status_code == 201
    r = client.post("/fhir/Patient", json=body, headers={"If-None-Exist": ident})
    assert r.status_code == 200
    r = client.put(f"/fhir/Patient?{ident}", json={**body, "gender": "female"})
    assert r.status_code == 200 and r.json()["gender"] == "female"
    r = client.delete(f"/fhir/Patient?{ident}")
    assert r.status_code == 200
    r = client.put("/fhir/Patient?identifier=x", json={"resourceType": "Observation"})
    assert r.status_code == 400
