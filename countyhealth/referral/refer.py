"""Referring a patient up (上转): village → township → county.

One unit of work files the patient's Consent for the receiving institution (for the rules'
period), the referral ServiceRequest with the clinical summary, the Task that asks the
receiving institution to accept it, and holds the earliest slot of the receiving department
in the referral share of the county pool. A failure in any step leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..consent.service import consent_resource
from ..errors import error
from ..fhir import systems
from ..scheduling.calendar import fhir_datetime, local_now
from ..scheduling.holds import hold_first, referral_offers
from ..store import Repository
from .directory import Member, department, member
from .record import ICD_10, REFERRAL_CATEGORY, REFERRAL_CODE, SNOMED, Referral
from .rules import ReferralRules, referral_rules
from .summary import SummaryLine, clinical_summary

MAX_NOTE = 2000
DIRECTION_NAMES = {"up": "上转", "down": "下转"}


@dataclass(frozen=True, slots=True)
class UpReferral:
    """What the referring clinician says: whom, where to, why and how urgently."""

    patient: str
    target: str  # Organization/id
    service: str  # HealthcareService/id
    reason_code: str  # ICD-10
    reason_display: str = ""
    urgent: bool = False
    note: str = ""
    condition: str | None = None  # Condition/id the referral is about
    encounter: str | None = None  # Encounter/id of the visit that referred
    rule: str | None = None  # id of the referral rule that suggested it
    origin: str | None = None  # Organization/id, for callers not bound to one (integrators)


def now_of(repo: Repository) -> datetime:
    return local_now(repo.store.clock.now_us())


def coded(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def clean_text(value: str | None, field: str, limit: int, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise error("CH-9302", f"{field} is required", field)
    if len(text) > limit:
        raise error("CH-9302", f"{field} has at most {limit} characters", field)
    return text


def check_reason(code: str) -> str:
    text = (code or "").strip().upper()
    if not text or len(text) > 10 or not text[0].isalpha() or not text[1:3].isdigit():
        raise error(
            "CH-9302", f"reason must be an ICD-10 code such as I10, not {code[:20]!r}", "reason"
        )
    return text


def origin_of(repo: Repository, asked: str | None, rules: ReferralRules) -> Member:
    """The referring institution: the caller's own, or the one an integrator names."""
    origin = repo.caller.organization or (asked or "").strip()
    if not origin:
        raise error("CH-9302", "the referring institution (origin) is required", "origin")
    return member(repo.elevated(), origin, rules, "origin")


def requester_of(repo: Repository) -> dict[str, Any] | None:
    actor = next(
        (a for a in repo.caller.actors if a.startswith(("PractitionerRole/", "Practitioner/"))),
        None,
    )
    return {"reference": actor} if actor else None


def referral_request(
    *,
    direction: str,
    patient: str,
    performers: list[dict[str, Any]],
    reason: tuple[str, str],
    urgent: bool,
    now: datetime,
    requester: dict[str, Any] | None,
    summary: list[SummaryLine],
    note: str,
    consent: str,
    condition: str | None = None,
    encounter: str | None = None,
    rule: str | None = None,
) -> dict[str, Any]:
    """The referral ServiceRequest (shape shared with the synthetic county)."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "extension": [
            {
                "url": systems.EXT_REFERRAL_DIRECTION,
                "valueCoding": {
                    "system": systems.REFERRAL_DIRECTION,
                    "code": direction,
                    "display": DIRECTION_NAMES[direction],
                },
            }
        ],
        "status": "active",
        "intent": "order",
        "category": [coded(SNOMED, *REFERRAL_CATEGORY)],
        "priority": "urgent" if urgent else "routine",
        "code": {**coded(SNOMED, *REFERRAL_CODE), "text": DIRECTION_NAMES[direction]},
        "subject": {"reference": f"Patient/{patient}"},
        "authoredOn": fhir_datetime(now),
        "performer": performers,
        "reasonCode": [coded(ICD_10, reason[0], reason[1] or reason[0])],
        "supportingInfo": [{"reference": f"Consent/{consent}", "display": "患者授权 consent"}]
        + [{"reference": line.reference, "display": line.text[:200]} for line in summary],
    }
    if encounter:
        body["encounter"] = {"reference": f"Encounter/{encounter.removeprefix('Encounter/')}"}
    if requester:
        body["requester"] = requester
    if condition:
        body["reasonReference"] = [
            {"reference": f"Condition/{condition.removeprefix('Condition/')}"}
        ]
    notes = [note] if note else []
    if rule:
        notes.append(f"rule: {rule}")
    if notes:
        body["note"] = [{"text": n} for n in notes]
    return body


def referral_task(
    *,
    request_id: str,
    patient: str,
    owner: dict[str, Any],
    urgent: bool,
    now: datetime,
    requester: dict[str, Any] | None,
    escalate: bool,
) -> dict[str, Any]:
    """The Task asking the receiving side to fulfil the referral (status ``requested``)."""
    body: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "businessStatus": {"text": "待接收"},
        "intent": "order",
        "priority": "urgent" if urgent else "routine",
        "code": coded(systems.TASK_KIND, "referral", "转诊"),
        "focus": {"reference": f"ServiceRequest/{request_id}"},
        "for": {"reference": f"Patient/{patient}"},
        "authoredOn": fhir_datetime(now),
        "lastModified": fhir_datetime(now),
        "owner": owner,
    }
    if requester:
        body["requester"] = requester
    if escalate:
        body["extension"] = [
            {"url": systems.EXT_REFERRAL_ESCALATED, "valueDateTime": fhir_datetime(now)}
        ]
    return body


def grant_for_referral(
    repo: Repository, patient: str, grantees: list[str], now: datetime, rules: ReferralRules
) -> str:
    """File the patient's Consent that lets the receiving side read the record for the
    rules' period (the clinician records it; the patient is the performer)."""
    body = consent_resource(patient, grantees[0], days=rules.consent_days, now=now)
    actor = body["provision"]["actor"][0]
    body["provision"]["actor"] = [
        actor,
        *({**actor, "reference": {"reference": g}} for g in grantees[1:]),
    ]
    body["category"][1] = {"text": "转诊授权"}
    return repo.create(body).id


def opening(
    repo: Repository, patient: str, reason_code: str, reason_display: str, *types: str
) -> tuple[datetime, ReferralRules, str, tuple[str, str]]:
    """What every referral checks first: the caller may create the ServiceRequest, the Task
    (and ``types``); the patient and the ICD-10 reason are given. The instant, the rules in
    force, the patient id and the (code, display) reason."""
    for rtype in ("ServiceRequest", "Task", *types):
        repo.require(rtype, "create")
    now = now_of(repo)
    pid = (patient or "").removeprefix("Patient/").strip()
    if not pid:
        raise error("CH-9302", "patient is required", "patient")
    reason = check_reason(reason_code)
    display = clean_text(reason_display, "reasonDisplay", 200)
    return now, referral_rules(now.date()), pid, (reason, display)


def refer_up(repo: Repository, asked: UpReferral) -> Referral:
    """Refer ``asked.patient`` to ``asked.service`` of ``asked.target``.

    Raises:
        OperationOutcomeError: CH-9302 (missing or malformed input), CH-9303 (target outside
            the medical community, the referring institution itself, or a department that
            does not take referrals), the access errors of the Repository.
    """
    now, rules, patient, (reason, display) = opening(
        repo, asked.patient, asked.reason_code, asked.reason_display
    )
    note = clean_text(asked.note, "note", MAX_NOTE)
    origin = origin_of(repo, asked.origin, rules)
    platform = repo.elevated()
    target = member(platform, (asked.target or "").strip(), rules, "target")
    if target.reference == origin.reference:
        raise error("CH-9303", f"{origin.name} cannot refer a patient to itself", "target")
    if target.kind not in rules.receiving_up_facility_types:
        raise error("CH-9303", f"{target.name} does not receive up-referrals", "target")
    dept = department(platform, (asked.service or "").strip(), target, rules)
    repo.read("Patient", patient)  # the referring clinician must see the patient
    summary = clinical_summary(repo, patient, now, rules)
    requester = requester_of(repo)
    offers = referral_offers(
        repo,
        target.reference,
        dept.code,
        dept.reference,
        rules.hold_slot_within_days,
        urgent=asked.urgent,
    )
    with repo.transaction():
        repo.lock("Patient", patient)
        consent = grant_for_referral(repo, patient, [target.reference], now, rules)
        request = repo.create(
            referral_request(
                direction="up",
                patient=patient,
                performers=[
                    {"reference": target.reference, "display": target.name},
                    {"reference": dept.reference, "display": dept.name},
                ],
                reason=(reason, display),
                urgent=asked.urgent,
                now=now,
                requester=requester,
                summary=summary,
                note=note,
                consent=consent,
                condition=asked.condition,
                encounter=asked.encounter,
                rule=asked.rule,
            )
        )
        priority = "urgent" if asked.urgent else "routine"
        task = repo.create(
            referral_task(
                request_id=request.id,
                patient=patient,
                owner={"reference": target.reference, "display": target.name},
                urgent=asked.urgent,
                now=now,
                requester=requester,
                escalate=rules.escalate_after(priority) == 0,
            )
        )
        held = hold_first(repo, offers, patient, request.id)
    return Referral(request, task, held.resource if held else None)
