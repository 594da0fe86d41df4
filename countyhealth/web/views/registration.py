"""Registering a resident at a desk (建档), with the master patient index's check.

``/app/register``: the form; "check" shows the records the index finds for what was typed
(those the clerk may read, and a note when others exist), "register" creates the Patient
through the identity check — refused when the identity number is already registered (with a
link to that record), stored with a review Task for the identity steward when it is a
probable duplicate.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...errors import OperationOutcomeError
from ...identity.mpi import Thresholds, match_patient, register_patient, visible_to_caller
from ...identity.registration_form import RegistrationForm, patient_from_form
from ...records.patients import patient_card
from ...scheduling.calendar import local_now
from ...store import Repository
from ..rendering import Page, render
from ..routing import PageRoute, after_post, repository

router = APIRouter(
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)
Field = Annotated[str, Form(max_length=60)]


def _page(repo: Repository, form: RegistrationForm | None = None, **extra: Any) -> Page:
    data: dict[str, Any] = {"form": asdict(form) if form else {}, **extra}
    return Page("identity/register", "identity.register.title", data)


@router.get("/app/register")
def register_form(request: Request) -> Response:
    repo = repository(request)
    repo.require("Patient", "create")
    return render(request, _page(repo))


@router.post("/app/register")
def register_post(
    request: Request,
    family: Field = "",
    given: Field = "",
    sex: Field = "",
    birth_date: Field = "",
    id_number: Field = "",
    phone: Field = "",
    township: Field = "",
    village: Field = "",
    line: Field = "",
    step: Field = "check",
) -> Response:
    repo = repository(request)
    repo.require("Patient", "create")
    form = RegistrationForm(
        family, given, sex, birth_date, id_number, phone, township, village, line
    )
    today = local_now(repo.store.clock.now_us()).date()
    try:
        resource = patient_from_form(form, repo.caller.organization, today)
        if step != "register":
            candidates = match_patient(repo, resource, Thresholds.of(repo.store.settings))
            shown, hidden = visible_to_caller(repo, candidates)
            found = [
                {
                    **patient_card(c.resource),
                    "grade": c.grade,
                    "probability": round(c.score.probability * 100, 1),
                }
                for c in shown
            ]
            return render(request, _page(repo, form, checked=True, candidates=found, hidden=hidden))
        registered = register_patient(repo, resource)
    except OperationOutcomeError as exc:
        page = _page(
            repo,
            form,
            problem=exc.issues[0].diagnostics,
            code=exc.code,
            field=exc.issues[0].expression,
        )
        page.status = exc.status
        return render(request, page)
    target = f"/app/patients/{registered.stored.id}"
    page = _page(repo, form, created=registered.stored.id, reviews=registered.reviews)
    return after_post(request, page, target)
