"""Patient/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def load(client: TestClient) -> None:
    client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    client.put("/fhir/Patient/p2", json={"resourceType": "Patient", "id": "p2"})
    for i in range(5):
        client.put(
            f"/fhir/Observation/o{i}",
            json={
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "code": {"text": "bp"},
                "subject": {"reference": f"Patient/p{1 + i % 2}"},
            },
        )
    client.put(
        "/fhir/Condition/c1",
        json={"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}},
    )
    # a resource of another type whose id equals the patient's is not in the compartment
    client.put(
        "/fhir/Observation/p1",
        json={
            "resourceType": "Observation",
            "id": "p1",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/p2"},
        },
    )


def ids(bundle: dict) -> set[str]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}


def test_everything_pages_and_filters(client: TestClient) -> None:
    load(client)
    r = client.get("/fhir/Patient/p1/$everything")
    assert r.status_code == 200
    assert ids(r.json()) == {
        "Patient/p1",
        "Observation/o0",
        "Observation/o2",
        "Observation/o4",
        "Condition/c1",
    }
    r = client.get("/fhir/Patient/p1/$everything?_type=Condition")
    assert ids(r.json()) == {"Condition/c1"}
    first = client.get("/fhir/Patient/p1/$everything?_count=2").json()
    seen = ids(first)
    nxt = [link["url"] for link in first["link"] if link["relation"] == "next"]
    while nxt:
        page = client.get("/fhir" + nxt[0].split("/fhir", 1)[1]).json()
        seen |= ids(page)
        nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
    assert len(seen) == 5
    assert client.get("/fhir/Patient/p1/$everything?_since=2999-01-01").json().get("entry") is None
    assert client.get("/fhir/Patient/nobody/$everything").status_code == 404
    r = client.get("/fhir/Patient/p1/$everything?_type=Organization")
    assert r.status_code == 400
