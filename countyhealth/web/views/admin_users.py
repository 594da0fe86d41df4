"""Staff accounts, for callers whose role has the ``manage-users`` privilege.

``/app/admin/users`` lists the accounts (``offset`` pages them) with a form that adds one;
the answer to that form shows the new account's initial password, this once. Buttons
disable or enable an account; disabling ends its sessions at once. Everyone else is refused
with 403 CH-4013 by :class:`~countyhealth.administration.StaffAccounts`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...administration import FormInvalid, Problem, StaffAccounts, UserForm
from ...api.principal import require_caller
from ...security.services import AuthServices
from ..rendering import Page, render
from ..routing import PageRoute, after_post, repository
from .admin_forms import form_state, notice

router = APIRouter(
    prefix="/app/admin/users",
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)

_NEW_USER = UserForm("", "", "", "")


def staff(request: Request) -> StaffAccounts:
    """The staff accounts as the signed-in caller may manage them (403 CH-4013 otherwise)."""
    services: AuthServices = request.app.state.auth
    return StaffAccounts(
        repository(request), services.accounts, services.passwords, services.settings
    )


def _users_page(
    admin: StaffAccounts,
    offset: int = 0,
    *,
    form: UserForm = _NEW_USER,
    problems: list[Problem] | None = None,
    done: str = "",
    username: str = "",
) -> Page:
    data = admin.page(offset)
    data.update(admin.form_choices())
    data.update(form_state(form.to_json(), problems or ()))
    data["problemsAt"] = "form" if form is not _NEW_USER else "list"
    known = bool(username) and admin.accounts.user(username) is not None
    data["flash"] = notice(done, username=username) if known else None
    page = Page("admin/users", "admin.users.title", data)
    if problems:
        page.status = FormInvalid(problems).status
    return page


@router.get("")
def users(
    request: Request,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    done: Annotated[str, Query(max_length=40)] = "",
    user: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    return render(request, _users_page(staff(request), offset, done=done, username=user))


@router.post("")
def create(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=100)] = "",
    organization: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    admin = staff(request)
    form = UserForm.of(username, display_name, role, organization)
    try:
        created = admin.create(form)
    except FormInvalid as exc:
        return render(request, _users_page(admin, form=form, problems=exc.problems))
    # Not post/redirect/get: the initial password is shown on this answer and nowhere else.
    return render(
        request, Page("admin/user_created", "admin.user_created.title", {"user": created}, 201)
    )


@router.post("/{username}/disabled")
def set_disabled(
    request: Request,
    username: str,
    disabled: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    admin = staff(request)
    username = username[:100]
    flag = disabled == "true"
    try:
        admin.set_disabled(username, flag)
    except FormInvalid as exc:
        return render(request, _users_page(admin, problems=exc.problems))
    done = "user-disabled" if flag else "user-enabled"
    return after_post(
        request,
        _users_page(admin, done=done, username=username),
        f"/app/admin/users?done={done}&user={quote(username, safe='')}",
    )
