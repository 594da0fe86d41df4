"""The scheduling operations over HTTP: shapes, status codes and OperationOutcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.fhir import systems
from countyhealth.security.roles import roles

from .conftest import ROOM, Pool


def _params(**values: Any) -> dict[str, Any]:
    parameter = []
    for name, value in values.items():
        if isinstance(value, str) and "/" in value:
            parameter.append({"name": name, "valueReference": {"reference": value}})
        else:
            parameter.append({"name": name, "valueString": value})
    return {"resourceType": "Parameters", "parameter": parameter}


def _resident(settings: Settings, patient: str) -> dict[str, str]:
    token = issue_token(
        settings,
        f"resident-{patient}",
        "patient/*.rs patient/Appointment.cru",
        kind="user",
        extra={"roles": ["resident"], "patients": [patient]},
    )
    return {"Authorization": f"Bearer {token}"}


def _staff(settings: Settings, role: str) -> dict[str, str]:
    token = issue_token(
        settings,
        f"{role}-1",
        roles()[role].scopes,
        kind="user",
        extra={"roles": [role], "org": "Organization/org-hosp"},
    )
    return {"Authorization": f"Bearer {token}"}


def _code(answer: Any) -> str:
    return str(answer.json()["issue"][0]["details"]["coding"][0]["code"])


def test_find_book_cancel_check_in_call_and_kpis(
    pool: Pool, client: TestClient, settings: Settings
) -> None:
    patient = pool.patients[1]
    me = _resident(settings, patient)
    tomorrow = (pool.today + timedelta(days=1)).isoformat()
    # the day after tomorrow: its first slot (00:00) is always more than the cancellation
    # limit away, whatever the hour the test runs at (tomorrow's is not after 22:00)
    later = (pool.today + timedelta(days=2)).isoformat()
    found = client.get(
        f"/fhir/Appointment/$find?start={later}&end={later}&service-type=03.04&_count=5",
        headers=me,
    )
    assert found.status_code == 200, found.text
    offers = [e["resource"] for e in found.json()["entry"]]
    assert len(offers) == 5 and all(o["status"] == "proposed" for o in offers)
    assert [o["start"] for o in offers] == sorted(o["start"] for o in offers)
    slot = offers[0]["slot"][0]["reference"]

    booked = client.post(
        "/fhir/Appointment/$book", json=_params(slot=slot, patient=f"Patient/{patient}"), headers=me
    )
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert appointment["status"] == "booked" and booked.headers["Location"]

    other = _resident(settings, pool.patients[2])
    lost = client.post(
        "/fhir/Appointment/$book",
        json=_params(slot=slot, patient=f"Patient/{pool.patients[2]}"),
        headers=other,
    )
    assert lost.status_code == 409 and _code(lost) == "CH-9101"
    bad = client.post("/fhir/Appointment/$book", json=_params(slot=slot), headers=other)
    assert bad.status_code == 400 and _code(bad) == "CH-9114"

    cancelled = client.post(
        f"/fhir/Appointment/{appointment['id']}/$cancel", json=_params(reason="plans"), headers=me
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert pool.repo.read("Slot", slot.removeprefix("Slot/")).resource["status"] == "free"

    nothing = client.post(
        "/fhir/Appointment/$check-in",
        json=_params(code=_id_number(pool, patient)),
        headers=_staff(settings, "nurse"),
    )
    assert nothing.status_code == 404 and _code(nothing) == "CH-9111"
    refused = client.post("/fhir/Appointment/$check-in", json=_params(code="x"), headers=me)
    assert refused.status_code == 403
    empty = client.post(
        f"/fhir/{ROOM}/$call-next", json=_params(), headers=_staff(settings, "county-clinician")
    )
    assert empty.status_code == 200 and empty.json()["resourceType"] == "OperationOutcome"

    kpis = client.get(
        f"/fhir/$scheduling-kpis?start={pool.today.isoformat()}&end={tomorrow}",
        headers=_staff(settings, "bureau-admin"),
    )
    assert kpis.status_code == 200, kpis.text
    assert kpis.json()["resourceType"] == "MeasureReport"
    wrong = client.get("/fhir/$scheduling-kpis?start=2026-13-01&end=2026-01-01")
    assert wrong.status_code == 400 and _code(wrong) == "CH-9114"


def _id_number(pool: Pool, patient: str) -> str:
    resource = pool.repo.read("Patient", patient).resource
    return next(i["value"] for i in resource["identifier"] if i["system"] == systems.ID_CARD)
