"""The bureau's billing KPI page (``/app/reports/billing``): smart settlement, payments per
visit and the time from the last charge to payment over a period, for the county or one
institution, beside the values the seed reports quote. The rows are read from the same
MeasureReport ``/fhir/$billing-kpis`` answers, so the page and the API cannot disagree."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...billing.kpis import billing_kpis, definitions, to_measure_report
from ...scheduling.calendar import local_now
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


def _count(group: dict[str, Any], code: str) -> int | None:
    for population in group.get("population") or []:
        codes = [c.get("code") for c in (population.get("code") or {}).get("coding") or []]
        if code in codes:
            return int(population.get("count") or 0)
    return None


@router.get("/app/reports/billing")
def billing_report(
    request: Request,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
    organization: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    repo = repository(request)
    now = local_now(repo.store.clock.now_us())
    first = day_param(start, now.date() - timedelta(days=29), "start", "CH-9401")
    last = day_param(end, now.date(), "end", "CH-9401")
    org = f"Organization/{organization.removeprefix('Organization/')}" if organization else None
    report = to_measure_report(billing_kpis(repo, first, last, org), now)
    names = {d["id"]: d for d in definitions()}
    rows = []
    for group in report.get("group") or []:
        codings: list[dict[str, Any]] = (group.get("code") or {}).get("coding") or []
        kpi = str(codings[0].get("code")) if codings else ""
        if kpi not in names:
            continue
        score = (group.get("measureScore") or {}).get("value")
        rows.append(
            {
                "id": kpi,
                "zh": names[kpi]["zh"],
                "en": names[kpi]["en"],
                "unit": names[kpi]["unit"],
                "reference": names[kpi]["reference"],
                "value": score if score is not None else _count(group, "initial-population"),
                "numerator": _count(group, "numerator"),
                "denominator": _count(group, "denominator"),
            }
        )
    data = {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "organization": organization or "",
        "kpis": rows,
    }
    return render(request, Page("reports/billing", "report.billing.title", data))
