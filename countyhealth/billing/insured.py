"""Who pays besides the patient, read from the person's Coverage resources, and the level of
the institution that holds the visit.

Basic insurance is the active Coverage whose ``type`` (system ``insurance-type``) is ``310``
(职工基本医疗保险, scheme ``employee``) or ``390`` (城乡居民基本医疗保险, ``resident``), the one
with the lowest ``order`` when there are several; a commercial Coverage (``commercial``) adds its
plan. A Coverage counts on the day of the settlement when it is active and its period covers
the day. Where the rest lives:

- the insurance area (统筹区) is the ``insurance-area`` extension (valueCode) of the basic
  Coverage, else the six-digit administrative-division prefix of its insurance person number
  (``subscriberId``, or the identifier of system ``medical-insurance-person``);
- medical-assistance eligibility (医疗救助) is the ``medical-assistance`` extension
  (valueCoding, the category code of the policy file, e.g. ``dibao`` 低保) of the basic
  Coverage, set by the civil-affairs feed and removed when the person leaves the category;
- the personal account (个人账户, employees) is the ``personal-account`` extension of the basic
  Coverage: ``balance`` (valueMoney) as the 医保 platform last reported it, at ``asOf``
  (valueDateTime). The balance available to a settlement is that balance less what the
  account paid in the settlements made since ``asOf`` that still stand (a refund gives it back
  by reversing the settlement), so the platform never writes the bureau's figure itself;
- the commercial plan is ``Coverage.class`` of type ``plan`` of the commercial Coverage, else
  the plan in force of the insurer named as its ``payor`` (:mod:`.plans`).

The facility level (``primary``, ``secondary``, ``tertiary``) comes from ``Organization.type``:
its ``facility-level`` coding (3A/3B → tertiary, 2A/2B → secondary, 1/primary → primary), else
its ``facility-type`` coding (health-centre, village-clinic → primary), else the
organisation it is ``partOf``. A visit is settled at the level of the institution that holds it
(the 医共体 settles a visit as one; lines performed by another member keep their performer on
the bill).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ..errors import error
from ..fhir import systems
from ..records.query import find
from ..store import Repository
from .engine_types import Insured
from .plans import commercial_plans
from .policy import SCHEME_OF_INSURANCE_TYPE
from .records import (
    EXT_INSURANCE_AREA,
    EXT_MEDICAL_ASSISTANCE,
    EXT_PERSONAL_ACCOUNT,
    code_in,
    extension,
    identifier_value,
    money_of,
    reference_of,
)

LEVEL_OF = {
    "3A": "tertiary",
    "3B": "tertiary",
    "2A": "secondary",
    "2B": "secondary",
    "1": "primary",
    "primary": "primary",
}
PRIMARY_TYPES = frozenset({"health-centre", "village-clinic", "family-doctor-station"})
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"


@dataclass(frozen=True, slots=True)
class PersonalAccount:
    balance: Decimal
    as_of: str  # FHIR dateTime of the reported balance


@dataclass(frozen=True, slots=True)
class Cover:
    """What the person's Coverages say on one day."""

    patient: str
    scheme: str | None
    area: str
    assistance: str | None
    account: PersonalAccount | None
    commercial_plan: str | None
    basic: dict[str, Any] | None
    commercial: dict[str, Any] | None

    @property
    def coverages(self) -> list[str]:
        """``Coverage/id`` of the basic then the commercial cover."""
        return [f"Coverage/{c['id']}" for c in (self.basic, self.commercial) if c is not None]

    @property
    def insurer(self) -> str | None:
        """The payor Organization of the first cover."""
        for cover in (self.basic, self.commercial):
            for payor in (cover or {}).get("payor") or []:
                if reference_of(payor).startswith("Organization/"):
                    return reference_of(payor)
        return None

    def insured(self, account_spent: Decimal) -> Insured:
        """The engine's view, with the account balance less ``account_spent`` since it was
        reported."""
        balance = Decimal("0.00")
        if self.account is not None:
            balance = max(self.account.balance - account_spent, Decimal("0.00"))
        return Insured(
            scheme=self.scheme,
            area=self.area,
            assistance=self.assistance,
            account_balance=balance,
            commercial_plan=self.commercial_plan,
        )


def _in_force(coverage: dict[str, Any], day: date) -> bool:
    if coverage.get("status") != "active":
        return False
    period = coverage.get("period") or {}
    start, end = str(period.get("start") or "")[:10], str(period.get("end") or "")[:10]
    return (not start or start <= day.isoformat()) and (not end or day.isoformat() <= end)


def cover_of(platform: Repository, patient: str, day: date) -> Cover:
    """The person's cover on ``day`` (CH-9408 when the basic Coverage names no area)."""
    found = find(platform, "Coverage", [("beneficiary", f"Patient/{patient}")], count=100)
    live = sorted(
        (c for c in found.resources if _in_force(c, day)),
        key=lambda c: (int(c.get("order") or 99), str(c.get("id"))),
    )
    basic = next(
        (
            c
            for c in live
            if code_in(c.get("type"), systems.INSURANCE_TYPE) in SCHEME_OF_INSURANCE_TYPE
        ),
        None,
    )
    commercial = next(
        (c for c in live if code_in(c.get("type"), systems.INSURANCE_TYPE) == "commercial"), None
    )
    scheme = None
    area = ""
    assistance = None
    account = None
    if basic is not None:
        scheme = SCHEME_OF_INSURANCE_TYPE[str(code_in(basic.get("type"), systems.INSURANCE_TYPE))]
        area = _area(basic)
        assist = extension(basic, EXT_MEDICAL_ASSISTANCE)
        if assist:
            assistance = str((assist.get("valueCoding") or {}).get("code") or "") or None
        account = _personal_account(basic)
    plan = _plan(commercial, day) if commercial is not None else None
    return Cover(
        patient, scheme, area, assistance, account, plan, basic, commercial if plan else None
    )


def _area(coverage: dict[str, Any]) -> str:
    ext = extension(coverage, EXT_INSURANCE_AREA)
    if ext and ext.get("valueCode"):
        return str(ext["valueCode"])
    number = str(
        coverage.get("subscriberId")
        or identifier_value(coverage, systems.INSURANCE_PERSON_NUMBER)
        or ""
    )
    if len(number) >= 6 and number[:6].isdigit():
        return number[:6]
    raise error(
        "CH-9408",
        f"Coverage/{coverage.get('id')} names no insurance area (统筹区)",
        "Coverage",
    )


def _personal_account(coverage: dict[str, Any]) -> PersonalAccount | None:
    ext = extension(coverage, EXT_PERSONAL_ACCOUNT)
    if not ext:
        return None
    parts = {e.get("url"): e for e in ext.get("extension") or []}
    balance = money_of((parts.get("balance") or {}).get("valueMoney"))
    as_of = str((parts.get("asOf") or {}).get("valueDateTime") or "")
    return PersonalAccount(balance, as_of)


def _plan(coverage: dict[str, Any], day: date) -> str | None:
    for cls in coverage.get("class") or []:
        if code_in(cls.get("type"), COVERAGE_CLASS) == "plan" and cls.get("value"):
            return str(cls["value"])
    for payor in coverage.get("payor") or []:
        insurer = reference_of(payor).removeprefix("Organization/")
        plan = commercial_plans().for_insurer(insurer, day)
        if plan is not None:
            return plan.id
    return None


def facility_level(platform: Repository, organization: str) -> str:
    """The level of ``Organization/id`` (see the module docstring; CH-9408 when none)."""
    seen: set[str] = set()
    current = organization
    while current.startswith("Organization/") and current not in seen and len(seen) < 5:
        seen.add(current)
        body = platform.read("Organization", current.removeprefix("Organization/")).resource
        level = code_in(body.get("type"), systems.FACILITY_LEVEL)
        if level in LEVEL_OF:
            return LEVEL_OF[level]
        if code_in(body.get("type"), systems.FACILITY_TYPE) in PRIMARY_TYPES:
            return "primary"
        current = reference_of(body.get("partOf"))
    raise error(
        "CH-9408",
        f"{organization} has no facility level (Organization.type facility-level)",
        "Organization",
    )
