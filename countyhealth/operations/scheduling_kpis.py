"""$scheduling-kpis: the slot pool's KPIs over a period as a summary MeasureReport.

A CountyHealth operation at system level (GET or POST, it changes nothing). Inputs ``start``
and ``end`` (county days, inclusive, at most 366 days) and optionally ``organization`` (one
institution instead of the county). The KPIs and their wording are in
``countyhealth/scheduling/data/kpi_definitions.json``; the caller needs MeasureReport read
(see :func:`countyhealth.scheduling.kpis.scheduling_kpis`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..scheduling.calendar import local_now
from ..scheduling.kpis import MAX_DAYS, MEASURE, check_period, scheduling_kpis, to_measure_report
from ..store import Repository
from ._kpi_params import KpiParams, kpi_definition, parse_kpi_params
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION = kpi_definition(
    "scheduling-kpis",
    "SchedulingKpis",
    "On-time visit rate of online bookings, mean and 90th percentile wait, share "
    "of visits booked online, slot utilisation and no-show rate over whole county days "
    f"(at most {MAX_DAYS}), for the county or one organisation, as a summary MeasureReport "
    f"of {MEASURE}.",
)


def parse(values: Mapping[str, list[Any]]) -> KpiParams:
    """``start``, ``end`` (dates) and ``organization`` (``Organization/id`` or ``id``)."""
    return parse_kpi_params(values, "CH-9114", check_period)


def handle(params: KpiParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    kpis = scheduling_kpis(repo, params.first, params.last, params.organization)
    return OperationResult(to_measure_report(kpis, local_now(repo.store.clock.now_us())))


OPERATION = register(Operation(DEFINITION, parse, handle))
