"""AuditEvents for every interaction with patient data, written durably in batches.

Events follow the shape of the IHE Basic Audit Log Patterns (BALP) for RESTful interactions:
type ``rest``, subtype the FHIR interaction, the caller as requesting agent, the server as
source, the resource and the patient(s) as entities. See
https://hl7.org/fhir/R4/auditevent.html and https://profiles.ihe.net/ITI/BALP/.

Successful writes insert their AuditEvent in the same transaction as the resource. Reads and
failures go through :class:`~countyhealth.store.audit_writer.AuditWriter`, which makes each
event durable in a spool file before the request is answered and moves the events into the
database in batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from ..fhir.instant import format_instant
from ..fhir.systems import V3_ACT_REASON
from .context import Caller
from .rows import NewVersion

_ACTION = {
    "create": "C",
    "read": "R",
    "vread": "R",
    "history-instance": "R",
    "update": "U",
    "patch": "U",
    "delete": "D",
}
_INTERACTION_SYSTEM = "http://hl7.org/fhir/restful-interaction"
ROLE_SYSTEM = "https://countyhealth.example.org/fhir/CodeSystem/platform-role"
CALLER_SYSTEM = "https://countyhealth.example.org/fhir/NamingSystem/caller"


def _printable(text: str) -> str:
    """``text`` without U+0000, which no database text column can hold (an error message may
    quote the offending input)."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def build_audit_event(
    *,
    caller: Caller,
    interaction: str,
    recorded_us: int,
    outcome_status: int,
    entity: str | None,
    patients: Sequence[str],
    detail: str | None = None,
    query: str | None = None,
    purpose: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """An AuditEvent for one interaction.

    Args:
        interaction: FHIR restful interaction code (read, vread, update, search-type, …).
        outcome_status: HTTP status of the answer; 2xx → 0, 4xx → 4 (minor), 5xx → 8.
        entity: the resource acted on as ``Type/id[/_history/v]``, or None for type/system level.
        patients: ids of the patients whose data was involved.
        detail: the error code and diagnostics of a failure.
        query: the query string of a search or history interaction.
        purpose: (v3-ActReason code, text) of the purpose of use, e.g. ("BTG", reason) for
            an access under break-glass.
    """
    outcome = "0" if outcome_status < 400 else ("4" if outcome_status < 500 else "8")
    agent: dict[str, Any] = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "IRCP" if caller.kind == "user" else "AUT",
                }
            ]
        },
        "who": {
            "identifier": {"system": f"{CALLER_SYSTEM}/{caller.kind}", "value": caller.id},
            "display": caller.display or caller.id,
        },
        "altId": caller.id,
        "name": _printable(caller.display or caller.id),
        "requestor": True,
    }
    if caller.organization:
        agent["who"]["reference"] = caller.organization
    if caller.roles:
        agent["role"] = [{"coding": [{"system": ROLE_SYSTEM, "code": r}]} for r in caller.roles]
    if caller.network_address:
        agent["network"] = {"address": caller.network_address, "type": "2"}
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(uuid.uuid4()),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "Restful Operation",
        },
        "subtype": [{"system": _INTERACTION_SYSTEM, "code": interaction, "display": interaction}],
        "action": _ACTION.get(interaction, "E"),
        "recorded": format_instant(recorded_us),
        "outcome": outcome,
        "agent": [agent],
        "source": {
            "site": caller.channel,
            "observer": {"display": "CountyHealth FHIR server"},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
    }
    if detail:
        event["outcomeDesc"] = _printable(detail)
    if purpose is not None:
        code, text = purpose
        reason = {"coding": [{"system": V3_ACT_REASON, "code": code}], "text": _printable(text)}
        event["purposeOfEvent"] = [reason]
        agent["purposeOfUse"] = [reason]
    entities: list[dict[str, Any]] = []
    for pid in patients:
        entities.append(
            {
                "what": {"reference": f"Patient/{pid}"},
                "type": _coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1"),
                "role": _coding("http://terminology.hl7.org/CodeSystem/object-role", "1"),
            }
        )
    if entity is not None or query is not None:
        item: dict[str, Any] = {
            "type": _coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
            "role": _coding("http://terminology.hl7.org/CodeSystem/object-role", "4"),
        }
        if entity is not None:
            item["what"] = {"reference": _printable(entity)}
        if query is not None:
            item["query"] = _base64(query)
        entities.append(item)
    if entities:
        event["entity"] = entities
    return event


def _coding(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def _base64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode("ascii")


def audit_versions(events: Sequence[dict[str, Any]], now_us: int) -> list[NewVersion]:
    """Stamp meta on AuditEvents and turn them into first versions to insert."""
    stamp = format_instant(now_us)
    out = []
    for event in events:
        event["meta"] = {"versionId": "1", "lastUpdated": stamp}
        out.append(
            NewVersion("AuditEvent", event["id"], 1, now_us, "POST", orjson.dumps(event), event)
        )
    return out
