"""Appointment/[id]/$cancel, $reschedule and $no-show: changes to a booked appointment.

CountyHealth operations. ``$cancel`` frees the slot (until the pool rules' limit before the
start); ``$reschedule`` books another slot and cancels this appointment in one unit of work,
within the allowed number of changes; ``$no-show`` is recorded by the front desk once the slot
has ended (three in 90 days suspend online booking — settings). Each answers the resulting
Appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import error
from ..scheduling import cancel, mark_no_show, reschedule
from ..store import Repository
from ._scheduling_params import definition, local_id, one
from .registry import Operation, OperationContext, OperationResult, register


@dataclass(frozen=True, slots=True)
class ChangeParams:
    reason: str | None = None
    slot: str | None = None


def _instance(ctx: OperationContext) -> str:
    if ctx.id is None:
        raise error("CH-2014", "this operation is invoked on one Appointment")
    return ctx.id


def _result(stored: Any) -> OperationResult:
    return OperationResult(stored.resource, headers={"ETag": stored.etag})


def _cancel(params: ChangeParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    return _result(cancel(repo, _instance(ctx), params.reason))


def _reschedule(params: ChangeParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    assert params.slot is not None
    return _result(reschedule(repo, _instance(ctx), params.slot))


def _no_show(params: ChangeParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    return _result(mark_no_show(repo, _instance(ctx)))


CANCEL = register(
    Operation(
        definition(
            "Appointment",
            "cancel",
            "Cancel a booked appointment and free its slot (up to the limit before the start).",
            [{"name": "reason", "use": "in", "min": 0, "max": "1", "type": "string"}],
            instance=True,
            returns="Appointment",
        ),
        lambda v: ChangeParams(reason=one(v, "reason")),
        _cancel,
    )
)
RESCHEDULE = register(
    Operation(
        definition(
            "Appointment",
            "reschedule",
            "Move a booked appointment to another free slot in one unit of work.",
            [{"name": "slot", "use": "in", "min": 1, "max": "1", "type": "Reference"}],
            instance=True,
            returns="Appointment",
        ),
        lambda v: ChangeParams(slot=local_id(one(v, "slot", True), "Slot")),
        _reschedule,
    )
)
NO_SHOW = register(
    Operation(
        definition(
            "Appointment",
            "no-show",
            "Record that the patient did not come to a booked appointment that has ended.",
            [],
            instance=True,
            returns="Appointment",
        ),
        lambda v: ChangeParams(),
        _no_show,
    )
)
