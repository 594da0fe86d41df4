"""A hypertensive patient of the demo county's village clinic whose latest reading calls for
an urgent up-referral, and the all-day clinic at the county clinician's hospital that holds a
slot for it — for the referral page and browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from countyhealth.fhir import systems
from countyhealth.fhir.consent_grants import with_custodian
from countyhealth.scheduling.calendar import fhir_datetime, local_now
from countyhealth.store import Store, system_caller
from tests.support.all_day_clinic import SERVICE, add_all_day_clinic
from tests.support.demo_county import DemoCounty

_LOINC = "http://loinc.org"


@dataclass(frozen=True)
class ReferralCase:
    patient: str
    hospital: str  # Organization/id of the county clinician
    destination: str  # the refer form's value for the all-day clinic there
    centre: str  # Organization/id of the family doctor (receives the down-referral)


def _bp(pid: str, when: str, sbp: int, dbp: int, village: str) -> dict[str, Any]:
    def part(code: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": _LOINC, "code": code}]},
            "valueQuantity": {
                "value": value,
                "unit": "mmHg",
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        }

    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{pid}-bp-{sbp}",
        "status": "final",
        "category": [{"coding": [{"system": systems.OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": _LOINC, "code": "85354-9"}], "text": "血压"},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "component": [part("8480-6", sbp), part("8462-4", dbp)],
    }
    with_custodian(body, village)
    return body


def plant_referral_case(county: DemoCounty, store: Store, pid: str = "ref-case") -> ReferralCase:
    repo = store.repository(system_caller("test"))
    hospital = add_all_day_clinic(county, store)
    village = str(county.account("village-doctor")["organization"])
    centre = str(county.account("family-doctor")["organization"])
    now = local_now(store.clock.now_us())
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"{pid}-htn",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": systems.ICD_10, "code": "I10", "display": "原发性高血压"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "recordedDate": fhir_datetime(now - timedelta(days=400)),
    }
    with_custodian(condition, village)
    repo.put_many(
        [
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"text": "转诊甲"}],
                "gender": "male",
                "birthDate": "1956-08-12",
            },
            condition,
            _bp(pid, fhir_datetime(now - timedelta(days=21)), 152, 96, village),
            _bp(pid, fhir_datetime(now - timedelta(hours=1)), 186, 114, village),
        ]
    )
    return ReferralCase(pid, hospital, f"{hospital}|HealthcareService/{SERVICE}", centre)
