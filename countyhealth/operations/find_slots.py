"""Appointment/$find: free slots across every institution of the county, earliest first.

After IHE ITI Scheduling ``$find``: the answer is a searchset Bundle of proposed Appointments,
each naming one slot, its department (HealthcareService) and the institution (``comment``).
Inputs: ``start`` / ``end`` (dates), ``service-type`` (诊疗科目 code), ``organization``,
``facility-class`` (hospital | health-centre), ``channel`` (which reserved share the caller
books into, if any) and ``_count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ..errors import error
from ..scheduling.find import SlotQuery, find_slots
from ..store import Repository
from ._scheduling_params import one
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Appointment-find",
    "url": "https://countyhealth.example.org/fhir/OperationDefinition/Appointment-find",
    "name": "Find",
    "status": "active",
    "kind": "operation",
    "code": "find",
    "description": "Free, released slots of the county pool that the caller may book, "
    "earliest first, as proposed Appointments.",
    "resource": ["Appointment"],
    "system": False,
    "type": True,
    "instance": False,
    "affectsState": False,
    "parameter": [
        {"name": "start", "use": "in", "min": 0, "max": "1", "type": "date"},
        {"name": "end", "use": "in", "min": 0, "max": "1", "type": "date"},
        {"name": "service-type", "use": "in", "min": 0, "max": "1", "type": "token"},
        {"name": "organization", "use": "in", "min": 0, "max": "1", "type": "Reference"},
        {"name": "facility-class", "use": "in", "min": 0, "max": "1", "type": "code"},
        {"name": "channel", "use": "in", "min": 0, "max": "1", "type": "code"},
        {"name": "_count", "use": "in", "min": 0, "max": "1", "type": "integer"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "Bundle"},
    ],
}


def _date(values: Mapping[str, list[Any]], name: str) -> date | None:
    text = one(values, name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise error("CH-9114", f"{name} must be a date (YYYY-MM-DD)", name) from exc


def parse(values: Mapping[str, list[Any]]) -> SlotQuery:
    count_text = one(values, "_count") or "20"
    if not count_text.isdigit():
        raise error("CH-9114", "_count must be a number", "_count")
    department = one(values, "service-type")
    facility = one(values, "facility-class")
    if facility not in (None, "hospital", "health-centre"):
        raise error("CH-9114", "facility-class is hospital or health-centre", "facility-class")
    organization = one(values, "organization")
    if organization and not organization.startswith("Organization/"):
        organization = f"Organization/{organization}"
    return SlotQuery(
        department=department.rpartition("|")[2] if department else None,
        organization=organization,
        facility_class=facility,
        first=_date(values, "start"),
        last=_date(values, "end"),
        channel=one(values, "channel") or "online",
        count=int(count_text),
    )


def handle(params: SlotQuery, repo: Repository, ctx: OperationContext) -> OperationResult:
    offers = find_slots(repo, params)
    return OperationResult(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(offers),
            "entry": [
                {"resource": offer.to_appointment(), "search": {"mode": "match"}}
                for offer in offers
            ],
        }
    )


OPERATION = register(Operation(DEFINITION, parse, handle))
