"""A small county for the recognition check: a county hospital, two township centres and a
village clinic; one patient with HbA1c and potassium results at several of them, at chosen
ages; the patient lets the first township centre read their results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from countyhealth.consent import grant
from countyhealth.fhir import systems
from countyhealth.scheduling.calendar import local_now
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store
from tests.support.lab_results import lab_result

COUNTY, TOWN, TOWN2, VILLAGE = "org-county", "org-town", "org-town2", "org-village"
PATIENT = "rp1"
HBA1C, POTASSIUM = "4548-4", "2823-3"
_KINDS = {COUNTY: "general", TOWN: "health-centre", TOWN2: "health-centre", VILLAGE: "village"}
_NAMES = {COUNTY: "县人民医院", TOWN: "城关镇卫生院", TOWN2: "东镇卫生院", VILLAGE: "李村卫生室"}


@dataclass
class County:
    store: Store
    repo: Repository
    now: datetime
    reports: dict[str, str]  # name → DiagnosticReport id
    observations: dict[str, str]

    def clinician(self, organization: str, role: str = "township-clinician") -> Repository:
        return self.store.repository(
            caller_for(
                kind="user",
                id=f"{role}-{organization}",
                role_codes=(role,),
                organization=f"Organization/{organization}",
                actors=(f"PractitionerRole/pr-{organization}",),
            )
        )

    def bureau(self) -> Repository:
        return self.store.repository(
            caller_for(
                kind="user",
                id="bureau-1",
                role_codes=("bureau-admin",),
                organization="Organization/org-bureau",
            )
        )


@pytest.fixture
def county(store: Store, repo: Repository) -> County:
    repo.put_many(
        [
            {
                "resourceType": "Organization",
                "id": org,
                "name": _NAMES[org],
                "type": [{"coding": [{"system": systems.FACILITY_TYPE, "code": kind}]}],
            }
            for org, kind in _KINDS.items()
        ]
        + [
            {
                "resourceType": "Patient",
                "id": PATIENT,
                "name": [{"text": "王互认"}],
                "birthDate": "1960-03-01",
            }
        ]
    )
    now = local_now(store.clock.now_us())
    reports: dict[str, str] = {}
    observations: dict[str, str] = {}
    for name, org, loinc, value, unit, days, marked in [
        ("county-3w", COUNTY, HBA1C, 7.2, "%", 21, True),
        ("county-70d", COUNTY, HBA1C, 7.9, "%", 70, True),
        ("town-own-3d", TOWN, HBA1C, 7.0, "%", 3, True),
        ("village-5d", VILLAGE, HBA1C, 6.9, "%", 5, True),
        ("town2-unmarked", TOWN2, HBA1C, 7.1, "%", 10, False),
        ("town2-k-10d", TOWN2, POTASSIUM, 4.1, "mmol/L", 10, True),
        ("county-k-2d", COUNTY, POTASSIUM, 3.9, "mmol/L", 2, True),
    ]:
        reports[name], observations[name] = lab_result(
            repo,
            name,
            org,
            loinc,
            value,
            unit,
            now - timedelta(days=days),
            marked=marked,
            patient=PATIENT,
        )
    grant(repo, PATIENT, f"Organization/{TOWN}", category_code="results")
    return County(store, repo, now, reports, observations)
