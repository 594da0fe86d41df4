"""The bureau's slot-pool KPI page (``/app/reports/scheduling``): the figures of
:mod:`countyhealth.scheduling.kpis` over a period, for the county or one institution, beside
the values the seed reports quote; the same figures as a MeasureReport at
``/fhir/$scheduling-kpis``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...errors import error
from ...scheduling.calendar import local_now
from ...scheduling.kpis import definitions, scheduling_kpis
from ..rendering import Page, render
from ..routing import PageRoute, repository

router = APIRouter(
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)


def _day(text: str | None, default: date, name: str) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise error("CH-9114", f"{name} must be a date (YYYY-MM-DD)", name) from exc


@router.get("/app/reports/scheduling")
def scheduling_report(
    request: Request,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    repo = repository(request)
    today = local_now(repo.store.clock.now_us()).date()
    first = _day(start, today - timedelta(days=6), "start")
    last = _day(end, today, "end")
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
