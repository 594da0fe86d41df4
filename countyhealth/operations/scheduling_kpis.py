"""$scheduling-kpis: the slot pool's KPIs over a period as a summary MeasureReport.

A CountyHealth operation at system level (GET or POST, it changes nothing). Inputs ``start``
and ``end`` (county days, inclusive, at most 366 days) and optionally ``organization`` (one
institution instead of the county). The KPIs and their wording are in
``countyhealth/scheduling/data/kpi_definitions.json``; the caller needs MeasureReport read
(see :func:`countyhealth.scheduling.kpis.scheduling_kpis`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..fhir import systems
from ..scheduling.calendar import local_now
from ..scheduling.kpis import MAX_DAYS, MEASURE, check_period, scheduling_kpis, to_measure_report
from ..store import Repository
from ._scheduling_params import day, local_id, one
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "scheduling-kpis",
    "url": f"{systems.BASE}/OperationDefinition/scheduling-kpis",
    "name": "SchedulingKpis",
    "status": "active",
    "kind": "operation",
    "code": "scheduling-kpis",
    "description": "On-time visit rate of online bookings, mean and 90th percentile wait, share "
    "of visits booked online, slot utilisation and no-show rate over whole county days "
    f"(at most {MAX_DAYS}), for the county or one organisation, as a summary MeasureReport "
    f"of {MEASURE}.",
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


def parse(values: Mapping[str, list[Any]]) -> KpiParams:
    """``start``, ``end`` (dates) and ``organization`` (``Organization/id`` or ``id``)."""
    first, last = day(values, "start"), day(values, "end")
    check_period(first, last)
    organization = local_id(one(values, "organization"), "Organization")
    return KpiParams(first, last, f"Organization/{organization}" if organization else None)


def handle(params: KpiParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    kpis = scheduling_kpis(repo, params.first, params.last, params.organization)
    return OperationResult(to_measure_report(kpis, local_now(repo.store.clock.now_us())))


OPERATION = register(Operation(DEFINITION, parse, handle))
