"""A referral resolved for people: names of the institutions, department and doctor, the
summary lines, the consent period and the held appointment, and what the caller may do next.
The page, its JSON twin and the printed form (:mod:`.form_pdf`) all show this one view."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..errors import OperationOutcomeError
from ..fhir import systems
from ..fhir.consent_grants import FOREVER_US, period_bounds
from ..records.names import organization_names
from ..records.patients import patient_card
from ..scheduling.calendar import local_now, parse_datetime
from ..store import Repository
from .decisions import BUSINESS, require_receiving_side, require_requesting_side
from .escalation import is_overdue
from .form_pdf import ReferralForm
from .record import OPEN_STATES, UNDECIDED, Referral, extension_instant, reference
from .refer import now_of

_SUMMARY_KINDS = {"Condition": "diagnoses", "Observation": "observations"}


def _allowed(check: Any, repo: Repository, referral: Referral) -> bool:
    try:
        check(repo, referral)
    except OperationOutcomeError:
        return False
    return True


def actions(repo: Repository, referral: Referral) -> list[str]:
    """What the caller may do with the referral now."""
    receiving = _allowed(require_receiving_side, repo, referral)
    requesting = _allowed(require_requesting_side, repo, referral)
    status = referral.status
    out: list[str] = []
    if referral.direction == "up":
        if receiving and status == "requested":
            out.append("receive")
        if receiving and status in UNDECIDED:
            out += ["accept", "decline"]
        if receiving and status == "accepted":
            out.append("start")
        if receiving and status in ("accepted", "in-progress"):
            out += ["complete", "discharge"]
        if requesting and status in (*UNDECIDED, "accepted"):
            out.append("cancel")
    elif receiving and status in OPEN_STATES:
        out.append("follow-up")
    return out


def _summary(request: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"diagnoses": [], "observations": [], "medications": []}
    for info in request.get("supportingInfo") or []:
        rtype = reference(info).partition("/")[0]
        kind = _SUMMARY_KINDS.get(rtype, "medications" if rtype == "MedicationRequest" else "")
        if kind and info.get("display"):
            out[kind].append(str(info["display"]))
    return out


def _consent_period(repo: Repository, request: dict[str, Any]) -> tuple[date, date] | None:
    consent = next(
        (
            reference(i)
            for i in request.get("supportingInfo") or []
            if reference(i).startswith("Consent/")
        ),
        "",
    )
    if not consent:
        return None
    try:
        body = repo.read("Consent", consent.removeprefix("Consent/")).resource
    except OperationOutcomeError:
        return None
    start, end = period_bounds((body.get("provision") or {}).get("period"))
    if end >= FOREVER_US:
        return None
    return local_now(start).date(), local_now(end - 1).date()


def person_name(repo: Repository, ref: str) -> str:
    """The name of a PractitionerRole's or Practitioner's person (directory data); the
    reference itself when it cannot be read."""
    rtype, _, rid = ref.partition("/")
    if rtype not in ("PractitionerRole", "Practitioner") or not rid:
        return ref
    try:
        body = repo.elevated().read(rtype, rid).resource
    except OperationOutcomeError:
        return ref
    if rtype == "PractitionerRole":
        practitioner = body.get("practitioner") or {}
        if practitioner.get("display"):
            return str(practitioner["display"])
        return person_name(repo, reference(practitioner)) if reference(practitioner) else ref
    for name in body.get("name") or []:
        if name.get("text"):
            return str(name["text"])
        return str(name.get("family") or "") + "".join(str(g) for g in name.get("given") or [])
    return ref


def _queue_number(appointment: dict[str, Any] | None) -> int | None:
    for ident in (appointment or {}).get("identifier") or []:
        if ident.get("system") == systems.QUEUE_NUMBER and str(ident.get("value", "")).isdigit():
            return int(ident["value"])
    return None


def describe(repo: Repository, referral: Referral) -> dict[str, Any]:
    """The referral as the pages show it (JSON-friendly)."""
    request = referral.request.resource
    task = referral.task.resource
    patient = repo.read("Patient", referral.patient).resource
    full = "full-identifiers" in repo.caller.privileges
    origin = referral.requesting_organization
    target = referral.target_organization
    names = organization_names(repo, [origin, target])
    reason: dict[str, Any] = next(
        (c for concept in request.get("reasonCode") or [] for c in concept.get("coding") or []),
        {},
    )
    period = _consent_period(repo, request)
    appointment = referral.appointment
    service = next(
        (
            str(p.get("display") or reference(p))
            for p in request.get("performer") or []
            if reference(p).startswith(("HealthcareService/", "CareTeam/"))
        ),
        "",
    )
    notes = [str(n.get("text")) for n in request.get("note") or [] if n.get("text")]
    output = next(
        (
            str(o.get("valueString") or reference(o.get("valueReference")))
            for o in task.get("output") or []
            if (o.get("type") or {}).get("text") == "suggested-alternative"
        ),
        "",
    )
    return {
        "id": referral.id,
        "task": referral.task.id,
        "direction": referral.direction,
        "status": referral.status,
        "business": BUSINESS.get(referral.status, referral.status),
        "priority": referral.priority,
        "taskPriority": str(task.get("priority") or "routine"),
        "escalated": extension_instant(task, systems.EXT_REFERRAL_ESCALATED) is not None,
        "overdue": is_overdue(task, now_of(repo)),
        "patient": patient_card(patient, full),
        "origin": origin,
        "originName": names.get(origin, origin),
        "requester": person_name(repo, reference(request.get("requester"))),
        "target": target,
        "targetName": names.get(target, target),
        "service": service,
        "authored": request.get("authoredOn"),
        "reasonCode": str(reason.get("code") or ""),
        "reasonDisplay": str(reason.get("display") or ""),
        "note": "\n".join(n for n in notes if not n.startswith("rule: ")),
        "rule": next((n.removeprefix("rule: ") for n in notes if n.startswith("rule: ")), None),
        "statusReason": (task.get("statusReason") or {}).get("text"),
        "alternative": output,
        "summary": _summary(request),
        "consentFrom": period[0].isoformat() if period else None,
        "consentTo": period[1].isoformat() if period else None,
        "appointment": None
        if appointment is None
        else {
            "id": appointment.get("id"),
            "status": appointment.get("status"),
            "start": appointment.get("start"),
            "number": _queue_number(appointment),
        },
        "actions": actions(repo, referral),
    }


def _age(birth: str | None, on: date) -> int | None:
    if not birth or len(birth) < 10:
        return None
    born = date.fromisoformat(birth[:10])
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


_SEX = {"male": "男", "female": "女", "other": "其他", "unknown": "未知"}


def printable(view: dict[str, Any], url: str, now: datetime) -> ReferralForm:
    """The printed form of a described referral; ``url`` is the referral page's address."""
    card = view["patient"]
    appointment = view.get("appointment") or {}
    return ReferralForm(
        referral_id=view["id"],
        direction=view["direction"],
        urgency="urgent" if view["priority"] == "urgent" else "routine",
        status=view["business"],
        patient_name=str(card.get("name") or ""),
        sex=_SEX.get(str(card.get("gender") or "unknown"), "未知"),
        id_number=str(card.get("idNumber") or ""),
        from_organization=view["originName"],
        requesting_doctor=view["requester"],
        to_organization=view["targetName"],
        to_department=view["service"],
        authored=parse_datetime(view["authored"]) if view["authored"] else now,
        reason_code=view["reasonCode"],
        reason_display=view["reasonDisplay"],
        url=url,
        age=_age(card.get("birthDate"), now.date()),
        diagnoses=tuple(view["summary"]["diagnoses"]),
        observations=tuple(view["summary"]["observations"]),
        medications=tuple(view["summary"]["medications"]),
        note=view["note"],
        consent_from=date.fromisoformat(view["consentFrom"]) if view["consentFrom"] else None,
        consent_to=date.fromisoformat(view["consentTo"]) if view["consentTo"] else None,
        appointment=parse_datetime(appointment["start"])
        if appointment.get("start") and appointment.get("status") in ("pending", "booked")
        else None,
        queue_number=appointment.get("number"),
    )
