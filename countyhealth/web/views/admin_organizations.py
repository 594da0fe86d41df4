"""The member organisations of the 医共体 and their departments, for the health bureau.

``/app/admin/organizations`` lists them (name filter ``q``, facility type ``type``, parent
``parent``, page link ``page``); ``/app/admin/organizations/{id}`` shows one with its
departments, a form that adds a department and buttons that deactivate or reactivate one.
Reading and writing go through the caller's Repository, so its scopes decide: every role
that may read organisations sees the pages, only one that may write HealthcareServices gets
the form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...administration import (
    DepartmentForm,
    FormInvalid,
    OrganizationQuery,
    Problem,
    add_department,
    department_codes,
    list_organizations,
    organization_detail,
    set_department_active,
)
from ...api.principal import require_caller
from ...store import Repository
from ..rendering import Page, render
from ..routing import PageRoute, after_post, repository
from .admin_forms import form_state, notice

router = APIRouter(
    prefix="/app/admin/organizations",
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)

_NEW_DEPARTMENT = DepartmentForm("", "", "", True)


@router.get("")
def organizations(
    request: Request,
    q: Annotated[str, Query(max_length=100)] = "",
    type: Annotated[str, Query(max_length=64)] = "",
    parent: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    query = OrganizationQuery(" ".join(q.split()), type.strip(), parent.strip(), page.strip())
    data = list_organizations(repository(request), query)
    return render(request, Page("admin/organizations", "admin.organizations.title", data))


def _detail_page(
    repo: Repository,
    org_id: str,
    *,
    form: DepartmentForm = _NEW_DEPARTMENT,
    problems: list[Problem] | None = None,
    done: str = "",
) -> Page:
    data = organization_detail(repo, org_id)
    data.update(form_state(form.to_json(), problems or ()))
    data["departmentCodes"] = department_codes(repo) if data["canEdit"] else []
    data["flash"] = notice(done)
    page = Page("admin/organization", "admin.organization.title", data)
    if problems:
        page.status = FormInvalid(problems).status
    return page


@router.get("/{org_id}")
def organization(
    request: Request, org_id: str, done: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    return render(request, _detail_page(repository(request), org_id[:64], done=done))


@router.post("/{org_id}/departments")
def add(
    request: Request,
    org_id: str,
    name: Annotated[str, Form(max_length=1000)] = "",
    code: Annotated[str, Form(max_length=200)] = "",
    code_display: Annotated[str, Form(max_length=1000)] = "",
    active: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    repo = repository(request)
    org_id = org_id[:64]
    form = DepartmentForm.of(name, code, code_display, active == "true")
    try:
        add_department(repo, org_id, form)
    except FormInvalid as exc:
        return render(request, _detail_page(repo, org_id, form=form, problems=exc.problems))
    done = "department-added"
    return after_post(
        request,
        _detail_page(repo, org_id, done=done),
        f"/app/admin/organizations/{org_id}?done={done}",
    )


@router.post("/{org_id}/departments/{service_id}/active")
def set_active(
    request: Request,
    org_id: str,
    service_id: str,
    active: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    repo = repository(request)
    org_id = org_id[:64]
    flag = active == "true"
    set_department_active(repo, org_id, service_id[:64], flag)
    done = "department-reactivated" if flag else "department-deactivated"
    return after_post(
        request,
        _detail_page(repo, org_id, done=done),
        f"/app/admin/organizations/{org_id}?done={done}",
    )
