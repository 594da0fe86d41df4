"""The booking and clinic pages end to end on the demo county: triage, find, book, check in,
call, the call screen, the resident's queue position, cancel."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from countyhealth.fhir import systems
from countyhealth.store import Store, system_caller
from tests.support.accounts import csrf_of
from tests.support.all_day_clinic import SERVICE, add_all_day_clinic, quiet_all_day_clinic
from tests.support.demo_county import DemoCounty


@pytest.fixture(scope="module")
def all_day_clinic(county: DemoCounty, county_store: Store) -> str:
    return add_all_day_clinic(county, county_store)


def _post(client: TestClient, url: str, data: dict[str, str], page: str) -> object:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_triage_find_book_check_in_call(
    all_day_clinic: str,
    county_store: Store,
    browser_as: Callable[[str], TestClient],
) -> None:
    resident = browser_as("resident")
    patient = resident.get("/app/booking?format=json").json()["patientId"]
    quiet_all_day_clinic(county_store, patient)
    bureau = browser_as("bureau-admin")
    before = _kpis(bureau)
    triaged = _post(resident, "/app/booking/triage", {"symptoms": "发烧，咳嗽有痰"}, "/app/booking")
    assert triaged.status_code == 200  # type: ignore[attr-defined]
    assert "推荐科室" in triaged.text  # type: ignore[attr-defined]

    found = resident.get("/app/booking?department=02&format=json").json()
    ours = [o for o in found["offers"] if o["slot"].startswith(f"sl-{SERVICE}")]
    assert ours, "the all-day clinic offers a free public slot"
    slot = ours[0]["slot"]  # earliest first: it starts within minutes, so check-in is open
    booked = _post(
        resident, "/app/booking/book", {"slot": slot, "patient": patient}, "/app/booking"
    )
    assert booked.status_code == 303, booked.text  # type: ignore[attr-defined]
    mine = resident.get("/app/me/appointments?format=json").json()["appointments"]
    assert [a["status"] for a in mine if a["status"] == "booked"]

    again = _post(resident, "/app/booking/book", {"slot": slot, "patient": patient}, "/app/booking")
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "CH-9106" in again.text or "already" in again.text  # type: ignore[attr-defined]

    platform = county_store.repository(system_caller("test"))
    number = next(
        i["value"]
        for i in platform.read("Patient", patient).resource["identifier"]
        if i["system"] == systems.ID_CARD
    )
    nurse = browser_as("nurse")
    checked = _post(nurse, "/app/clinic/check-in", {"code": number}, "/app/clinic")
    assert checked.status_code == 200, checked.text  # type: ignore[attr-defined]
    assert 'id="checked-in"' in checked.text  # type: ignore[attr-defined]

    position = resident.get("/app/me/appointments?format=json").json()["appointments"]
    assert any("queue" in a for a in position)

    doctor = browser_as("county-clinician")
    room = f"room-{SERVICE}"
    called = _post(doctor, f"/app/clinic/rooms/{room}/call-next", {}, f"/app/clinic/rooms/{room}")
    assert called.status_code == 303  # type: ignore[attr-defined]
    screen = doctor.get(f"/app/clinic/rooms/{room}/screen?format=json").json()
    assert screen["serving"] is not None and screen["serving"]["number"] == slot[-3:]
    assert screen["serving"]["name"].endswith("*")
    seen = resident.get("/app/me/appointments?format=json").json()["appointments"]
    assert any(a["status"] == "fulfilled" for a in seen)

    after = _kpis(bureau)
    assert after["mean-wait"]["denominator"] == before["mean-wait"]["denominator"] + 1
    assert after["on-time-rate"]["numerator"] == before["on-time-rate"]["numerator"] + 1
    assert bureau.get("/app/reports/scheduling").status_code == 200


def _kpis(client: TestClient) -> dict[str, dict[str, object]]:
    rows = client.get("/app/reports/scheduling?format=json").json()["kpis"]
    return {row["id"]: row for row in rows}


def test_clinic_pages_need_the_privilege(browser_as: Callable[[str], TestClient]) -> None:
    resident = browser_as("resident")
    answer = resident.post("/app/clinic/check-in", data={"code": "x"})
    assert answer.status_code in (403, 400)
