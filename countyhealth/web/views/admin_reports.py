"""The roles of the platform and the break-glass report, for the health bureau.

``/app/admin/roles`` explains each role's reach and rights (read-only, from roles.json);
``/app/admin/break-glass?since=YYYY-MM-DD`` lists the openings of records without consent
(privilege ``audit-report``, enforced by the Repository: 403 CH-4013 otherwise).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...administration import FormInvalid, break_glass_report, role_table
from ...api.principal import require_caller
from ...security.services import AuthServices
from ..rendering import Page, render
from ..routing import PageRoute, repository
from .admin_forms import form_state

router = APIRouter(
    prefix="/app/admin",
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)


@router.get("/roles")
def roles(request: Request) -> Response:
    return render(request, Page("admin/roles", "admin.roles.title", role_table()))


@router.get("/break-glass")
def break_glass(request: Request, since: Annotated[str, Query(max_length=40)] = "") -> Response:
    services: AuthServices = request.app.state.auth
    repo = repository(request)
    try:
        data = break_glass_report(repo, services.accounts, since)
        data.update(form_state({"since": data["since"]}))
        status = 200
    except FormInvalid as exc:
        data = {"since": since, "openings": [], "truncated": False}
        data.update(form_state({"since": since}, exc.problems))
        status = exc.status
    return render(request, Page("admin/break_glass", "admin.break_glass.title", data, status))
