"""The bureau's slot-pool KPI page (``/app/reports/scheduling``): the figures of
:mod:`countyhealth.scheduling.kpis` over a period, for the county or one institution, beside
the values the seed reports quote; the same figures as a MeasureReport at
``/fhir/$scheduling-kpis``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...scheduling.calendar import local_now
from ...scheduling.kpis import definitions, scheduling_kpis
from ..rendering import Page, render
from ..routing import PageRoute, repository
from ._period import day_param

router = APIRouter(
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)


@router.get("/app/reports/scheduling")
def scheduling_report(
    request: Request,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    repo = repository(request)
    today = local_now(repo.store.clock.now_us()).date()
    first = day_param(start, today - timedelta(days=6), "start", "CH-9114")
    last = day_param(end, today, "end", "CH-9114")
    kpis = scheduling_kpis(repo, first, last)
    names = {d["id"]: d for d in definitions()}
    rows = [
        {
            "id": f.id,
            "zh": names[f.id]["zh"],
            "en": names[f.id]["en"],
            "unit": names[f.id]["unit"],
            "reference": names[f.id]["reference"],
            "value": f.value,
            "numerator": f.numerator,
            "denominator": f.denominator,
        }
        for f in kpis.figures
    ]
    data = {"start": first.isoformat(), "end": last.isoformat(), "kpis": rows}
    return render(request, Page("reports/scheduling", "report.scheduling.title", data))
