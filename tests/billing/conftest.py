"""A small county for billing: a county hospital (二级甲等, secondary) and a township health
centre (基层, primary) in one medical community, the 医保 bureau and a commercial insurer; a
resident insured by 城乡居民医保, an employee with 职工医保 (personal account) plus a commercial
plan, a person without insurance; a cashier and clinicians at both institutions and the
simulated payment provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from countyhealth.billing.provider import SimulatedProvider
from countyhealth.billing.records import EXT_PERSONAL_ACCOUNT, money
from countyhealth.fhir import systems
from countyhealth.records.query import find_all
from countyhealth.scheduling.calendar import fhir_datetime, local_now
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store

COMMUNITY, COUNTY, TOWN = "org-ich", "org-county", "org-town"
HSB, INSURER = "org-hsb", "org-ins-1"  # the plan of org-ins-1 in commercial_plans.json
RESIDENT, EMPLOYEE, UNINSURED, OTHER = "p-resident", "p-employee", "p-uninsured", "p-other"
AREA = "339001"
ACCOUNT_BALANCE = Decimal("300.00")
#: the resources a payment or refund writes, counted to show that a refused request wrote none
MONEY_TYPES = ("Claim", "ClaimResponse", "Invoice", "PaymentReconciliation", "Coverage")


def _org(oid: str, name: str, kind: str, level: str | None, parent: str | None) -> dict[str, Any]:
    types = [{"coding": [{"system": systems.FACILITY_TYPE, "code": kind}]}]
    if level:
        types.append({"coding": [{"system": systems.FACILITY_LEVEL, "code": level}]})
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "id": oid,
        "active": True,
        "name": name,
        "type": types,
    }
    if parent:
        org["partOf"] = {"reference": f"Organization/{parent}"}
    return org


def _coverage(cid: str, patient: str, kind: str, payor: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "id": cid,
        "status": "active",
        "type": {"coding": [{"system": systems.INSURANCE_TYPE, "code": kind}]},
        "beneficiary": {"reference": f"Patient/{patient}"},
        "relationship": {"coding": [{"system": systems.COVERAGE_RELATIONSHIP, "code": "self"}]},
        "period": {"start": "2020-01-01"},
        "payor": [{"reference": f"Organization/{payor}"}],
        **extra,
    }


@dataclass
class County:
    store: Store
    repo: Repository  # the platform
    provider: SimulatedProvider

    @property
    def today(self) -> date:
        return local_now(self.store.clock.now_us()).date()

    def staff(self, role: str, organization: str) -> Repository:
        return self.store.repository(
            caller_for(
                kind="user",
                id=f"{role}-{organization}",
                role_codes=(role,),
                organization=f"Organization/{organization}",
                actors=(f"PractitionerRole/pr-{role}-{organization}",),
            )
        )

    def cashier(self, organization: str = COUNTY) -> Repository:
        return self.staff("cashier", organization)

    def county_doctor(self) -> Repository:
        return self.staff("county-clinician", COUNTY)

    def town_doctor(self) -> Repository:
        return self.staff("township-clinician", TOWN)

    def resident(self, patient: str) -> Repository:
        return self.store.repository(
            caller_for(
                kind="user",
                id=f"resident-{patient}",
                role_codes=("resident",),
                patients=(patient,),
            )
        )

    def visit(
        self, patient: str, institution: str = COUNTY, cls: str = "AMB", status: str = "in-progress"
    ) -> str:
        """An Encounter opened by a clinician of ``institution``; its id."""
        clinician = self.county_doctor() if institution == COUNTY else self.town_doctor()
        now = local_now(self.store.clock.now_us())
        return clinician.create(
            {
                "resourceType": "Encounter",
                "status": status,
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": cls,
                },
                "subject": {"reference": f"Patient/{patient}"},
                "period": {"start": fhir_datetime(now - timedelta(minutes=30))},
                "serviceProvider": {"reference": f"Organization/{institution}"},
            }
        ).id

    def count(self, rtype: str) -> int:
        return sum(1 for _ in find_all(self.repo, rtype, []))

    def counts(self) -> dict[str, int]:
        """How many billing resources there are, and what the provider moved."""
        out = {t: self.count(t) for t in MONEY_TYPES}
        out["provider"] = len(self.provider.movements)
        return out


def seed_county(store: Store, repo: Repository) -> County:
    repo.put_many(
        [
            _org(COMMUNITY, "青山县第一医共体", "medical-community", None, None),
            _org(COUNTY, "青山县人民医院", "general", "2A", COMMUNITY),
            _org(TOWN, "城关镇卫生院", "health-centre", "primary", COMMUNITY),
            _org(HSB, "青山县医疗保障局", "insurance-bureau", None, None),
            _org(INSURER, "安康人寿保险股份有限公司青山县支公司", "insurer", None, None),
            *(
                {
                    "resourceType": "Patient",
                    "id": pid,
                    "name": [{"text": name}],
                    "gender": "female",
                    "birthDate": "1960-03-01",
                }
                for pid, name in [
                    (RESIDENT, "王居民"),
                    (EMPLOYEE, "李职工"),
                    (UNINSURED, "赵自费"),
                    (OTHER, "钱其他"),
                ]
            ),
            _coverage("cov-resident", RESIDENT, "390", HSB, subscriberId=f"{AREA}0000000001"),
            _coverage("cov-other", OTHER, "390", HSB, subscriberId=f"{AREA}0000000004"),
            _coverage(
                "cov-employee",
                EMPLOYEE,
                "310",
                HSB,
                subscriberId=f"{AREA}0000000002",
                order=1,
                extension=[
                    {
                        "url": EXT_PERSONAL_ACCOUNT,
                        "extension": [
                            {"url": "balance", "valueMoney": money(ACCOUNT_BALANCE)},
                            {"url": "asOf", "valueDateTime": "2020-01-01T00:00:00+08:00"},
                        ],
                    }
                ],
            ),
            _coverage("cov-employee-commercial", EMPLOYEE, "commercial", INSURER, order=2),
        ]
    )
    return County(store, repo, SimulatedProvider())


@pytest.fixture
def billing_county(store: Store, repo: Repository) -> Iterator[County]:
    yield seed_county(store, repo)
