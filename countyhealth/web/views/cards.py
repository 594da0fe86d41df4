"""The e-health card at the desk: scan a code, issue a card.

``/app/cards/scan`` resolves a scanned code for one step of the visit (registration, check-in,
payment, records): the phone's dynamic code alone, the card's printed static code with its PIN.
The patient found is shown as the caller may see them (masked identifiers) with a link to the
record; the use is logged for the resident (:mod:`countyhealth.identity.card_use`).
``/app/cards/issue?patient=`` issues a new card with a PIN chosen by the resident and shows the
static code to print; the card in use is revoked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ... import records
from ...api.principal import require_caller
from ...errors import OperationOutcomeError, error
from ...identity.card import issue_card
from ...identity.card_use import CHANNELS, looks_like_card_code, require_desk
from ...store import Repository
from ..rendering import Page, render
from ..routing import PageRoute, repository

router = APIRouter(
    prefix="/app/cards",
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)

Pin = Annotated[str, Form(max_length=16)]


def _scan_page(**data: Any) -> Page:
    return Page("cards/scan", "cards.scan.title", {"channels": list(CHANNELS), **data})


@router.get("/scan")
def scan_form(
    request: Request, channel: Annotated[str, Query(max_length=20)] = "registration"
) -> Response:
    require_desk(repository(request))
    return render(request, _scan_page(channel=channel if channel in CHANNELS else CHANNELS[0]))


@router.post("/scan")
def scan(
    request: Request,
    code: Annotated[str, Form(max_length=400)] = "",
    channel: Annotated[str, Form(max_length=20)] = "registration",
    pin: Pin = "",
) -> Response:
    repo = repository(request)
    require_desk(repo)
    text = code.strip()
    try:
        if not looks_like_card_code(text):
            raise error("CH-9001", "this is not an e-health card code of the platform", "code")
        found = records.find_patients(repo, text, count=1, channel=channel, pin=pin or None)
    except OperationOutcomeError as exc:
        page = _scan_page(
            channel=channel if channel in CHANNELS else CHANNELS[0],
            problem=exc.issues[0].diagnostics,
            code=exc.code,
            needsPin=exc.code in ("CH-9004", "CH-9005"),
            scanned=text if exc.code in ("CH-9004", "CH-9005") else "",
        )
        page.status = exc.status
        return render(request, page)
    return render(
        request,
        _scan_page(channel=channel, patients=found.patients, hidden=found.hidden, resolved=True),
    )


def _issue_page(repo: Repository, patient_id: str, **data: Any) -> Page:
    patient = repo.elevated().read("Patient", patient_id[:64]).resource
    card = records.patient_card(patient, "full-identifiers" in repo.caller.privileges)
    return Page("cards/issue", "cards.issue.title", {"patient": card, **data})


@router.get("/issue")
def issue_form(request: Request, patient: Annotated[str, Query(max_length=64)]) -> Response:
    repo = repository(request)
    require_desk(repo)
    return render(request, _issue_page(repo, patient))


@router.post("/issue")
def issue(
    request: Request,
    patient: Annotated[str, Form(max_length=64)] = "",
    pin: Pin = "",
    pin_again: Pin = "",
) -> Response:
    repo = repository(request)
    require_desk(repo)
    try:
        if pin != pin_again:
            raise error("CH-9007", "the two PINs differ (两次输入的密码不一致)", "pin_again")
        issued = issue_card(repo, patient, pin)
    except OperationOutcomeError as exc:
        if exc.status == 404:
            raise
        page = _issue_page(repo, patient, problem=exc.issues[0].diagnostics, code=exc.code)
        page.status = exc.status
        return render(request, page)
    page = _issue_page(repo, patient, issued=issued.to_json())
    page.status = 201
    return render(request, page)
