"""A visit of the demo county's resident at the cashier's hospital with charges from two
institutions — a lab test performed by the township centre and medicines and consultation at
the hospital — for the billing page and browser tests. The clinicians charge through the
billing service, as a hospital system would through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from countyhealth.billing import add_charge
from countyhealth.scheduling.calendar import fhir_datetime, local_now
from countyhealth.security.residents import find_by_phone
from countyhealth.security.roles import caller_for
from countyhealth.store import Store, system_caller
from tests.support.demo_county import DemoCounty


@dataclass(frozen=True)
class BillingCase:
    patient: str
    encounter: str
    hospital: str
    centre: str


def plant_billing_case(county: DemoCounty, store: Store) -> BillingCase:
    platform = store.repository(system_caller("test"))
    today = local_now(store.clock.now_us())
    resident = find_by_phone(platform, str(county.account("resident")["phone"]), today.date())
    assert resident is not None
    patient = resident.patient_id
    hospital = str(county.account("cashier")["organization"])
    centre = str(county.account("township-clinician")["organization"])

    def clinician(role: str, org: str) -> object:
        return store.repository(
            caller_for(kind="user", id=f"{role}-billing", role_codes=(role,), organization=org)
        )

    doctor = clinician("county-clinician", hospital)
    encounter = doctor.create(  # type: ignore[attr-defined]
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{patient}"},
            "period": {"start": fhir_datetime(today - timedelta(minutes=40))},
            "serviceProvider": {"reference": hospital},
        }
    ).id
    for code, quantity in (("REG-GENERAL", 1), ("DRUG-AMLODIPINE", 2), ("DRUG-EJIAO", 1)):
        add_charge(doctor, encounter, code, quantity)  # type: ignore[arg-type]
    add_charge(clinician("township-clinician", centre), encounter, "LAB-HBA1C", 1)  # type: ignore[arg-type]
    return BillingCase(patient, encounter, hospital, centre)
