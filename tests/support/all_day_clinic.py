"""An all-day general-practice clinic at the demo county's hospital, with its slot pool for
today and tomorrow, so booking, check-in and calling can be tested at any hour."""

from __future__ import annotations

from countyhealth.fhir import systems
from countyhealth.scheduling import generate_pool
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
