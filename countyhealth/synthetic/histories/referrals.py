"""Referrals up (上转) and down (下转): a ServiceRequest and the Task that tracks it.

The Task follows the state machine of DOMAIN.md §4.5 (requested → accepted/rejected →
in-progress → completed, or cancelled); outcomes are drawn from data/care.json, and a
referral made in the last days of the period is still open. The visit at the receiving
institution, when there is one, is an Encounter ``basedOn`` the ServiceRequest.
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
    "completed": "已接诊",
    "rejected": "已拒绝",
    "cancelled": "已取消",
    "in-progress": "待接诊",
}
_SR_STATUS = {
    "completed": "completed",
    "rejected": "revoked",
    "cancelled": "revoked",
    "in-progress": "active",
}
_REJECTED_BECAUSE = ["床位已满", "不符合转诊指征", "建议至专科医院就诊"]


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
    decided = day + timedelta(days=min(1, (visit_day - day).days))
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
    chart.truth.referral(direction, status, reason[0])
    return Referral(sr_id, task_id, status, visit_day if status == "completed" else None)
