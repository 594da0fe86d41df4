"""What a referring clinician chooses from: the departments of the medical community that take
referrals (up), and the family-doctor teams and health centres that take a patient back
(down). Directory data, read for the platform (it names no patient)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..fhir import systems
from ..records.query import find, find_all
from ..store import Repository
from .record import reference
from .rules import ReferralRules

_HOSPITAL_FIRST = {"general": 0, "tcm": 1, "children": 1, "maternal-child": 1, "health-centre": 2}


@dataclass(frozen=True, slots=True)
class Destination:
    organization: str
    organization_name: str
    kind: str
    community: str
    service: str
    service_name: str
    department: str

    @property
    def value(self) -> str:
        """The form value: ``Organization/id|HealthcareService/id``."""
        return f"{self.organization}|{self.service}"


@dataclass(frozen=True, slots=True)
class Receiver:
    reference: str  # CareTeam/id or Organization/id
    name: str
    kind: str  # team | centre


def _kind(org: dict[str, Any]) -> str:
    return next(
        (
            str(c.get("code"))
            for concept in org.get("type") or []
            for c in concept.get("coding") or []
            if c.get("system") == systems.FACILITY_TYPE
        ),
        "",
    )


def members(repo: Repository, rules: ReferralRules) -> dict[str, tuple[dict[str, Any], str]]:
    """Every institution of a medical community: ``Organization/id`` → (body, community)."""
    orgs = {f"Organization/{o['id']}": o for o in find_all(repo.elevated(), "Organization", [])}

    def community(ref: str, depth: int = 0) -> str:
        parent = reference(orgs.get(ref, {}).get("partOf"))
        if not parent or depth > 6 or parent not in orgs:
            return ""
        if _kind(orgs[parent]) == rules.medical_community_type:
            return parent
        return community(parent, depth + 1)

    out: dict[str, tuple[dict[str, Any], str]] = {}
    for ref, org in orgs.items():
        found = community(ref)
        if found and org.get("active") is not False:
            out[ref] = (org, found)
    return out


def destinations(
    repo: Repository, rules: ReferralRules, exclude: str | None = None
) -> list[Destination]:
    """Departments that take referrals, hospitals first, then by institution and department."""
    known = members(repo, rules)
    out: list[Destination] = []
    for service in find_all(repo.elevated(), "HealthcareService", [("active", "true")]):
        org_ref = reference(service.get("providedBy"))
        if org_ref == exclude or org_ref not in known:
            continue
        org, community = known[org_ref]
        kind = _kind(org)
        if kind not in rules.receiving_up_facility_types:
            continue
        code = next(
            (
                str(c.get("code"))
                for concept in service.get("type") or []
                for c in concept.get("coding") or []
                if c.get("system") == systems.DEPARTMENT
            ),
            "",
        )
        if code in rules.departments_not_taking_referrals:
            continue
        out.append(
            Destination(
                org_ref,
                str(org.get("name") or org_ref),
                kind,
                community,
                f"HealthcareService/{service['id']}",
                str(service.get("name") or service["id"]),
                code,
            )
        )
    out.sort(key=lambda d: (_HOSPITAL_FIRST.get(d.kind, 1), d.organization, d.department))
    return out


def receivers(repo: Repository, patient: dict[str, Any], rules: ReferralRules) -> list[Receiver]:
    """The patient's family-doctor team(s) first, then the health centres."""
    out: list[Receiver] = []
    doctors = [reference(g) for g in patient.get("generalPractitioner") or []]
    doctors = [d for d in doctors if d.startswith(("PractitionerRole/", "Practitioner/"))]
    if doctors:
        for team in find(
            repo.elevated(), "CareTeam", [("participant", ",".join(doctors))], count=5
        ).resources:
            out.append(Receiver(f"CareTeam/{team['id']}", str(team.get("name") or ""), "team"))
    for ref, (org, _) in sorted(members(repo, rules).items()):
        if _kind(org) in rules.receiving_down_facility_types and _kind(org) == "health-centre":
            out.append(Receiver(ref, str(org.get("name") or ref), "centre"))
    return out
