"""Patient search, the patient overview and break-glass, for staff.

``/app/patients?q=`` searches by name, pinyin, ID number or phone; ``/app/patients/{id}`` shows
the overview as the caller may see it. Without consent the overview is refused (403) and, for
roles with the privilege, offers break-glass: a stated reason opens the record for a while,
audited, with a banner on every page of that record.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ... import records
from ...api.principal import require_caller
from ...errors import OperationOutcomeError
from ...store import Repository
from ..rendering import Page, render
from ..routing import PageRoute, after_post, repository

router = APIRouter(
    prefix="/app/patients",
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)

_DENIED = frozenset({"CH-4004"})


@router.get("")
def search(request: Request, q: Annotated[str, Query(max_length=400)] = "") -> Response:
    matches = records.find_patients(repository(request), q)
    return render(request, Page("patients/search", "patients.search.title", matches.to_json()))


def _glass_rules(repo: Repository) -> dict[str, int]:
    settings = repo.store.settings
    return {
        "glassMinutes": settings.break_glass_minutes,
        "glassMinReason": settings.break_glass_min_reason,
    }


def _overview_page(repo: Repository, patient_id: str) -> Page:
    try:
        data = records.patient_overview(repo, patient_id)
    except OperationOutcomeError as exc:
        if exc.code not in _DENIED:
            raise
        caller = repo.caller
        return Page(
            "patients/denied",
            "patients.denied.title",
            {
                "patient": {"id": patient_id},
                "code": exc.code,
                "diagnostics": exc.issues[0].diagnostics,
                "canBreakGlass": "break-glass" in caller.privileges and caller.access == "consent",
                **_glass_rules(repo),
            },
            status=exc.status,
        )
    data.update(_glass_rules(repo))
    scopes = repo.caller.scopes
    may_refer = bool(repo.caller.organization) and all(
        scopes.allows(t, "create") for t in ("ServiceRequest", "Task")
    )
    data["referUrl"] = f"/app/patients/{patient_id}/refer" if may_refer else None
    data["referDownUrl"] = f"/app/patients/{patient_id}/refer-down" if may_refer else None
    data["orderUrl"] = (
        f"/app/patients/{patient_id}/orders"
        if repo.caller.organization and repo.caller.scopes.allows("ServiceRequest", "create")
        else None
    )
    may_issue = repo.caller.scopes.allows("Patient", "update")
    data["issueCardUrl"] = f"/app/cards/issue?patient={patient_id}" if may_issue else None
    return Page("patients/overview", "patients.overview.title", data, scripts=("charts",))


@router.get("/{patient_id}")
def overview(request: Request, patient_id: str) -> Response:
    return render(request, _overview_page(repository(request), patient_id[:64]))


@router.post("/{patient_id}/break-glass")
def break_glass(
    request: Request,
    patient_id: str,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    repo = repository(request)
    patient_id = patient_id[:64]
    try:
        repo.break_glass(patient_id, reason)
    except OperationOutcomeError as exc:
        if exc.code != "CH-4005":
            raise
        page = _overview_page(repo, patient_id)
        page.data.update(reason=reason, message=exc.issues[0].diagnostics)
        page.status = exc.status
        return render(request, page)
    return after_post(request, _overview_page(repo, patient_id), f"/app/patients/{patient_id}")
