"""A tiny county for the slot pool: one hospital with one all-day department (so that slots
exist whenever the tests run), a township centre, residents and staff callers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from countyhealth.fhir import systems
from countyhealth.fhir.identifiers.gb11643 import build
from countyhealth.scheduling import generate_pool
from countyhealth.scheduling.calendar import local_now
from countyhealth.security.roles import caller_for
from countyhealth.store import Caller, Repository, Store

HOSPITAL = "Organization/org-hosp"
SERVICE = "hs-hosp-0304"
ROOM = f"Location/room-{SERVICE}"


@dataclass
class Pool:
    store: Store
    repo: Repository  # the platform
    today: date
    patients: list[str]

    def as_resident(self, patient: str) -> Repository:
        return self.store.repository(resident_caller(patient))

    def as_staff(self, role: str, organization: str = HOSPITAL) -> Repository:
        return self.store.repository(staff_caller(role, organization))

    def as_bureau(self) -> Repository:
        return self.store.repository(
            caller_for(
                kind="user",
                id="bureau-1",
                role_codes=("bureau-admin",),
                organization="Organization/org-bureau",
            )
        )

    def slot(self, day: date, number: int) -> str:
        return f"sl-{SERVICE}-{day:%Y%m%d}-{number:03d}"


class SteppedClock:
    """Stands in for the store clock's ``now_us`` to play a day at chosen county instants;
    strictly increasing like the real one, so versions stay in order."""

    def __init__(self) -> None:
        self._us = 0

    def at(self, moment: datetime) -> None:
        self._us = max(self._us + 1, int(moment.timestamp() * 1_000_000))

    def now_us(self) -> int:
        self._us += 1
        return self._us


def resident_caller(patient: str) -> Caller:
    return caller_for(
        kind="user", id=f"resident-{patient}", role_codes=("resident",), patients=(patient,)
    )


def staff_caller(role: str, organization: str) -> Caller:
    return caller_for(kind="user", id=f"{role}-1", role_codes=(role,), organization=organization)


def _seed(repo: Repository, patients: int) -> list[str]:
    repo.put_many(
        [
            {
                "resourceType": "Organization",
                "id": "org-hosp",
                "name": "县人民医院",
                "type": [{"coding": [{"system": systems.FACILITY_TYPE, "code": "general"}]}],
            },
            {
                "resourceType": "Location",
                "id": "loc-hosp",
                "name": "县人民医院",
                "managingOrganization": {"reference": HOSPITAL},
            },
            {
                "resourceType": "HealthcareService",
                "id": SERVICE,
                "active": True,
                "providedBy": {"reference": HOSPITAL},
                "type": [{"coding": [{"system": systems.DEPARTMENT, "code": "03.04"}]}],
                "location": [{"reference": "Location/loc-hosp"}],
                "name": "县人民医院 心血管内科",
                "availableTime": [
                    {
                        "daysOfWeek": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                        "allDay": True,
                    }
                ],
            },
        ]
    )
    ids = [f"p{i}" for i in range(patients)]
    repo.put_many(
        [
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"text": f"居民{i}"}],
                "birthDate": "1990-01-01" if i else "1930-05-01",
                "identifier": [
                    {"system": systems.ID_CARD, "value": build("330102", date(1990, 1, 1), i)}
                ],
            }
            for i, pid in enumerate(ids)
        ]
    )
    return ids


@pytest.fixture
def pool(store: Store, repo: Repository) -> Pool:
    ids = _seed(repo, 6)
    today = local_now(store.clock.now_us()).date()
    generate_pool(repo, today - timedelta(days=1), 4)
    return Pool(store, repo, today, ids)
