"""The two-way referral operations (双向转诊; docs/referral.md).

- ``ServiceRequest/$refer`` (POST): refer a patient up (``direction=up``: ``target``
  Organization and ``service`` HealthcareService) or down at discharge (``direction=down``:
  ``team`` CareTeam or ``organization``, ``summary``, ``activity`` parts ``kind`` + ``text``,
  optionally ``fromReferral``). The answer is a ``Parameters`` with ``referral``
  (ServiceRequest), ``task`` and, when one was held, ``appointment``.
- ``Task/[id]/$receive``, ``$accept``, ``$decline`` (``reason``, ``alternative``),
  ``$cancel`` (``reason``), ``$start``, ``$complete`` and ``$follow-up`` (``note``,
  ``systolic``, ``diastolic``) move a referral along its state machine; each answers the Task.

Integrators may equally update the Task with PUT or PATCH: the store holds every write to the
same state machine (an illegal move answers 409 CH-9301). The operations also keep the
request, the held appointment and the follow-up records in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import error
from ..referral import (
    DownReferral,
    FollowUp,
    Referral,
    UpReferral,
    accept,
    cancel,
    complete,
    decline,
    receive,
    record_follow_up,
    refer_down,
    refer_up,
    start,
)
from ..store import Repository
from ._scheduling_params import definition, one
from .registry import Operation, OperationContext, OperationResult, register

_CODE = "CH-9302"


def _flag(values: Mapping[str, list[Any]], name: str) -> bool:
    found = values.get(name) or []
    value = found[0] if found else False
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0", ""):
        return False
    raise error(_CODE, f"{name} must be true or false", name)


def _int(values: Mapping[str, list[Any]], name: str) -> int | None:
    text = one(values, name, False, _CODE)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise error(_CODE, f"{name} must be a whole number", name) from None


def _activities(values: Mapping[str, list[Any]]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for parts in values.get("activity") or []:
        if not isinstance(parts, list):
            raise error(_CODE, "activity has the parts kind and text", "activity")
        named = {
            str(p.get("name")): next((v for k, v in p.items() if k.startswith("value")), "")
            for p in parts
            if isinstance(p, dict)
        }
        out.append((str(named.get("kind") or ""), str(named.get("text") or "")))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ReferParams:
    direction: str
    values: Mapping[str, list[Any]]


def _parse_refer(values: Mapping[str, list[Any]]) -> ReferParams:
    direction = one(values, "direction", False, _CODE) or "up"
    if direction not in ("up", "down"):
        raise error(_CODE, "direction must be up or down", "direction")
    return ReferParams(direction, values)


def _answer(referral: Referral, status: int = 200) -> OperationResult:
    params: list[dict[str, Any]] = [
        {"name": "referral", "valueReference": {"reference": referral.request.reference}},
        {"name": "task", "valueReference": {"reference": referral.task.reference}},
        {"name": "status", "valueCode": referral.status},
    ]
    if referral.appointment is not None:
        params.append(
            {
                "name": "appointment",
                "valueReference": {"reference": f"Appointment/{referral.appointment['id']}"},
            }
        )
    return OperationResult({"resourceType": "Parameters", "parameter": params}, status=status)


def _refer(params: ReferParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    v = params.values

    def text(name: str, required: bool = False) -> str:
        return one(v, name, required, _CODE) or ""

    if params.direction == "up":
        made = refer_up(
            repo,
            UpReferral(
                patient=text("patient", True),
                target=text("target", True),
                service=text("service", True),
                reason_code=text("reason", True),
                reason_display=text("reasonDisplay"),
                urgent=_flag(v, "urgent"),
                note=text("note"),
                condition=one(v, "condition", False, _CODE),
                encounter=one(v, "encounter", False, _CODE),
                rule=one(v, "rule", False, _CODE),
                origin=one(v, "origin", False, _CODE),
            ),
        )
    else:
        made = refer_down(
            repo,
            DownReferral(
                patient=text("patient", True),
                reason_code=text("reason", True),
                reason_display=text("reasonDisplay"),
                summary=text("summary"),
                team=one(v, "team", False, _CODE),
                organization=one(v, "organization", False, _CODE),
                activities=_activities(v),
                from_referral=one(v, "fromReferral", False, _CODE),
                origin=one(v, "origin", False, _CODE),
            ),
        )
    return _answer(made, status=201)


def _task(ctx: OperationContext, code: str) -> str:
    if ctx.id is None:
        raise error("CH-2014", f"${code} is invoked on one referral Task: Task/[id]/${code}")
    return ctx.id


def _task_answer(referral: Referral) -> OperationResult:
    return OperationResult(referral.task.resource, headers={"ETag": referral.task.etag})


def _simple(
    code: str, action: Callable[[Repository, str], Referral]
) -> Callable[[object, Repository, OperationContext], OperationResult]:
    def handle(params: object, repo: Repository, ctx: OperationContext) -> OperationResult:
        return _task_answer(action(repo, _task(ctx, code)))

    return handle


def _decline(
    values: Mapping[str, list[Any]], repo: Repository, ctx: OperationContext
) -> OperationResult:
    task = _task(ctx, "decline")
    return _task_answer(
        decline(
            repo,
            task,
            one(values, "reason", False, _CODE) or "",
            one(values, "alternative", False, _CODE) or "",
        )
    )


def _cancel(
    values: Mapping[str, list[Any]], repo: Repository, ctx: OperationContext
) -> OperationResult:
    return _task_answer(
        cancel(repo, _task(ctx, "cancel"), one(values, "reason", False, _CODE) or "")
    )


def _follow_up(
    values: Mapping[str, list[Any]], repo: Repository, ctx: OperationContext
) -> OperationResult:
    task = _task(ctx, "follow-up")
    recorded = FollowUp(
        one(values, "note", False, _CODE) or "", _int(values, "systolic"), _int(values, "diastolic")
    )
    return _task_answer(record_follow_up(repo, task, recorded))


def _ref(name: str, min_: int = 0) -> dict[str, Any]:
    return {"name": name, "use": "in", "min": min_, "max": "1", "type": "Reference"}


def _str(name: str, min_: int = 0, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "use": "in", "min": min_, "max": "1", "type": kind}


REFER = register(
    Operation(
        {
            **definition(
                "ServiceRequest",
                "refer",
                "Refer a patient up (village → township → county: consent for the receiving "
                "institution, the clinical summary, a slot held in the referral share) or "
                "down at discharge (summary, care plan and a follow-up Task for the family-"
                "doctor team or township health centre).",
                [
                    _str("direction", 0, "code"),
                    _ref("patient", 1),
                    _ref("target"),
                    _ref("service"),
                    _ref("team"),
                    _ref("organization"),
                    _str("reason", 1, "code"),
                    _str("reasonDisplay"),
                    _str("urgent", 0, "boolean"),
                    _str("note"),
                    _str("summary"),
                    {
                        "name": "activity",
                        "use": "in",
                        "min": 0,
                        "max": "*",
                        "part": [_str("kind", 1, "code"), _str("text", 1)],
                    },
                    _ref("fromReferral"),
                    _ref("condition"),
                    _ref("encounter"),
                    _str("rule"),
                    _ref("origin"),
                ],
                instance=False,
                returns="Parameters",
            ),
        },
        _parse_refer,
        _refer,
    )
)


def _task_operation(
    code: str,
    description: str,
    parameters: list[dict[str, Any]],
    handler: Callable[[Any, Repository, OperationContext], OperationResult],
    parse: Callable[[Mapping[str, list[Any]]], Any] = lambda v: v,
) -> Operation:
    body = definition("Task", code, description, parameters, instance=True, returns="Task")
    return register(Operation(body, parse, handler))


RECEIVE = _task_operation(
    "receive",
    "The receiving department has opened the referral (requested → received).",
    [],
    _simple("receive", receive),
)
ACCEPT = _task_operation(
    "accept",
    "Accept the referral and book the slot held for it (→ accepted).",
    [],
    _simple("accept", accept),
)
DECLINE = _task_operation(
    "decline",
    "Decline the referral with a reason and optionally a suggested alternative institution "
    "or text; the held slot returns to the pool (→ rejected).",
    [_str("reason", 1), _str("alternative")],
    _decline,
)
CANCEL = _task_operation(
    "cancel",
    "The referring institution withdraws its referral before the visit (→ cancelled).",
    [_str("reason", 1)],
    _cancel,
)
START = _task_operation(
    "start",
    "The referred patient is being seen (accepted → in-progress).",
    [],
    _simple("start", start),
)
COMPLETE = _task_operation(
    "complete",
    "Close the referral after the visit (→ completed).",
    [],
    _simple("complete", complete),
)
FOLLOW_UP = _task_operation(
    "follow-up",
    "Record the first follow-up after a down-referral: an Encounter based on it, the blood "
    "pressure when measured; the loop closes (→ completed).",
    [_str("note"), _str("systolic", 0, "integer"), _str("diastolic", 0, "integer")],
    _follow_up,
)
