"""Granting and revoking access to a patient's record: FHIR R4 Consent resources.

A grant is a Consent (https://hl7.org/fhir/R4/consent.html) with scope ``patient-privacy``,
category LOINC 59284-0 (patient consent), policy rule ``OPTIN``, the patient (or a guardian,
for a minor) as performer, and one ``permit`` provision naming the grantee (an Organization,
Practitioner or PractitionerRole), the period and optionally the resource types. Revoking
sets the status to ``inactive``: the Repository drops the grant in the same transaction, so
the next request of the grantee no longer sees the record. Everything goes through the
Repository, so residents may only grant for themselves and the minors in their care.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import error
from ..fhir.consent_grants import GRANTEE_TYPES
from ..fhir.search_request import parse_search
from ..fhir.systems import CONSENT_ACTION, CONSENT_SCOPE, RESOURCE_TYPES, V3_ACT_CODE
from ..store import Repository, Stored
from .categories import category

MAX_DAYS = 3660


def consent_resource(
    patient_id: str,
    grantee: str,
    *,
    category_code: str = "all",
    days: int | None = 365,
    performer: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Consent that grants ``grantee`` the ``category_code`` part of the record."""
    rtype, _, rid = grantee.partition("/")
    if rtype not in GRANTEE_TYPES or not rid:
        raise error(
            "CH-4012",
            f"grantee must be one of {', '.join(GRANTEE_TYPES)} as Type/id, not {grantee[:60]!r}",
            "grantee",
        )
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise error("CH-4012", f"days must be between 1 and {MAX_DAYS}", "days")
    start = (now or datetime.now(UTC)).replace(microsecond=0)
    period = {"start": start.isoformat().replace("+00:00", "Z")}
    if days is not None:
        period["end"] = (start + timedelta(days=days)).isoformat().replace("+00:00", "Z")
    provision: dict[str, Any] = {
        "type": "permit",
        "period": period,
        "actor": [
            {
                "role": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                            "code": "IRCP",
                            "display": "information recipient",
                        }
                    ]
                },
                "reference": {"reference": grantee},
            }
        ],
        "action": [{"coding": [{"system": CONSENT_ACTION, "code": "access"}]}],
    }
    chosen = category(category_code)
    if chosen.types:
        provision["class"] = [{"system": RESOURCE_TYPES, "code": t} for t in chosen.types]
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0"}]},
            {"text": chosen.zh},
        ],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": period["start"],
        "performer": [{"reference": performer or f"Patient/{patient_id}"}],
        "policyRule": {"coding": [{"system": V3_ACT_CODE, "code": "OPTIN"}]},
        "provision": provision,
    }


def grant(
    repo: Repository,
    patient_id: str,
    grantee: str,
    *,
    category_code: str = "all",
    days: int | None = 365,
    performer: str | None = None,
) -> Stored:
    """Store a Consent that grants ``grantee`` access to the record of ``patient_id``."""
    repo.read("Patient", patient_id)
    body = consent_resource(
        patient_id, grantee, category_code=category_code, days=days, performer=performer
    )
    return repo.create(body)


def revoke(repo: Repository, consent_id: str) -> Stored:
    """Withdraw a Consent at once (status ``inactive``)."""
    current = repo.read("Consent", consent_id)
    body = current.resource
    if body.get("status") != "active":
        raise error("CH-4012", f"Consent/{consent_id} is not active", "status")
    body = {**body, "status": "inactive"}
    body.pop("meta", None)
    stored, _ = repo.update("Consent", consent_id, body, if_match=current.version)
    return stored


def consents_of(repo: Repository, patient_id: str, count: int = 100) -> list[Stored]:
    """The patient's Consents, newest first."""
    req = parse_search(
        ["Consent"],
        [("patient", f"Patient/{patient_id}"), ("_sort", "-_lastUpdated")],
        max_count=count,
    )
    req.count = count
    return repo.search(req).entries
