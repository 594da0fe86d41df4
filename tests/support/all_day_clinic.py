"""An all-day general-practice clinic at the demo county's hospital, with its slot pool for
today and tomorrow, so booking, check-in and calling can be tested at any hour."""

from __future__ import annotations

from countyhealth.fhir import systems
from countyhealth.records.query import find
from countyhealth.scheduling import call_next, generate_pool
from countyhealth.scheduling.calendar import local_now
from countyhealth.store import Store, system_caller
from tests.support.demo_county import DemoCounty

SERVICE = "hs-test-allday"
ROOM = f"room-{SERVICE}"


def add_all_day_clinic(county: DemoCounty, store: Store) -> str:
    """Create (idempotently) the clinic at the county clinician's hospital; its organisation."""
    org = str(county.account("county-clinician")["organization"])
    repo = store.repository(system_caller("test"))
    repo.update(
        "HealthcareService",
        SERVICE,
        {
            "resourceType": "HealthcareService",
            "id": SERVICE,
            "active": True,
            "providedBy": {"reference": org},
            "type": [
                {"coding": [{"system": systems.DEPARTMENT, "code": "02", "display": "全科医疗科"}]}
            ],
            "name": "全天全科门诊",
            "availableTime": [{"allDay": True}],
        },
    )
    today = local_now(store.clock.now_us()).date()
    generate_pool(repo, today, 2, services={SERVICE})
    return org


def quiet_all_day_clinic(store: Store, patient: str) -> None:
    """Leave the clinic as a new test expects it, whatever earlier tests of the shared county
    did there: nobody waits in its room or is being seen, and ``patient`` holds no open
    appointment at it (which the one-per-service-per-day rule would count)."""
    repo = store.repository(system_caller("test"))
    while call_next(repo, ROOM) is not None:
        pass
    call_next(repo, ROOM)  # finishes whoever the last call left in progress
    held = find(repo, "Appointment", [("patient", f"Patient/{patient}"), ("status", "booked")])
    for appointment in held.resources:
        actors = [str((p.get("actor") or {}).get("reference")) for p in appointment["participant"]]
        if f"HealthcareService/{SERVICE}" not in actors:
            continue
        cancelled = {k: v for k, v in appointment.items() if k != "meta"}
        cancelled["status"] = "cancelled"
        repo.update("Appointment", str(appointment["id"]), cancelled)
        for slot in appointment.get("slot") or []:
            slot_id = str(slot["reference"]).removeprefix("Slot/")
            body = {k: v for k, v in repo.read("Slot", slot_id).resource.items() if k != "meta"}
            body["status"] = "free"
            body["extension"] = [
                e for e in body.get("extension") or [] if e.get("url") != systems.EXT_SLOT_HOLDER
            ]
            repo.update("Slot", slot_id, body)
