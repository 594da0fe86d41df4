"""Patient/[id]/$issue-card and Patient/$resolve-code over the FHIR API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from countyhealth.fhir import systems


def params(**values: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": k, "valueString": v} for k, v in values.items()],
    }


def out(body: dict[str, Any], name: str) -> Any:
    found = next(p for p in body["parameter"] if p["name"] == name)
    return next(v for k, v in found.items() if k.startswith("value"))


def test_issue_a_card_then_resolve_its_codes(client: TestClient) -> None:
    pid = client.post(
        "/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": "李"}]}
    ).json()["id"]
    issued = client.post(f"/fhir/Patient/{pid}/$issue-card", json=params(pin="102938"))
    assert issued.status_code == 201, issued.text
    card, code = out(issued.json(), "cardNumber"), out(issued.json(), "staticCode")
    assert out(issued.json(), "patient") == {"reference": f"Patient/{pid}"}
    patient = client.get(f"/fhir/Patient/{pid}").json()
    assert any(
        i["system"] == systems.E_HEALTH_CARD and i["value"] == card for i in patient["identifier"]
    )

    resolve = "/fhir/Patient/$resolve-code"
    no_pin = client.post(resolve, json=params(code=code, channel="payment"))
    assert (
        no_pin.status_code == 400
        and no_pin.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-9004"
    )
    wrong = client.post(resolve, json=params(code=code, channel="payment", pin="000000"))
    assert wrong.status_code == 403 and "CH-9005" in wrong.text
    right = client.post(resolve, json=params(code=code, channel="payment", pin="102938"))
    assert right.status_code == 200, right.text
    assert out(right.json(), "patient") == {"reference": f"Patient/{pid}"}
    assert out(right.json(), "kind") == "static" and out(right.json(), "channel") == "payment"

    bad_channel = client.post(resolve, json=params(code=code, channel="canteen", pin="102938"))
    assert bad_channel.status_code == 400 and "CH-9007" in bad_channel.text
    assert client.get(resolve, params={"code": code, "channel": "payment"}).status_code >= 400
    missing = client.post(f"/fhir/Patient/{pid}/$issue-card", json=params())
    assert missing.status_code == 400 and "CH-9007" in missing.text
    unknown = client.post("/fhir/Patient/nobody/$issue-card", json=params(pin="102938"))
    assert unknown.status_code == 404


def test_both_operations_are_in_the_capability_statement(client: TestClient) -> None:
    cs = client.get("/fhir/metadata").json()
    patient = next(r for r in cs["rest"][0]["resource"] if r["type"] == "Patient")
    names = {op["name"] for op in patient["operation"]}
    assert {"issue-card", "resolve-code"} <= names
