"""batch and transaction Bundles (https://hl7.org/fhir/R4/http.html#transaction)."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient

from tests.support.fhir_package import example_instances, package_files, skip_reason

SYSTEM = "urn:oid:2.16.156.10011.1.3"


def visit(patient_url: str = "urn:uuid:11111111-1111-1111-1111-111111111111") -> dict:
    """A township HIS posting one visit: patient, encounter and two observations."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"text": "李四"}],
                    "identifier": [{"system": SYSTEM, "value": "11010519491231002X"}],
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={SYSTEM}|11010519491231002X",
                },
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "subject": {"reference": patient_url},
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
            *[
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                        "subject": {"reference": patient_url},
                        "encounter": {"reference": "urn:uuid:22222222-2222-2222-2222-222222222222"},
                        "valueQuantity": {
                            "value": value,
                            "unit": "mm[Hg]",
                            "system": "http://unitsofmeasure.org",
                            "code": "mm[Hg]",
                        },
                    },
                    "request": {"method": "POST", "url": "Observation"},
                }
                for code, value in (("8480-6", 150), ("8462-4", 95))
            ],
        ],
    }


def search_ids(client: TestClient, query: str) -> list[str]:
    return [e["resource"]["id"] for e in client.get(f"/fhir/{query}").json().get("entry", [])]


def test_transaction_resolves_uuids_and_conditional_create(client: TestClient) -> None:
    r = client.post("/fhir", json=visit())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * 4
    pid = body["entry"][0]["response"]["location"].split("/")[-3]
    obs = search_ids(client, f"Observation?subject=Patient/{pid}")
    assert len(obs) == 2
    enc = body["entry"][1]["response"]["location"].split("/")[-3]
    assert client.get(f"/fhir/Observation/{obs[0]}").json()["encounter"]["reference"] == (
        f"Encounter/{enc}"
    )
    # the same visit again: the patient is found, not created twice
    again = client.post("/fhir", json=visit()).json()
    assert again["entry"][0]["response"]["status"] == "200 OK"
    assert again["entry"][0]["response"]["location"].split("/")[-3] == pid
    assert len(search_ids(client, f"Patient?identifier={SYSTEM}|11010519491231002X")) == 1


def test_transaction_is_all_or_nothing(client: TestClient) -> None:
    bad = visit()
    bad["entry"][3]["resource"]["status"] = "not-a-status"
    r = client.post("/fhir", json=bad)
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "CH-3006"
    assert "Bundle.entry[3]" in issue["expression"]
    assert search_ids(client, "Patient?identifier=11010519491231002X") == []
    assert search_ids(client, "Encounter") == []


def test_conditional_reference_and_unknown_uuid(client: TestClient) -> None:
    client.put(
        "/fhir/Patient/p1",
        json={
            "resourceType": "Patient",
            "id": "p1",
            "identifier": [{"system": SYSTEM, "value": "X1"}],
        },
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "bp"},
                    "subject": {"reference": f"Patient?identifier={SYSTEM}|X1"},
                },
                "request": {"method": "POST", "url": "Observation"},
            }
        ],
    }
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200
    assert search_ids(client, "Observation?subject=Patient/p1") != []
    bundle["entry"][0]["resource"]["subject"]["reference"] = (
        "urn:uuid:99999999-0000-0000-0000-000000000000"
    )
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 400
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-7003"


def test_processing_order_put_patch_delete_get(client: TestClient) -> None:
    client.put("/fhir/Patient/gone", json={"resourceType": "Patient", "id": "gone"})
    client.put("/fhir/Patient/p2", json={"resourceType": "Patient", "id": "p2", "gender": "male"})
    patch = base64.b64encode(
        json.dumps([{"op": "replace", "path": "/gender", "value": "female"}]).encode()
    ).decode()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/p2"}},
            {
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/json-patch+json",
                    "data": patch,
                },
                "request": {"method": "PATCH", "url": "Patient/p2"},
            },
            {"request": {"method": "DELETE", "url": "Patient/gone"}},
            {
                "resource": {"resourceType": "Patient", "id": "p3"},
                "request": {"method": "PUT", "url": "Patient/p3"},
            },
        ],
    }
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    entries = r.json()["entry"]
    assert entries[0]["resource"]["gender"] == "female"  # GET runs after the writes
    assert [e["response"]["status"] for e in entries[1:]] == [
        "200 OK",
        "204 No Content",
        "201 Created",
    ]
    assert client.get("/fhir/Patient/gone").status_code == 410


def test_batch_reports_each_entry(client: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "gender": "male"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {"resourceType": "Patient", "gender": "nonsense"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"request": {"method": "GET", "url": "Patient/nobody"}},
        ],
    }
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["201 Created", "400", "404"]
    assert r.json()["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"


def test_bad_bundles(client: TestClient) -> None:
    assert (
        client.post("/fhir", json={"resourceType": "Patient"}).json()["issue"][0]["details"][
            "coding"
        ][0]["code"]
        == "CH-7001"
    )
    r = client.post(
        "/fhir",
        json={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": {"resourceType": "Patient"}}],
        },
    )
    assert r.status_code == 400
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-7002"
    twice = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": "t"},
                "request": {"method": "PUT", "url": "Patient/t"},
            },
            {"request": {"method": "DELETE", "url": "Patient/t"}},
        ],
    }
    r = client.post("/fhir", json=twice)
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-7004"


def test_official_transaction_and_batch_examples(client: TestClient) -> None:
    if skip_reason():
        return
    for _, res in example_instances():  # resources the example bundles refer to
        client.put(f"/fhir/{res['resourceType']}/{res['id']}", json=res)
    results = {}
    for name, res in package_files():
        if res.get("resourceType") == "Bundle" and res.get("type") in ("transaction", "batch"):
            results[name] = client.post("/fhir", json=res).status_code
    assert results, "the package holds transaction and batch examples"
    assert {n: s for n, s in results.items() if s >= 500} == {}
