"""$scheduling-kpis: the slot pool's KPIs over a period as a summary MeasureReport.

A CountyHealth operation at system level (GET or POST). Inputs ``start`` and ``end`` (dates,
inclusive, at most 366 days) and optionally ``organization``. The figures and their
definitions are in ``countyhealth/scheduling/data/kpi_definitions.json``; the caller needs
MeasureReport read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import error
from ..scheduling.calendar import local_now
from ..scheduling.kpis import MEASURE, scheduling_kpis, to_measure_report
from ..store import Repository
from ._scheduling_params import one
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "scheduling-kpis",
    "url": "https://countyhealth.example.org/fhir/OperationDefinition/scheduling-kpis",
    "name": "SchedulingKpis",
    "status": "active",
    "kind": "operation",
    "code": "scheduling-kpis",
    "description": "On-time visit rate, mean and p90 wait, share of visits booked online, "
    f"slot utilisation and no-show rate over a period, as a MeasureReport of {MEASURE}.",
    "system": True,
    "type": False,
    "instance": False,
    "affectsState": False,
    "parameter": [
        {"name": "start", "use": "in", "min": 1, "max": "1", "type": "date"},
        {"name": "end", "use": "in", "min": 1, "max": "1", "type": "date"},
        {"name": "organization", "use": "in", "min": 0, "max": "1", "type": "Reference"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "MeasureReport"},
    ],
}


@dataclass(frozen=True, slots=True)
class KpiParams:
    first: date
    last: date
    organization: str | None


def _date(values: Mapping[str, list[Any]], name: str) -> date:
    text = str(one(values, name, True))
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise error("CH-9114", f"{name} must be a date (YYYY-MM-DD)", name) from exc


def parse(values: Mapping[str, list[Any]]) -> KpiParams:
    organization = one(values, "organization")
    if organization and not organization.startswith("Organization/"):
        organization = f"Organization/{organization}"
    return KpiParams(_date(values, "start"), _date(values, "end"), organization)


def handle(params: KpiParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    kpis = scheduling_kpis(repo, params.first, params.last, params.organization)
    return OperationResult(to_measure_report(kpis, local_now(repo.store.clock.now_us())))


OPERATION = register(Operation(DEFINITION, parse, handle))
