"""batch and transaction Bundles (https://hl7.org/fhir/R4/http.html#transaction)."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.rest import process_bundle
from countyhealth.store import Repository
from tests.support.fhir_package import example_instances, package_files, skip_reason

SYSTEM = "urn:oid:2.16.156.10011.1.3"
X1 = "513101198201130014"
K1 = "130503196704010016"


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
            "identifier": [{"system": SYSTEM, "value": X1}],
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
                    "subject": {"reference": f"Patient?identifier={SYSTEM}|{X1}"},
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


# ---------------------------------------------------------------------- regressions from the
# official transaction and batch examples (tests/api/test_official_bundles.py)


def test_operations_in_entries(client: TestClient) -> None:
    """$operations run in entries; an unknown one is refused, not taken for a create."""
    validate = {
        "resource": {
            "resourceType": "Parameters",
            "parameter": [{"name": "resource", "resource": {"resourceType": "Patient"}}],
        },
        "request": {"method": "POST", "url": "Patient/$validate"},
    }
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": "batch", "entry": [validate]})
    assert r.status_code == 200, r.text
    entry = r.json()["entry"][0]
    assert entry["response"]["status"] == "200 OK"
    assert entry["resource"]["resourceType"] == "OperationOutcome"
    lookup = {
        "resource": {"resourceType": "ValueSet", "status": "active"},
        "request": {"method": "POST", "url": "ValueSet/$lookup"},
    }
    r = client.post(
        "/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": [lookup]}
    )
    assert r.status_code == 404
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-2014"
    assert search_ids(client, "ValueSet") == []
    with_id = {
        "resource": {"resourceType": "Patient"},
        "request": {"method": "POST", "url": "Patient/p9"},
    }
    r = client.post(
        "/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": [with_id]}
    )
    assert r.status_code == 400
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-7002"


def test_links_in_uri_elements_and_narrative_follow_new_ids(client: TestClient) -> None:
    """http.html#trules: matching links in uri/url elements and narrative href change too."""
    binary_url = "http://other.example/fhir/Binary/b1"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b7cbd5e-95c4-4c5c-9d51-0dbf5ad5a9a1",
                "resource": {
                    "resourceType": "DocumentReference",
                    "status": "current",
                    "text": {
                        "status": "generated",
                        "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><a href="{binary_url}">doc</a></div>',
                    },
                    "content": [{"attachment": {"contentType": "text/plain", "url": binary_url}}],
                },
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": binary_url,
                "resource": {"resourceType": "Binary", "id": "b1", "contentType": "text/plain"},
                "request": {"method": "POST", "url": "Binary"},
            },
            {  # a PUT keeps its id: its canonical URL is not a link to rewrite
                "fullUrl": "http://hl7.org/fhir/ValueSet/kept",
                "resource": {
                    "resourceType": "ValueSet",
                    "id": "kept",
                    "url": "http://hl7.org/fhir/ValueSet/kept",
                    "status": "active",
                },
                "request": {"method": "PUT", "url": "ValueSet/kept"},
            },
        ],
    }
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    locations = [e["response"]["location"] for e in r.json()["entry"]]
    binary = "/".join(locations[1].split("/")[-4:-2])
    assert binary.startswith("Binary/") and binary != "Binary/b1"
    doc = client.get("/fhir/" + "/".join(locations[0].split("/")[-4:-2])).json()
    assert doc["content"][0]["attachment"]["url"] == binary
    assert f'href="{locations[1].split("/_history")[0]}"' in doc["text"]["div"]
    assert client.get("/fhir/ValueSet/kept").json()["url"] == "http://hl7.org/fhir/ValueSet/kept"


def test_references_to_conditional_update_and_restful_full_urls(client: TestClient) -> None:
    """A conditional PUT's fullUrl resolves to what it writes; a relative reference in an
    entry with a RESTful fullUrl is relative to that root (bundle.html#references)."""
    client.put(
        "/fhir/Patient/known",
        json={
            "resourceType": "Patient",
            "id": "known",
            "identifier": [{"system": SYSTEM, "value": K1}],
        },
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:5c0ad1d9-b1a6-4e8b-9b51-2d9b8f7c2a10",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": SYSTEM, "value": K1}],
                    "gender": "female",
                },
                "request": {"method": "PUT", "url": f"Patient?identifier={SYSTEM}|{K1}"},
            },
            {
                "fullUrl": "http://other.example/fhir/Practitioner/d1",
                "resource": {"resourceType": "Practitioner"},
                "request": {"method": "POST", "url": "Practitioner"},
            },
            {
                "fullUrl": "http://other.example/fhir/Observation/o1",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "bp"},
                    "subject": {"reference": "urn:uuid:5c0ad1d9-b1a6-4e8b-9b51-2d9b8f7c2a10"},
                    "performer": [{"reference": "Practitioner/d1"}],
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["200 OK", "201 Created", "201 Created"]
    practitioner = r.json()["entry"][1]["response"]["location"].split("/")[-3]
    observation = search_ids(client, "Observation?subject=Patient/known")
    assert len(observation) == 1
    stored = client.get(f"/fhir/Observation/{observation[0]}").json()
    assert stored["performer"][0]["reference"] == f"Practitioner/{practitioner}"
    assert client.get("/fhir/Patient/known").json()["gender"] == "female"


def test_conditional_read_and_searches_in_entries(client: TestClient) -> None:
    """ifNoneMatch answers 304; searches report ignored parameters; compartment search."""
    for _ in range(2):
        client.put("/fhir/Patient/p5", json={"resourceType": "Patient", "id": "p5"})
    client.put(
        "/fhir/Observation/o5",
        json={
            "resourceType": "Observation",
            "id": "o5",
            "status": "final",
            "code": {"text": "bp"},
            "subject": {"reference": "Patient/p5"},
        },
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/p5", "ifNoneMatch": 'W/"2"'}},
            {"request": {"method": "GET", "url": "Patient/p5", "ifNoneMatch": 'W/"1"'}},
            {"request": {"method": "GET", "url": "Observation?patient=p5&_list=$current"}},
            {"request": {"method": "GET", "url": "Patient/p5/Observation"}},
            {"request": {"method": "GET", "url": "Patient/p5/nonsense"}},
        ],
    }
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    entries = r.json()["entry"]
    assert entries[0]["response"]["status"] == "304 Not Modified"
    assert "resource" not in entries[0]
    assert entries[1]["resource"]["id"] == "p5"
    found = entries[2]["resource"]
    assert [e["search"]["mode"] for e in found["entry"]] == ["match", "outcome"]
    assert "_list" in str(found["entry"][1]["resource"])
    assert found["link"][0]["relation"] == "self"
    assert [e["resource"]["id"] for e in entries[3]["resource"]["entry"]] == ["o5"]
    assert entries[4]["response"]["status"] == "400"


def test_batch_conditional_create_matches_inside_its_unit_of_work(
    client: TestClient, repo: Repository
) -> None:
    """Parallel batch entries with the same ifNoneExist create one resource."""
    entry = visit()["entry"][0]
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [entry]}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: process_bundle(repo, bundle, "http://x/fhir"), range(16)))
    statuses = sorted(a["entry"][0]["response"]["status"] for a in answers)
    assert statuses == ["200 OK"] * 15 + ["201 Created"]
    assert len(search_ids(client, f"Patient?identifier={SYSTEM}|11010519491231002X")) == 1


def test_post_entries_need_create_not_update(client: TestClient, settings: Settings) -> None:
    """A HIS allowed only to create (``system/*.c`` plus search for If-None-Exist) posts a
    visit: its POST entries are creates, so the missing update permission does not matter,
    and the history records them as POSTs."""
    token = issue_token(settings, "township-his", "system/*.c system/*.s")
    r = client.post("/fhir", json=visit(), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    location = r.json()["entry"][1]["response"]["location"]
    history = client.get("/fhir/" + location.split("/fhir/")[1].split("/_history")[0] + "/_history")
    assert history.json()["entry"][0]["request"]["method"] == "POST"
    updater = issue_token(settings, "updater", "system/*.u system/*.s")
    r = client.post("/fhir", json=visit(), headers={"Authorization": f"Bearer {updater}"})
    assert r.status_code == 403, r.text
