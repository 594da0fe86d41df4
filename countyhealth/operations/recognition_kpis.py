"""$recognition-kpis: the mutual-recognition KPIs over a period as a summary MeasureReport.

A CountyHealth operation at system level (GET or POST, it changes nothing). Inputs ``start``
and ``end`` (county days, inclusive, at most 366 days) and optionally ``organization`` (the
institution that filed the orders). The KPIs and their wording are in
``countyhealth/recognition/data/recognition_kpis.json``; the caller needs MeasureReport read
(see :func:`countyhealth.recognition.kpis.recognition_kpis`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..fhir import systems
from ..recognition.kpis import (
    MAX_DAYS,
    MEASURE,
    check_period,
    recognition_kpis,
    to_measure_report,
)
from ..scheduling.calendar import local_now
from ..store import Repository
from ._scheduling_params import day, local_id, one
from .registry import Operation, OperationContext, OperationResult, register

_CODE = "CH-9201"
DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "recognition-kpis",
    "url": f"{systems.BASE}/OperationDefinition/recognition-kpis",
    "name": "RecognitionKpis",
    "status": "active",
    "kind": "operation",
    "code": "recognition-kpis",
    "description": "Recognition rate, re-tests by national reason, avoided cost and "
    f"cross-institution look-ups over whole county days (at most {MAX_DAYS}), for the county "
    f"or the orders of one institution, as a summary MeasureReport of {MEASURE}.",
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
    first, last = day(values, "start", _CODE), day(values, "end", _CODE)
    check_period(first, last)
    organization = local_id(one(values, "organization", False, _CODE), "Organization")
    return KpiParams(first, last, f"Organization/{organization}" if organization else None)


def handle(params: KpiParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    kpis = recognition_kpis(repo, params.first, params.last, params.organization)
    return OperationResult(to_measure_report(kpis, local_now(repo.store.clock.now_us())))


OPERATION = register(Operation(DEFINITION, parse, handle))
