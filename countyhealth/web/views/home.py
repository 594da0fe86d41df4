"""The home page of each role: what that person does first, one click away.

Clinicians see the patient search and the latest visits at their organisation; the emergency
dispatcher the latest emergency calls; the public-health officer the newest diagnoses; the
bureau administrator the administration pages and the break-glass count; a resident their own
card and the people in their care.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ... import records
from ...api.principal import require_caller
from ...store import Caller, Repository
from ..navigation import navigation
from ..rendering import Page, render
from ..routing import PageRoute, repository

router = APIRouter(
    prefix="/app",
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)

CLINICAL = frozenset(
    {
        "village-doctor",
        "family-doctor",
        "township-clinician",
        "county-clinician",
        "nurse",
        "cashier",
    }
)
WEEK_US = 7 * 24 * 3600 * 1_000_000


def _panel(caller: Caller) -> str:
    roles = set(caller.roles)
    for name, held in (
        ("resident", {"resident"}),
        ("bureau", {"bureau-admin"}),
        ("public-health", {"public-health-officer"}),
        ("dispatch", {"dispatcher"}),
    ):
        if roles & held:
            return name
    return "clinical" if roles & CLINICAL else "plain"


def home_data(repo: Repository) -> dict[str, Any]:
    caller = repo.caller
    panel = _panel(caller)
    data: dict[str, Any] = {
        "panel": panel,
        "roles": list(caller.roles),
        "organization": caller.organization,
        "shortcuts": [n for n in navigation(caller.roles, "") if n["href"] != "/app"],
    }
    if panel == "clinical":
        data["visits"] = records.recent_encounters(repo, caller.organization)
    elif panel == "dispatch":
        data["visits"] = records.recent_encounters(repo, caller.organization, emergency=True)
    elif panel == "public-health":
        data["conditions"] = records.recent_conditions(repo)
    elif panel == "resident":
        full = "full-identifiers" in caller.privileges
        data["people"] = [
            records.patient_card(repo.read("Patient", pid).resource, full)
            for pid in caller.patients
        ]
    elif panel == "bureau":
        since = repo.store.clock.now_us() - WEEK_US
        data["breakGlassWeek"] = len(repo.break_glass_openings(since, limit=5000))
    return data


@router.get("")
def home(request: Request) -> Response:
    return render(request, Page("home/home", "home.title", home_data(repository(request))))
