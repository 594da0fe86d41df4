"""Patient/$match over HTTP, on SQLite and PostgreSQL (R4 patient-operation-match)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from countyhealth.identity import downgrade
from countyhealth.store import Repository

from .people import ID_WANG, patient, stranger, wang, wang_again

GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"


def _match(client: TestClient, resource: dict[str, Any], **extra: Any) -> Any:
    params: list[dict[str, Any]] = [{"name": "resource", "resource": resource}]
    for name, value in extra.items():
        key = "valueBoolean" if isinstance(value, bool) else "valueInteger"
        params.append({"name": name, key: value})
    return client.post(
        "/fhir/Patient/$match", json={"resourceType": "Parameters", "parameter": params}
    )


def _grades(bundle: dict[str, Any]) -> dict[str, str]:
    return {
        e["resource"]["id"]: e["search"]["extension"][0]["valueCode"]
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "match"
    }


def test_the_identity_number_decides_even_in_its_old_15_digit_form(
    client: TestClient, repo: Repository
) -> None:
    original = repo.create(wang()).id
    repo.create(stranger())
    query = patient("王", "建国", "1968-03-05", "male", id_number=downgrade(ID_WANG))
    r = _match(client, query)
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["type"] == "searchset"
    assert _grades(bundle) == {original: "certain"}
    assert bundle["entry"][0]["search"]["score"] > 0.9


def test_a_homophone_without_the_card_is_found_and_a_stranger_is_not(
    client: TestClient, repo: Repository
) -> None:
    original = repo.create(wang()).id
    other = repo.create(stranger()).id
    bundle = _match(client, wang_again()).json()
    grades = _grades(bundle)
    assert grades.get(original) in ("probable", "certain")
    assert other not in grades
    # moved within the township, no phone: probable, not certain
    moved = patient("王", "建郭", "1968-03-05", "male", village="下王村")
    assert _grades(_match(client, moved).json()).get(original) == "probable"
    only = _match(client, moved, onlyCertainMatches=True).json()
    assert original not in _grades(only)


def test_count_caps_the_answer(client: TestClient, repo: Repository) -> None:
    for _ in range(3):  # three records of one person, as a busy desk makes them
        repo.create(wang_again())
    bundle = _match(client, wang_again(), count=2).json()
    assert len(_grades(bundle)) == 2


def test_bad_input_is_refused_with_a_stable_code(client: TestClient) -> None:
    cases = [
        {"resourceType": "Parameters", "parameter": []},
        {
            "resourceType": "Parameters",
            "parameter": [
                {
                    "name": "resource",
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"text": "x"},
                    },
                }
            ],
        },
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "resource", "resource": wang()},
                {"name": "count", "valueInteger": 0},
            ],
        },
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "resource", "resource": wang()},
                {"name": "onlyCertainMatches", "valueString": "maybe"},
            ],
        },
    ]
    for body in cases:
        r = client.post("/fhir/Patient/$match", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-9502"
