"""The inputs every KPI operation takes: a period of whole county days and, optionally, one
institution; the answer is a MeasureReport."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..fhir import systems
from ._scheduling_params import day, local_id, one

PARAMETERS: list[dict[str, Any]] = [
    {"name": "start", "use": "in", "min": 1, "max": "1", "type": "date"},
    {"name": "end", "use": "in", "min": 1, "max": "1", "type": "date"},
    {"name": "organization", "use": "in", "min": 0, "max": "1", "type": "Reference"},
    {"name": "return", "use": "out", "min": 1, "max": "1", "type": "MeasureReport"},
]


def kpi_definition(code: str, name: str, description: str) -> dict[str, Any]:
    """The OperationDefinition of a system-level KPI operation ``$code`` (read-only)."""
    return {
        "resourceType": "OperationDefinition",
        "id": code,
        "url": f"{systems.BASE}/OperationDefinition/{code}",
        "name": name,
        "status": "active",
        "kind": "operation",
        "code": code,
        "description": description,
        "system": True,
        "type": False,
        "instance": False,
        "affectsState": False,
        "parameter": PARAMETERS,
    }


@dataclass(frozen=True, slots=True)
class KpiParams:
    first: date
    last: date
    organization: str | None


def parse_kpi_params(
    values: Mapping[str, list[Any]], code: str, check_period: Callable[[date, date], None]
) -> KpiParams:
    """``start``, ``end`` (dates, checked by ``check_period``) and ``organization``
    (``Organization/id`` or ``id``); ``code`` is the error of the operation's family."""
    first, last = day(values, "start", code), day(values, "end", code)
    check_period(first, last)
    organization = local_id(one(values, "organization", False, code), "Organization")
    return KpiParams(first, last, f"Organization/{organization}" if organization else None)
