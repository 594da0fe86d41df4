"""Who may refer to whom: members of the medical community (医共体), the departments that take
referrals, and the teams and centres that receive down-referrals.

The network is the platform's own directory: an institution belongs to a medical community
when an Organization of type ``medical-community`` stands in its ``partOf`` chain (a village
clinic under its township centre, the centre under the community). A department
(HealthcareService) takes referrals when it is active, is provided by the target institution,
its ``referralMethod`` (when stated) includes electronic referral, and its department code is
not on the rules' list of departments that do not take referrals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import OperationOutcomeError, error
from ..fhir import systems
from ..store import Repository
from .rules import ReferralRules

_MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class Member:
    """An institution of the medical community."""

    reference: str  # Organization/id
    name: str
    kind: str  # facility type code (village, health-centre, general, …)
    community: str  # Organization/id of its medical community


@dataclass(frozen=True, slots=True)
class Department:
    reference: str  # HealthcareService/id
    name: str
    code: str
    organization: str


def _codes(resource: dict[str, Any], system: str) -> list[str]:
    return [
        str(c.get("code"))
        for concept in resource.get("type") or []
        for c in concept.get("coding") or []
        if c.get("system") == system
    ]


def _read(repo: Repository, rtype: str, rid: str, field: str) -> dict[str, Any]:
    try:
        return repo.read(rtype, rid).resource
    except OperationOutcomeError as exc:
        if exc.status in (403, 404, 410):
            raise error("CH-9303", f"{rtype}/{rid} is not known to the platform", field) from exc
        raise


def member(repo: Repository, reference: str, rules: ReferralRules, field: str) -> Member:
    """The institution ``Organization/id`` as a member of a medical community (CH-9303 when
    it is none: outside the county's network, or a public-health or insurance body)."""
    rtype, _, rid = reference.partition("/")
    if rtype != "Organization" or not rid:
        raise error("CH-9302", f"{field} must be Organization/id, not {reference[:60]!r}", field)
    org = _read(repo, "Organization", rid, field)
    name = str(org.get("name") or rid)
    if org.get("active") is False:
        raise error("CH-9303", f"{name} is not active", field)
    kinds = _codes(org, systems.FACILITY_TYPE)
    current = org
    for _ in range(_MAX_DEPTH):
        parent = str((current.get("partOf") or {}).get("reference") or "")
        if not parent.startswith("Organization/"):
            break
        current = _read(repo, "Organization", parent.removeprefix("Organization/"), field)
        if rules.medical_community_type in _codes(current, systems.FACILITY_TYPE):
            return Member(reference, name, kinds[0] if kinds else "", parent)
    raise error(
        "CH-9303",
        f"{name} ({reference}) is not an institution of the county medical community",
        field,
    )


def department(
    repo: Repository, reference: str, target: Member, rules: ReferralRules
) -> Department:
    """The department ``HealthcareService/id`` of ``target`` that takes referrals (CH-9303
    otherwise)."""
    rtype, _, rid = reference.partition("/")
    if rtype != "HealthcareService" or not rid:
        raise error(
            "CH-9302", f"department must be HealthcareService/id, not {reference[:60]!r}", "service"
        )
    service = _read(repo, "HealthcareService", rid, "service")
    name = str(service.get("name") or rid)
    provider = str((service.get("providedBy") or {}).get("reference") or "")
    if provider != target.reference:
        raise error("CH-9303", f"{name} is not a department of {target.name}", "service")
    codes = _codes(service, systems.DEPARTMENT)
    methods = [
        str(c.get("code"))
        for concept in service.get("referralMethod") or []
        for c in concept.get("coding") or []
    ]
    if (
        service.get("active") is False
        or (methods and "elec" not in methods)
        or any(c in rules.departments_not_taking_referrals for c in codes)
    ):
        raise error("CH-9303", f"{name} of {target.name} does not take referrals", "service")
    return Department(reference, name, codes[0] if codes else "", target.reference)


def receiving_team(repo: Repository, reference: str) -> tuple[str, str, str]:
    """A family-doctor team (``CareTeam/id``, active, with a managing organisation):
    its reference, name and the managing Organization reference."""
    rid = reference.removeprefix("CareTeam/")
    team = _read(repo, "CareTeam", rid, "team")
    name = str(team.get("name") or rid)
    managers = [
        str(m.get("reference"))
        for m in team.get("managingOrganization") or []
        if str(m.get("reference") or "").startswith("Organization/")
    ]
    if team.get("status") not in (None, "active") or not managers:
        raise error(
            "CH-9304", f"{name} is not an active team of a primary-care institution", "team"
        )
    return f"CareTeam/{rid}", name, managers[0]
