"""Appointment/$check-in and Location/[id]/$call-next: the front desk and the consulting room.

CountyHealth operations. ``$check-in`` takes the scanned e-health card QR (or the ID-card
number; the card's printed static code with its ``pin``) and an optional priority (emergency,
disability) and answers the queue-entry Encounter
(status ``arrived``) of the patient's booked appointment today at the caller's organisation.
``$call-next`` on a room answers the called Encounter (``in-progress``), or an
OperationOutcome with an information issue when nobody waits.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import error, information
from ..scheduling import call_next, check_in
from ..store import Repository
from ._scheduling_params import definition, one
from .registry import Operation, OperationContext, OperationResult, register


@dataclass(frozen=True, slots=True)
class CheckInParams:
    code: str
    priority: str | None
    pin: str | None = None


def _check_in(params: CheckInParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    stored = check_in(repo, params.code, params.priority, params.pin)
    return OperationResult(stored.resource, status=201, headers={"ETag": stored.etag})


def _call_next(params: object, repo: Repository, ctx: OperationContext) -> OperationResult:
    if ctx.id is None:
        raise error("CH-2014", "$call-next is invoked on one room: Location/[id]/$call-next")
    stored = call_next(repo, f"Location/{ctx.id}")
    if stored is None:
        return OperationResult(information("nobody is waiting in this room"))
    return OperationResult(stored.resource, headers={"ETag": stored.etag})


CHECK_IN = register(
    Operation(
        definition(
            "Appointment",
            "check-in",
            "Check a patient in for today's booked appointment at the caller's organisation by "
            "e-health card QR or ID-card number; the answer is the queue entry.",
            [
                {"name": "code", "use": "in", "min": 1, "max": "1", "type": "string"},
                {"name": "priority", "use": "in", "min": 0, "max": "1", "type": "code"},
                {"name": "pin", "use": "in", "min": 0, "max": "1", "type": "string"},
            ],
            instance=False,
            returns="Encounter",
        ),
        lambda v: CheckInParams(str(one(v, "code", True)), one(v, "priority"), one(v, "pin")),
        _check_in,
    )
)
CALL_NEXT = register(
    Operation(
        definition(
            "Location",
            "call-next",
            "Call the next patient of a consulting room's queue (priority weight, then "
            "check-in time) and finish the consultation in progress there.",
            [],
            instance=True,
            returns="Encounter",
        ),
        lambda v: None,
        _call_next,
    )
)
