"""The demo's referral case (countyhealth/demo_cases.py: a hypertensive patient of the village
clinic whose reading today calls for an urgent up-referral) and the all-day clinic at the county
clinician's hospital that holds a slot for it — for the referral page and browser tests."""

from __future__ import annotations

from dataclasses import dataclass

from countyhealth import demo_cases
from countyhealth.store import Store
from tests.support.all_day_clinic import SERVICE, add_all_day_clinic
from tests.support.demo_county import DemoCounty


@dataclass(frozen=True)
class ReferralCase:
    patient: str
    hospital: str  # Organization/id of the county clinician
    destination: str  # the refer form's value for the all-day clinic there
    centre: str  # Organization/id of the family doctor (receives the down-referral)


def plant_referral_case(county: DemoCounty, store: Store, pid: str = "ref-case") -> ReferralCase:
    hospital = add_all_day_clinic(county, store)
    demo_cases.plant_referral_case(store, county.accounts, pid)
    centre = str(county.account("family-doctor")["organization"])
    return ReferralCase(pid, hospital, f"{hospital}|HealthcareService/{SERVICE}", centre)
