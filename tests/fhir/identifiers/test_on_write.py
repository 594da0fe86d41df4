"""Identifiers are checked by the validation layer, so every write path rejects bad values."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from countyhealth.fhir import systems
from countyhealth.fhir.validation import validate_resource

BAD_CHECK_DIGIT = "110105194912310021"


def found(resource: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i.code, i.expression[0]) for i in validate_resource(resource)]


def with_identifiers(resource_type: str, *identifiers: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": resource_type, "identifier": list(identifiers)}


def id_card(value: str, **extra: Any) -> dict[str, Any]:
    return {"system": systems.ID_CARD, "value": value, **extra}


@pytest.mark.parametrize("resource_type", ["Patient", "RelatedPerson", "Practitioner"])
def test_bad_identity_number_is_a_value_error_at_its_path(resource_type: str) -> None:
    resource = with_identifiers(resource_type, id_card("11010519491231002X"))
    resource["identifier"].append(id_card(BAD_CHECK_DIGIT))
    if resource_type == "RelatedPerson":
        resource["patient"] = {"reference": "Patient/p1"}
    issues = validate_resource(resource)
    assert [(i.code, i.expression) for i in issues] == [
        ("CH-3005", [f"{resource_type}.identifier[1].value"])
    ]
    assert "check digit is 1, but MOD 11-2 of the first 17 digits gives X" in issues[0].diagnostics


def test_each_wrong_part_is_named() -> None:
    for value, words in [
        ("99010519491231002X", "region"),
        ("11010519490231002X", "birth date"),
        ("110105194912310021", "check digit"),
        ("130503670231001", "birth date"),
    ]:
        issues = validate_resource(with_identifiers("Patient", id_card(value)))
        assert len(issues) == 1 and words in issues[0].diagnostics, value


def test_valid_documents_of_every_kind_pass() -> None:
    patient = with_identifiers(
        "Patient",
        id_card("513101198201130014"),
        id_card("130503670401001"),
        {"system": systems.HK_MACAO_TRAVEL_PERMIT, "value": "H12345678"},
        {"system": systems.TAIWAN_TRAVEL_PERMIT, "value": "12345678"},
        {"system": systems.passport_system("RUS"), "value": "K4582013"},
        {"system": systems.mrn_system("org-h01"), "value": "not checked"},
    )
    assert found(patient) == []


def test_passport_without_country_points_at_the_system() -> None:
    patient = with_identifiers("Patient", {"system": systems.PASSPORT, "value": "K4582013"})
    assert found(patient) == [("CH-3005", "Patient.identifier[0].system")]


def test_old_identifiers_are_kept_as_they_are() -> None:
    patient = with_identifiers("Patient", id_card(BAD_CHECK_DIGIT, use="old"))
    assert found(patient) == []
    patient = with_identifiers("Patient", id_card(BAD_CHECK_DIGIT, use="official"))
    assert found(patient) == [("CH-3005", "Patient.identifier[0].value")]


def test_identifiers_without_system_or_value_and_other_resources_are_not_checked() -> None:
    assert found(with_identifiers("Patient", {"value": BAD_CHECK_DIGIT})) == []
    assert found(with_identifiers("Patient", {"system": systems.ID_CARD})) == []
    organization = with_identifiers("Organization", id_card(BAD_CHECK_DIGIT))
    assert found(organization) == []


def test_resources_inside_a_bundle_are_checked() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:9e1b2f6a-3c1d-4a8e-9f0b-2d3c4e5f6a7b",
                "resource": with_identifiers("Patient", id_card(BAD_CHECK_DIGIT)),
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    assert found(bundle) == [("CH-3005", "Bundle.entry[0].resource.identifier[0].value")]


def test_http_create_with_a_bad_identity_number_is_400(client: TestClient) -> None:
    body = {
        "resourceType": "Patient",
        "identifier": [id_card("11010519491231002X"), id_card(BAD_CHECK_DIGIT)],
    }
    r = client.post("/fhir/Patient", json=body)
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "CH-3005"
    assert issue["expression"] == ["Patient.identifier[1].value"]
    assert "check digit" in issue["diagnostics"]
    r = client.put("/fhir/Patient/p1", json={**body, "id": "p1"})
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Patient.identifier[1].value"]
    assert client.get("/fhir/Patient/p1").status_code == 404
