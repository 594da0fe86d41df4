"""Cases planted in the development demo so that a person can walk the workflows end to end
at once (``countyhealth demo cases``; ``make run`` runs it): the demo resident's visit at the
cashier's hospital with charges from two institutions (pay once), and a hypertensive patient
of the demo village doctor's clinic whose reading today calls for an urgent referral. They go
through the same services and Repository as any client; the page and browser tests plant the
same cases. Development only: the demo accounts say where they belong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .billing import add_charge
from .fhir import systems
from .fhir.consent_grants import with_custodian
from .records.query import find
from .scheduling.calendar import fhir_datetime, local_now
from .security.residents import find_by_phone
from .security.roles import caller_for
from .store import Repository, Store, system_caller

_LOINC = "http://loinc.org"
_VISIT_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#: what the billing case charges: (item, quantity, charged by the township centre)
_CHARGES = (
    ("REG-GENERAL", 1, False),
    ("DRUG-AMLODIPINE", 2, False),
    ("DRUG-EJIAO", 1, False),
    ("LAB-HBA1C", 1, True),
)


@dataclass(frozen=True)
class BillingCase:
    patient: str
    encounter: str
    hospital: str
    centre: str


@dataclass(frozen=True)
class ReferralCase:
    patient: str
    village: str


def _staff(store: Store, role: str, organization: str) -> Repository:
    return store.repository(
        caller_for(
            kind="user", id=f"{role}-demo-case", role_codes=(role,), organization=organization
        )
    )


def plant_billing_case(store: Store, accounts: dict[str, dict[str, Any]]) -> BillingCase:
    """An open visit of the demo resident at the cashier's hospital: consultation and
    medicines charged by the hospital, an HbA1c test by the township centre."""
    platform = store.repository(system_caller("demo"))
    now = local_now(store.clock.now_us())
    resident = find_by_phone(platform, str(accounts["resident"]["phone"]), now.date())
    if resident is None:
        raise LookupError("the demo resident's phone matches no Patient")
    hospital = str(accounts["cashier"]["organization"])
    centre = str(accounts["township-clinician"]["organization"])
    doctor = _staff(store, "county-clinician", hospital)
    encounter = doctor.create(
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": _VISIT_CLASS, "code": "AMB"},
            "subject": {"reference": f"Patient/{resident.patient_id}"},
            "period": {"start": fhir_datetime(now - timedelta(minutes=40))},
            "serviceProvider": {"reference": hospital},
        }
    ).id
    town = _staff(store, "township-clinician", centre)
    for code, quantity, by_centre in _CHARGES:
        add_charge(town if by_centre else doctor, encounter, code, quantity)
    return BillingCase(resident.patient_id, encounter, hospital, centre)


def _reading(pid: str, when: str, sbp: int, dbp: int, village: str) -> dict[str, Any]:
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


def plant_referral_case(
    store: Store, accounts: dict[str, dict[str, Any]], pid: str = "demo-referral"
) -> ReferralCase:
    """A hypertensive patient of the demo village doctor's clinic: 152/96 three weeks ago and
    186/114 an hour ago, so the referral rules suggest an urgent up-referral."""
    platform = store.repository(system_caller("demo"))
    village = str(accounts["village-doctor"]["organization"])
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
    platform.put_many(
        [
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"text": "转诊甲"}],
                "gender": "male",
                "birthDate": "1956-08-12",
                "managingOrganization": {"reference": village},
            },
            condition,
            _reading(pid, fhir_datetime(now - timedelta(days=21)), 152, 96, village),
            _reading(pid, fhir_datetime(now - timedelta(hours=1)), 186, 114, village),
        ]
    )
    return ReferralCase(pid, village)


def demo_cases_exist(store: Store) -> bool:
    """Whether the demo cases were planted already (the referral case's patient exists)."""
    platform = store.repository(system_caller("demo"))
    return bool(find(platform, "Patient", [("_id", "demo-referral")], count=1).resources)
