"""Patient/[id]/$break-glass: open a patient's record without consent, for a stated reason.

A CountyHealth operation (no HL7 definition exists). POST only, since it changes state. The
caller must hold the ``break-glass`` privilege; the opening lasts the configured time and is
audited with purpose of use ``BTG`` (see :mod:`countyhealth.store.break_glass`). The answer is
a Parameters resource with the opening's ``expires`` instant and its ``auditEvent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import error
from ..fhir.instant import format_instant
from ..store import Repository
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Patient-break-glass",
    "url": "https://countyhealth.example.org/fhir/OperationDefinition/Patient-break-glass",
    "name": "BreakGlass",
    "status": "active",
    "kind": "operation",
    "code": "break-glass",
    "description": "Open the record of one patient without consent in an emergency. The reason "
    "is required; the opening lasts a configured time (3 hours by default), every access under "
    "it is audited with purpose of use BTG and shown to the patient.",
    "resource": ["Patient"],
    "system": False,
    "type": False,
    "instance": True,
    "affectsState": True,
    "parameter": [
        {"name": "reason", "use": "in", "min": 1, "max": "1", "type": "string"},
        {"name": "expires", "use": "out", "min": 1, "max": "1", "type": "instant"},
        {"name": "auditEvent", "use": "out", "min": 1, "max": "1", "type": "Reference"},
    ],
}


@dataclass(frozen=True, slots=True)
class BreakGlassParams:
    reason: str


def parse(values: Mapping[str, list[Any]]) -> BreakGlassParams:
    reason = (values.get("reason") or [None])[0]
    if not isinstance(reason, str) or not reason.strip():
        raise error("CH-4005", "break-glass needs a reason (parameter 'reason')", "reason")
    return BreakGlassParams(reason)


def handle(params: BreakGlassParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    if ctx.id is None:
        raise error("CH-2014", "$break-glass is invoked on one Patient: Patient/[id]/$break-glass")
    opening = repo.break_glass(ctx.id, params.reason)
    return OperationResult(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "expires", "valueInstant": format_instant(opening.expires_us)},
                {
                    "name": "auditEvent",
                    "valueReference": {"reference": f"AuditEvent/{opening.audit_event}"},
                },
            ],
        }
    )


OPERATION = register(Operation(DEFINITION, parse, handle))
