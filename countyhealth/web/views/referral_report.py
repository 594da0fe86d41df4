"""The bureau's two-way referral KPI page (``/app/reports/referrals``): the figures of
:mod:`countyhealth.referral.kpis` over a period, for the county or one institution, beside the
values the seed report quotes, with the referrals made day by day (or month by month) as a
chart, by Task status and by institution; the same figures as a MeasureReport at
``/fhir/$referral-kpis``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...fhir.task_workflow import TASK_STATUSES
from ...referral.kpis import ReferralKpis, definitions, referral_kpis
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


def _rows(kpis: ReferralKpis) -> list[dict[str, Any]]:
    """One row per KPI of the definitions: value, numerator and denominator (the measure
    population of the median), the seed report's reference value."""
    f = kpis.follow_up
    figures: dict[str, tuple[float | None, int | None, int | None]] = {
        "referrals": (kpis.made, None, None),
        "up-referrals": (kpis.up.made, None, None),
        "down-referrals": (kpis.down.made, None, None),
        "acceptance-rate": (kpis.acceptance_rate, kpis.accepted, kpis.decided),
        "time-to-acceptance": (kpis.median_hours, None, kpis.timed),
        "follow-up-rate": (kpis.follow_up_rate, f.done, f.due),
        "year-on-year": (kpis.change, kpis.made, kpis.previous),
    }
    rows = []
    for d in definitions():
        value, numerator, denominator = figures[d["id"]]
        rows.append(
            {
                "id": d["id"],
                "zh": d["zh"],
                "en": d["en"],
                "unit": d["unit"],
                "reference": d["reference"],
                "value": value,
                "numerator": numerator,
                "denominator": denominator,
            }
        )
    return rows


def _statuses(kpis: ReferralKpis) -> list[dict[str, Any]]:
    """The Task statuses met in the period, in the order of the state machine."""
    found = set(kpis.up.by_status) | set(kpis.down.by_status)
    order = [s for s in TASK_STATUSES if s in found] + sorted(found - set(TASK_STATUSES))
    return [
        {"status": s, "up": kpis.up.by_status.get(s, 0), "down": kpis.down.by_status.get(s, 0)}
        for s in order
    ]


@router.get("/app/reports/referrals")
def referral_report(
    request: Request,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
    organization: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    repo = repository(request)
    today = local_now(repo.store.clock.now_us()).date()
    first = day_param(start, today - timedelta(days=29), "start", "CH-9302")
    last = day_param(end, today, "end", "CH-9302")
    org = f"Organization/{organization.removeprefix('Organization/')}" if organization else None
    kpis = referral_kpis(repo, first, last, org)
    data = {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "organization": organization or "",
        "previousStart": kpis.previous_first.isoformat(),
        "previousEnd": kpis.previous_last.isoformat(),
        "followUpDays": kpis.follow_up.days,
        "followUpOpen": kpis.follow_up.open,
        "up": kpis.up.made,
        "down": kpis.down.made,
        "kpis": _rows(kpis),
        "statuses": _statuses(kpis),
        "facilities": [
            {
                "organization": f.organization,
                "name": f.name,
                "upSent": f.up_sent,
                "downSent": f.down_sent,
                "upReceived": f.up_received,
                "downReceived": f.down_received,
            }
            for f in kpis.facilities
        ],
        "series": {
            "up": [[day, up] for day, up, _ in kpis.series],
            "down": [[day, down] for day, _, down in kpis.series],
        },
    }
    page = Page("reports/referrals", "referral_report.title", data, scripts=("charts",))
    return render(request, page)
