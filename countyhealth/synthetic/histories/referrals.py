"""Referrals up (上转) and down (下转): a ServiceRequest and the Task that tracks it.

The Task follows the state machine of DOMAIN.md §4.5 (requested → accepted/rejected →
in-progress → completed, or cancelled); outcomes are drawn from data/care.json, and a
referral made in the last days of the period is still open: accepted and waiting for the
visit (in-progress), or not yet accepted (requested) when the acceptance would fall after the
period. An accepted referral's Task carries the instant of acceptance
(:data:`~countyhealth.fhir.systems.EXT_REFERRAL_ACCEPTED`): half an hour after the referral
when the visit is the same day (urgent referrals), else 08:00 the next day. The visit at the
receiving institution, when there is one, is an Encounter ``basedOn`` the ServiceRequest; for
a down-referral it is the follow-up the callers write on the returned ``visit_day``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from ...fhir import systems
from .. import datafiles
from ..fhirtypes import coding, concept, ref, when
from ..network import Facility
from .chart import Chart

_BUSINESS = {
    "requested": "待接收",
    "completed": "已接诊",
    "rejected": "已拒绝",
    "cancelled": "已取消",
    "in-progress": "待接诊",
}
_SR_STATUS = {
    "requested": "active",
    "completed": "completed",
    "rejected": "revoked",
    "cancelled": "revoked",
    "in-progress": "active",
}
_REJECTED_BECAUSE = ["床位已满", "不符合转诊指征", "建议至专科医院就诊"]
#: acceptance of a same-day referral, minutes after it was made
_SAME_DAY_ACCEPTANCE_MINUTES = 30
#: acceptance of any other referral: this minute of the next day (08:00, before clinic visits)
_NEXT_DAY_ACCEPTANCE_MINUTE = 480


@dataclass(frozen=True, slots=True)
class Referral:
    request: str
    task: str
    status: str
    visit_day: date | None


@cache
def _rules() -> dict[str, Any]:
    rules: dict[str, Any] = datafiles.load("care")["referral"]
    return rules


def refer(
    chart: Chart,
    direction: str,
    reason: tuple[str, str],
    origin: Facility,
    requester: str,
    target: Facility,
    dept: str,
    day: date,
    minute: int,
    *,
    enc: str | None = None,
    condition: str | None = None,
    urgent: bool = False,
    visit_after_days: tuple[int, int] | None = None,
) -> Referral:
    """Refer the resident from ``origin`` to department ``dept`` of ``target``."""
    rules = _rules()
    rng = chart.rng
    names = datafiles.load("codesystems")
    low, high = visit_after_days or rules["accepted_after_days"]
    visit_day = day + timedelta(days=0 if urgent else rng.randint(low, high))
    if visit_day >= chart.end or (
        (chart.end - day).days <= rules["open_if_within_days"]
        and rng.random() < rules["open_share_near_end"]
    ):
        status = "in-progress"
    else:
        shares = rules["outcome_shares"]
        roll, status = rng.random(), "completed"
        for name in ("rejected", "cancelled"):
            roll -= shares[name]
            if roll < 0:
                status = name
                break
        if urgent and status == "rejected":
            status = "completed"  # an emergency referral is never turned away
    accepted = _accepted(day, minute, visit_day) if status in ("completed", "in-progress") else None
    if accepted is not None and accepted[0] >= chart.end:
        status, accepted = "requested", None  # nobody accepted it within the period
    sr_id, task_id = chart.id("sr"), chart.id("task")
    dept = target.department_of(dept)
    sr: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": sr_id,
        "extension": [
            {
                "url": systems.EXT_REFERRAL_DIRECTION,
                "valueCoding": coding(
                    systems.REFERRAL_DIRECTION, direction, names["referral_direction"][direction]
                ),
            }
        ],
        "status": _SR_STATUS[status],
        "intent": "order",
        "category": [concept(systems.SNOMED_CT, "3457005", "Patient referral")],
        "priority": "urgent" if urgent else "routine",
        "code": concept(
            systems.SNOMED_CT,
            "306206005",
            "Referral to service",
            names["referral_direction"][direction],
        ),
        "subject": chart.subject,
    }
    if enc:
        sr["encounter"] = ref(f"Encounter/{enc}")
    sr["authoredOn"] = when(day, minute)
    sr["requester"] = ref(f"PractitionerRole/{requester}")
    sr["performer"] = [
        ref(target.org_ref, target.name),
        ref(f"HealthcareService/{target.services[dept]}"),
    ]
    sr["reasonCode"] = [concept(systems.ICD_10, reason[0], reason[1])]
    if condition:
        sr["reasonReference"] = [ref(f"Condition/{condition}")]
    chart.add(sr)
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id,
        "status": status,
        "businessStatus": {"text": _BUSINESS[status]},
        "intent": "order",
        "priority": "urgent" if urgent else "routine",
        "code": concept(systems.TASK_KIND, "referral", names["task_kind"]["referral"]),
        "focus": ref(f"ServiceRequest/{sr_id}"),
        "for": chart.subject,
    }
    if enc:
        task["encounter"] = ref(f"Encounter/{enc}")
    task["authoredOn"] = when(day, minute)
    if accepted is not None:
        task["extension"] = [
            {"url": systems.EXT_REFERRAL_ACCEPTED, "valueDateTime": when(*accepted)}
        ]
    decided = day + timedelta(days=min(1, (visit_day - day).days))
    if status == "requested":
        task["lastModified"] = when(day, minute)
    else:
        task["lastModified"] = when(visit_day if status == "completed" else decided, 600)
    task["requester"] = ref(f"PractitionerRole/{requester}")
    task["owner"] = ref(target.org_ref, target.name)
    if status == "rejected":
        task["statusReason"] = {"text": _REJECTED_BECAUSE[rng.randrange(len(_REJECTED_BECAUSE))]}
    if status == "completed":
        task["executionPeriod"] = {"start": when(day, minute), "end": when(visit_day, 600)}
    elif status == "in-progress":
        task["executionPeriod"] = {"start": when(day, minute)}
    chart.add(task)
    visited = visit_day if status == "completed" else None
    authored = day + timedelta(days=max(minute, 0) // 1440)  # when() rolls minutes over
    chart.truth.referral(
        direction,
        status,
        reason[0],
        day=authored,
        origin=origin.org_ref,
        target=target.org_ref,
        accepted_after_minutes=None
        if accepted is None
        else (accepted[0] - day).days * 1440 + accepted[1] - max(minute, 0),
        visit_after_days=None if visited is None else (visited - authored).days,
    )
    return Referral(sr_id, task_id, status, visited)


def _accepted(day: date, minute: int, visit_day: date) -> tuple[date, int]:
    """When the receiving side accepts a referral made at ``minute`` of ``day`` whose visit is
    on ``visit_day``: (day, minute of that day)."""
    if visit_day == day:
        at = minute + _SAME_DAY_ACCEPTANCE_MINUTES
        return day + timedelta(days=at // 1440), at % 1440
    return day + timedelta(days=1), _NEXT_DAY_ACCEPTANCE_MINUTE
