"""Referring a patient down (下转) at discharge, and the follow-up that closes the loop.

The county clinician writes a discharge summary and a CarePlan (rehabilitation, follow-up,
medication; https://hl7.org/fhir/R4/careplan.html) for the patient's family-doctor team
(CareTeam) or township health centre. One unit of work files the patient's Consent for the
receiving side, the down-referral ServiceRequest and Task, the CarePlan and a follow-up Task
due within the rules' days; an up-referral it answers is completed at the same time. The loop
closes when the receiving side records the first follow-up (:func:`record_follow_up`): an
Encounter based on the down-referral, the follow-up Task completed and the referral completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..errors import error
from ..fhir import systems
from ..records.query import find
from ..scheduling.calendar import fhir_datetime
from ..store import Repository, Stored
from .decisions import finish, member_of_team, move_task, set_request_status
from .directory import member, receiving_team
from .record import OPEN_STATES, Referral, load, load_by_task, reference
from .refer import (
    clean_text,
    grant_for_referral,
    now_of,
    opening,
    origin_of,
    referral_request,
    referral_task,
    requester_of,
)
from .summary import clinical_summary

ACTIVITY_KINDS = ("rehabilitation", "follow-up", "medication")
ACTIVITY_NAMES = {"rehabilitation": "康复", "follow-up": "随访", "medication": "用药"}
_LOINC = "http://loinc.org"
#: the moves a down-referral makes when its first follow-up is recorded
_PATH_TO_COMPLETED = {
    "requested": ("accepted", "in-progress", "completed"),
    "received": ("accepted", "in-progress", "completed"),
    "accepted": ("in-progress", "completed"),
    "in-progress": ("completed",),
}


@dataclass(frozen=True, slots=True)
class DownReferral:
    patient: str
    reason_code: str
    summary: str  # the discharge summary (出院小结)
    reason_display: str = ""
    team: str | None = None  # CareTeam/id
    organization: str | None = None  # Organization/id (a township health centre)
    activities: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (kind, text)
    from_referral: str | None = None  # ServiceRequest/id of the up-referral it answers
    origin: str | None = None


def _care_plan(
    patient: str,
    request: str,
    team: str | None,
    author: dict[str, Any] | None,
    activities: tuple[tuple[str, str], ...],
    now_text: str,
    due_text: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "category": [{"text": "下转康复随访计划"}],
        "title": "下转计划 down-referral plan",
        "subject": {"reference": f"Patient/{patient}"},
        "period": {"start": now_text, "end": due_text},
        "created": now_text,
        "supportingInfo": [{"reference": f"ServiceRequest/{request}"}],
        "activity": [
            {
                "detail": {
                    "kind": "ServiceRequest" if kind != "medication" else "MedicationRequest",
                    "code": {"text": ACTIVITY_NAMES[kind]},
                    "status": "not-started",
                    "description": text,
                }
            }
            for kind, text in activities
        ],
    }
    if team:
        body["careTeam"] = [{"reference": team}]
    if author:
        body["author"] = author
    return body


def _follow_up_task(
    patient: str,
    request: str,
    plan: str,
    owner: dict[str, Any],
    now_text: str,
    due_text: str,
) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "plan",
        "priority": "routine",
        "code": {
            "coding": [{"system": systems.TASK_KIND, "code": "follow-up", "display": "下转随访"}]
        },
        "description": "下转后首次随访",
        "basedOn": [{"reference": f"ServiceRequest/{request}"}],
        "focus": {"reference": f"CarePlan/{plan}"},
        "for": {"reference": f"Patient/{patient}"},
        "authoredOn": now_text,
        "lastModified": now_text,
        "owner": owner,
        "restriction": {"period": {"end": due_text}},
    }


def _activities(asked: DownReferral) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for kind, text in asked.activities:
        if kind not in ACTIVITY_KINDS:
            raise error(
                "CH-9302",
                f"plan activity kind must be one of {', '.join(ACTIVITY_KINDS)}",
                "activity",
            )
        cleaned = clean_text(text, "activity", 500)
        if cleaned:
            out.append((kind, cleaned))
    if not any(kind == "follow-up" for kind, _ in out):
        out.append(("follow-up", "下转后两周内首次随访"))
    return tuple(out)


def refer_down(repo: Repository, asked: DownReferral) -> Referral:
    """Refer the patient back to primary care with a summary and a care plan.

    Raises:
        OperationOutcomeError: CH-9304 without a receiving team or health centre, CH-9303 for
            a receiver outside the medical community or not a primary-care institution,
            CH-9302 for missing or malformed input, CH-9301 when the up-referral it answers
            was never accepted.
    """
    now, rules, patient, (reason, display) = opening(
        repo, asked.patient, asked.reason_code, asked.reason_display, "CarePlan"
    )
    summary_text = clean_text(asked.summary, "summary", 4000, required=True)
    activities = _activities(asked)
    team_ref = (asked.team or "").strip()
    org_ref = (asked.organization or "").strip()
    if not team_ref and not org_ref:
        raise error(
            "CH-9304",
            "a down-referral names the receiving family-doctor team or township health centre",
            "team",
        )
    origin = origin_of(repo, asked.origin, rules)
    platform = repo.elevated()
    grantees: list[str] = []
    team_name = ""
    if team_ref:
        team_ref, team_name, org_ref = receiving_team(platform, team_ref)
        team_body = platform.read("CareTeam", team_ref.removeprefix("CareTeam/")).resource
        grantees.extend(
            reference(p.get("member"))
            for p in team_body.get("participant") or []
            if reference(p.get("member")).startswith(("PractitionerRole/", "Practitioner/"))
        )
    target = member(platform, org_ref, rules, "organization")
    if target.kind not in rules.receiving_down_facility_types:
        raise error(
            "CH-9303",
            f"{target.name} is not a primary-care institution that takes down-referrals",
            "organization",
        )
    if target.reference == origin.reference:
        raise error("CH-9303", f"{origin.name} cannot refer a patient to itself", "organization")
    answered: Referral | None = None
    if asked.from_referral:
        answered = load(repo, asked.from_referral.removeprefix("ServiceRequest/"))
        if answered.direction != "up" or answered.patient != patient:
            raise error(
                "CH-9302",
                "from_referral must be an up-referral of the same patient",
                "from_referral",
            )
    repo.read("Patient", patient)
    lines = clinical_summary(repo, patient, now, rules)
    requester = requester_of(repo)
    now_text = fhir_datetime(now)
    due_text = fhir_datetime(now + timedelta(days=rules.first_follow_up_due_days))
    owner = (
        {"reference": team_ref, "display": team_name}
        if team_ref
        else {"reference": target.reference, "display": target.name}
    )
    performers = [{"reference": target.reference, "display": target.name}]
    if team_ref:
        performers.append(owner)
    with repo.transaction():
        repo.lock("Patient", patient)
        if answered is not None:
            finish(repo, answered)
        consent = grant_for_referral(repo, patient, [target.reference, *grantees], now, rules)
        request = repo.create(
            referral_request(
                direction="down",
                patient=patient,
                performers=performers,
                reason=(reason, display),
                urgent=False,
                now=now,
                requester=requester,
                summary=lines,
                note=summary_text,
                consent=consent,
            )
        )
        task = repo.create(
            referral_task(
                request_id=request.id,
                patient=patient,
                owner=owner,
                urgent=False,
                now=now,
                requester=requester,
                escalate=False,
            )
        )
        plan = repo.create(
            _care_plan(
                patient, request.id, team_ref or None, requester, activities, now_text, due_text
            )
        )
        repo.create(_follow_up_task(patient, request.id, plan.id, owner, now_text, due_text))
    return Referral(request, task, None)


@dataclass(frozen=True, slots=True)
class FollowUp:
    note: str = ""
    systolic: int | None = None
    diastolic: int | None = None


def _bp(
    patient: str, encounter: str, now_text: str, systolic: int, diastolic: int
) -> dict[str, Any]:
    def component(code: str, display: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": _LOINC, "code": code, "display": display}]},
            "valueQuantity": {
                "value": value,
                "unit": "mmHg",
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": systems.OBSERVATION_CATEGORY,
                        "code": "vital-signs",
                        "display": "Vital Signs",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": _LOINC, "code": "85354-9", "display": "Blood pressure panel"}],
            "text": "血压",
        },
        "subject": {"reference": f"Patient/{patient}"},
        "encounter": {"reference": f"Encounter/{encounter}"},
        "effectiveDateTime": now_text,
        "component": [
            component("8480-6", "Systolic blood pressure", systolic),
            component("8462-4", "Diastolic blood pressure", diastolic),
        ],
    }


def _check_bp(value: int | None, field: str) -> None:
    if value is not None and not 30 <= value <= 300:
        raise error("CH-9302", f"{field} must be between 30 and 300 mmHg", field)


def record_follow_up(repo: Repository, task_id: str, follow_up: FollowUp) -> Referral:
    """Record the first follow-up after a down-referral (``Task/task_id`` is the down-referral
    Task): an Encounter based on the referral, the blood pressure when measured, the
    follow-up Task completed, and the referral walked to completed — the loop is closed."""
    referral = load_by_task(repo, task_id)
    if referral.direction != "down":
        raise error("CH-9302", "a follow-up is recorded on a down-referral", "referral")
    owner = referral.owner
    caller = repo.caller
    allowed = caller.kind in ("system", "client") or (
        member_of_team(repo, owner)
        if owner.startswith("CareTeam/")
        else caller.organization == owner
    )
    if not allowed:
        raise error("CH-9305", "only the receiving team or centre records the follow-up")
    if referral.status not in OPEN_STATES:
        raise error("CH-9301", f"the down-referral is already {referral.status}", "Task.status")
    if (follow_up.systolic is None) != (follow_up.diastolic is None):
        raise error("CH-9302", "blood pressure needs both systolic and diastolic", "systolic")
    _check_bp(follow_up.systolic, "systolic")
    _check_bp(follow_up.diastolic, "diastolic")
    note = clean_text(follow_up.note, "note", 2000)
    now_text = fhir_datetime(now_of(repo))
    patient = referral.patient
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [{"text": "下转随访"}],
        "subject": {"reference": f"Patient/{patient}"},
        "basedOn": [{"reference": f"ServiceRequest/{referral.request.id}"}],
        "period": {"start": now_text, "end": now_text},
    }
    if caller.organization:
        encounter["serviceProvider"] = {"reference": caller.organization}
    person = next((a for a in caller.actors if a.startswith("PractitionerRole/")), None)
    if person:
        encounter["participant"] = [{"individual": {"reference": person}}]
    if note:
        encounter["reasonCode"] = [{"text": note[:200]}]
    with repo.transaction():
        visit = repo.create(encounter)
        if follow_up.systolic is not None and follow_up.diastolic is not None:
            repo.create(_bp(patient, visit.id, now_text, follow_up.systolic, follow_up.diastolic))
        _complete_follow_ups(repo, referral, visit)
        current = referral
        for status in _PATH_TO_COMPLETED[referral.status]:
            moved = move_task(repo, current, status)
            current = Referral(current.request, moved, None)
        set_request_status(repo, referral, "completed")
    return load_by_task(repo, task_id)


def _complete_follow_ups(repo: Repository, referral: Referral, visit: Stored) -> None:
    for task in find(
        repo,
        "Task",
        [
            ("based-on", f"ServiceRequest/{referral.request.id}"),
            ("code", f"{systems.TASK_KIND}|follow-up"),
            ("status", "requested,in-progress"),
        ],
        count=10,
    ).resources:
        stored = repo.read("Task", str(task["id"]))
        body = dict(stored.resource)
        tags = (body.pop("meta", None) or {}).get("tag")
        if tags:
            body["meta"] = {"tag": tags}
        body["status"] = "completed"
        body["output"] = [
            {"type": {"text": "follow-up visit"}, "valueReference": {"reference": visit.reference}}
        ]
        repo.update("Task", stored.id, body, if_match=stored.version)
