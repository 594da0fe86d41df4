"""The recognition operations over HTTP: order, check, accept, re-test, the KPIs as a
MeasureReport, and the refusals as OperationOutcomes with their codes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.scheduling.calendar import fhir_datetime
from countyhealth.security.roles import roles

from .conftest import COUNTY, HBA1C, PATIENT, TOWN, County


def _staff(settings: Settings, role: str, org: str) -> dict[str, str]:
    token = issue_token(
        settings,
        f"{role}-{org}",
        roles()[role].scopes,
        kind="user",
        extra={"roles": [role], "org": f"Organization/{org}"},
    )
    return {"Authorization": f"Bearer {token}"}


def _code(answer: Any) -> str:
    return str(answer.json()["issue"][0]["details"]["coding"][0]["code"])


def _parts(parameter: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p for p in parameter["part"]}


def _order(client: TestClient, doctor: dict[str, str], county: County) -> str:
    created = client.post(
        "/fhir/ServiceRequest",
        headers=doctor,
        json={
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "code": {"coding": [{"system": "http://loinc.org", "code": HBA1C}]},
            "subject": {"reference": f"Patient/{PATIENT}"},
            "authoredOn": fhir_datetime(county.now),
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_check_accept_retest_and_kpis(
    county: County, client: TestClient, settings: Settings
) -> None:
    doctor = _staff(settings, "township-clinician", TOWN)
    preview = client.get(
        "/fhir/ServiceRequest/$recognition-check",
        params={"patient": f"Patient/{PATIENT}", "code": HBA1C},
        headers=doctor,
    )
    assert preview.status_code == 200, preview.text
    params = preview.json()["parameter"]
    assert {p["name"] for p in params} >= {"item", "recognisable", "window", "suggestion"}
    suggestion = _parts(next(p for p in params if p["name"] == "suggestion"))
    report = suggestion["report"]["valueReference"]["reference"]
    assert report == f"DiagnosticReport/{county.reports['county-3w']}"
    assert suggestion["organization"]["valueReference"]["reference"] == f"Organization/{COUNTY}"
    assert suggestion["age"]["valueQuantity"]["value"] == 21
    assert suggestion["mark"]["valueCoding"]["display"] == "浙HR"

    # an order filed by the HIS, checked on the order, accepted
    first = _order(client, doctor, county)
    checked = client.post(
        f"/fhir/ServiceRequest/{first}/$recognition-check",
        headers=doctor,
        json={"resourceType": "Parameters"},
    )
    assert checked.status_code == 200, checked.text
    order_ref = next(p for p in checked.json()["parameter"] if p["name"] == "order")
    assert order_ref["valueReference"]["reference"] == f"ServiceRequest/{first}"
    accepted = client.post(
        f"/fhir/ServiceRequest/{first}/$recognise",
        headers=doctor,
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "result", "valueReference": {"reference": report}}],
        },
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "completed"

    # a second order, re-tested: without a reason, with an unknown one, then properly
    second = _order(client, doctor, county)
    for body, code in [
        ({"resourceType": "Parameters"}, "CH-9202"),
        (
            {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueCode": "x"}]},
            "CH-9202",
        ),
    ]:
        refused = client.post(f"/fhir/ServiceRequest/{second}/$retest", headers=doctor, json=body)
        assert refused.status_code == 422 and _code(refused) == code
    retested = client.post(
        f"/fhir/ServiceRequest/{second}/$retest",
        headers=doctor,
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "reason", "valueCode": "disease-change"}],
        },
    )
    assert retested.status_code == 200, retested.text

    bureau = _staff(settings, "bureau-admin", "org-bureau")
    day = county.now.date().isoformat()
    kpis = client.get("/fhir/$recognition-kpis", params={"start": day, "end": day}, headers=bureau)
    assert kpis.status_code == 200, kpis.text
    groups = {g["code"]["coding"][0]["code"]: g for g in kpis.json()["group"]}
    rate = groups["recognition-rate"]
    assert [p["count"] for p in rate["population"]] == [1, 2]
    assert rate["measureScore"]["value"] == 50.0
    strata = {
        s["value"]["coding"][0]["code"]: s["population"][0]["count"]
        for s in groups["retests"]["stratifier"][0]["stratum"]
    }
    assert strata["disease-change"] == 1 and sum(strata.values()) == 1
    assert groups["avoided-cost"]["measureScore"]["value"] > 0
    assert groups["lookups"]["population"][0]["count"] == 2
    # a clinician may not read the county's KPIs
    assert (
        client.get(
            "/fhir/$recognition-kpis", params={"start": day, "end": day}, headers=doctor
        ).status_code
        == 403
    )


def test_bad_requests_answer_operation_outcomes(
    county: County, client: TestClient, settings: Settings
) -> None:
    doctor = _staff(settings, "township-clinician", TOWN)
    missing = client.get("/fhir/ServiceRequest/$recognition-check", headers=doctor)
    assert missing.status_code == 400 and _code(missing) == "CH-9201"
    order = _order(client, doctor, county)
    no_result = client.post(
        f"/fhir/ServiceRequest/{order}/$recognise",
        headers=doctor,
        json={"resourceType": "Parameters"},
    )
    assert no_result.status_code == 400 and _code(no_result) == "CH-9201"
    stale = client.post(
        f"/fhir/ServiceRequest/{order}/$recognise",
        headers=doctor,
        json={
            "resourceType": "Parameters",
            "parameter": [
                {
                    "name": "result",
                    "valueReference": {
                        "reference": f"DiagnosticReport/{county.reports['county-70d']}"
                    },
                }
            ],
        },
    )
    assert stale.status_code == 422 and _code(stale) == "CH-9203"
    bad_period = client.get(
        "/fhir/$recognition-kpis",
        params={"start": "2026-02-30", "end": "2026-03-01"},
        headers=_staff(settings, "bureau-admin", "org-bureau"),
    )
    assert bad_period.status_code == 400 and _code(bad_period) == "CH-9201"
