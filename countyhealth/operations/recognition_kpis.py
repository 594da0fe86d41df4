"""$recognition-kpis: the mutual-recognition KPIs over a period as a summary MeasureReport.

A CountyHealth operation at system level (GET or POST, it changes nothing). Inputs ``start``
and ``end`` (county days, inclusive, at most 366 days) and optionally ``organization`` (the
institution that filed the orders). The KPIs and their wording are in
``countyhealth/recognition/data/recognition_kpis.json``; the caller needs MeasureReport read
(see :func:`countyhealth.recognition.kpis.recognition_kpis`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..recognition.kpis import (
    MAX_DAYS,
    MEASURE,
    check_period,
    recognition_kpis,
    to_measure_report,
)
from ..scheduling.calendar import local_now
from ..store import Repository
from ._kpi_params import KpiParams, kpi_definition, parse_kpi_params
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION = kpi_definition(
    "recognition-kpis",
    "RecognitionKpis",
    "Recognition rate, re-tests by national reason, avoided cost and "
    f"cross-institution look-ups over whole county days (at most {MAX_DAYS}), for the county "
    f"or the orders of one institution, as a summary MeasureReport of {MEASURE}.",
)


def parse(values: Mapping[str, list[Any]]) -> KpiParams:
    """``start``, ``end`` (dates) and ``organization`` (``Organization/id`` or ``id``)."""
    return parse_kpi_params(values, "CH-9201", check_period)


def handle(params: KpiParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    kpis = recognition_kpis(repo, params.first, params.last, params.organization)
    return OperationResult(to_measure_report(kpis, local_now(repo.store.clock.now_us())))


OPERATION = register(Operation(DEFINITION, parse, handle))
