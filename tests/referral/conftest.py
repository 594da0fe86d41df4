"""A small medical community for referrals: a county hospital with a cardiology department
(open all day, so slots exist whenever the tests run), a laboratory that takes no referrals,
a township health centre, a village clinic under it with a family-doctor team, a CDC and a
private hospital outside the community; one hypertensive patient with readings at the
village clinic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from countyhealth.fhir import systems
from countyhealth.scheduling import generate_pool
from countyhealth.scheduling.calendar import fhir_datetime, local_now
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store

COMMUNITY, COUNTY, TOWN, VILLAGE = "org-ich", "org-county", "org-town", "org-village"
CDC, PRIVATE = "org-cdc", "org-private"
CARDIO, LAB = "hs-county-0304", "hs-county-30"
TEAM = "team-village"
PATIENT = "rp1"
OTHER = "rp2"  # a patient of the same clinic who is not referred
_ORGS = [
    (COMMUNITY, "青山县第一医共体", "medical-community", None),
    (COUNTY, "县人民医院", "general", COMMUNITY),
    (TOWN, "城关镇卫生院", "health-centre", COMMUNITY),
    (VILLAGE, "李村卫生室", "village-clinic", TOWN),
    (CDC, "县疾控中心", "cdc", None),
    (PRIVATE, "民营医院", "general", None),
]
ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass
class Network:
    store: Store
    repo: Repository  # the platform
    today: date

    def clinician(self, organization: str, role: str) -> Repository:
        return self.store.repository(
            caller_for(
                kind="user",
                id=f"{role}-{organization}",
                role_codes=(role,),
                organization=f"Organization/{organization}",
                actors=(f"PractitionerRole/pr-{organization}",),
            )
        )

    def village_doctor(self) -> Repository:
        return self.clinician(VILLAGE, "village-doctor")

    def county_doctor(self) -> Repository:
        return self.clinician(COUNTY, "county-clinician")

    def town_doctor(self) -> Repository:
        return self.clinician(TOWN, "township-clinician")


def _service(sid: str, code: str, name: str) -> dict[str, object]:
    return {
        "resourceType": "HealthcareService",
        "id": sid,
        "active": True,
        "providedBy": {"reference": f"Organization/{COUNTY}"},
        "type": [{"coding": [{"system": systems.DEPARTMENT, "code": code}]}],
        "location": [{"reference": "Location/loc-county"}],
        "name": name,
        "availableTime": [{"daysOfWeek": ALL_WEEK, "allDay": True}],
    }


def seed_network(store: Store, repo: Repository) -> Network:
    orgs: list[dict[str, object]] = []
    for oid, name, kind, parent in _ORGS:
        org: dict[str, object] = {
            "resourceType": "Organization",
            "id": oid,
            "active": True,
            "name": name,
            "type": [{"coding": [{"system": systems.FACILITY_TYPE, "code": kind}]}],
        }
        if parent:
            org["partOf"] = {"reference": f"Organization/{parent}"}
        orgs.append(org)
    now = local_now(store.clock.now_us())
    repo.put_many(
        [
            *orgs,
            {
                "resourceType": "Location",
                "id": "loc-county",
                "name": "县人民医院",
                "managingOrganization": {"reference": f"Organization/{COUNTY}"},
            },
            _service(CARDIO, "03.04", "县人民医院 心血管内科"),
            _service(LAB, "30", "县人民医院 医学检验科"),
            {
                "resourceType": "CareTeam",
                "id": TEAM,
                "status": "active",
                "name": "李村家庭医生团队",
                "participant": [{"member": {"reference": f"PractitionerRole/pr-{VILLAGE}"}}],
                "managingOrganization": [{"reference": f"Organization/{TOWN}"}],
            },
            {
                "resourceType": "Patient",
                "id": OTHER,
                "name": [{"text": "李未转"}],
                "gender": "female",
                "birthDate": "1960-01-01",
            },
            {
                "resourceType": "Patient",
                "id": PATIENT,
                "name": [{"text": "王转诊"}],
                "gender": "male",
                "birthDate": "1958-04-02",
            },
        ]
    )
    village = Network(store, repo, now.date()).village_doctor()
    for who, days, sbp, dbp in [
        (PATIENT, 20, 150, 95),
        (PATIENT, 1, 184, 112),
        (OTHER, 3, 130, 80),
    ]:
        village.create(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    {"coding": [{"system": systems.OBSERVATION_CATEGORY, "code": "vital-signs"}]}
                ],
                "code": {
                    "coding": [{"system": "http://loinc.org", "code": "85354-9"}],
                    "text": "血压",
                },
                "subject": {"reference": f"Patient/{who}"},
                "effectiveDateTime": fhir_datetime(now - timedelta(days=days)),
                "component": [
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                        "valueQuantity": {"value": sbp, "unit": "mmHg"},
                    },
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                        "valueQuantity": {"value": dbp, "unit": "mmHg"},
                    },
                ],
            }
        )
    generate_pool(repo, now.date() - timedelta(days=1), 4)
    return Network(store, repo, now.date())


@pytest.fixture
def network(store: Store, repo: Repository) -> Network:
    return seed_network(store, repo)
