"""The resident's pages (mobile-first): my record, who may see it, who read it.

``/app/me/records`` shows the resident's own record or a ward's (``?patient=``);
``/app/me/consents`` lists their Consents and grants or withdraws access per institution;
``/app/me/access-log`` is "who read my record", break-glass readings marked with their reason.
Everything goes through the resident's Repository (compartment access), so a resident reaches
only their own and their wards' records.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ... import consent, records
from ...api.principal import require_caller
from ...errors import OperationOutcomeError, error
from ...identity.card_use import CHANNELS
from ...security.roles import roles
from ...store import Repository
from ..rendering import Page, render
from ..routing import PageRoute, after_post, repository

router = APIRouter(
    prefix="/app/me",
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)

PatientParam = Annotated[str | None, Query(max_length=64)]
LOG_PAGE = 50
#: At most this many pages of the store's log are read for one page shown.
LOG_READS = 10
MAX_DAYS = 3660


@router.get("/records")
def my_records(request: Request, patient: PatientParam = None) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient)
    data = {"people": records.people_in_care(repo, pid), **records.patient_overview(repo, pid)}
    return render(
        request, Page("resident/records", "resident.records.title", data, scripts=("charts",))
    )


@router.get("/card")
def my_card(request: Request, patient: PatientParam = None) -> Response:
    """The e-health card's dynamic QR code, refreshed by the page before it expires."""
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient)
    code = records.health_code(repo, pid)
    data = {
        "people": records.people_in_care(repo, pid),
        "patientId": pid,
        **code,
        "refreshSeconds": max(20, code["validSeconds"] - 60),
    }
    return render(request, Page("resident/card", "resident.card.title", data))


def _consents_page(repo: Repository, pid: str, **extra: Any) -> Page:
    rows = consent.consent_rows(repo, consent.consents_of(repo, pid))
    data = {
        "people": records.people_in_care(repo, pid),
        "patientId": pid,
        "consents": rows,
        "organizations": consent.organisation_directory(repo),
        "categories": [
            {"code": c.code, "zh": c.zh, "en": c.en} for c in consent.categories().values()
        ],
        "maxDays": MAX_DAYS,
        **extra,
    }
    return Page("resident/consents", "resident.consents.title", data)


#: What a post/redirect/get round trip says on the page it lands on (``?done=``).
NOTICES = {"granted": "resident.consents.granted", "revoked": "resident.consents.revoked"}


@router.get("/consents")
def my_consents(
    request: Request,
    patient: PatientParam = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient)
    return render(request, _consents_page(repo, pid, notice=NOTICES.get(done or "")))


@router.post("/consents")
def grant_access(
    request: Request,
    patient: Annotated[str, Form(max_length=64)] = "",
    grantee: Annotated[str, Form(max_length=100)] = "",
    category: Annotated[str, Form(max_length=40)] = "all",
    days: Annotated[str, Form(max_length=6)] = "365",
) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient or None)
    form = {"grantee": grantee, "category": category, "days": days}
    try:
        if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
            raise error("CH-1006", f"days must be a whole number from 1 to {MAX_DAYS}", "days")
        if not grantee.startswith("Organization/"):
            raise error("CH-1006", "choose an institution from the list", "grantee")
        repo.read("Organization", grantee.removeprefix("Organization/"))
        consent.grant(
            repo,
            pid,
            grantee,
            category_code=category,
            days=int(days),
            performer=f"Patient/{repo.caller.patients[0]}",
        )
    except OperationOutcomeError as exc:
        page = _consents_page(repo, pid, form=form, problem=exc.issues[0].diagnostics)
        page.status = exc.status
        return render(request, page)
    done = _consents_page(repo, pid, notice=NOTICES["granted"])
    return after_post(request, done, f"/app/me/consents?patient={pid}&done=granted")


@router.post("/consents/{consent_id}/revoke")
def revoke_access(request: Request, consent_id: str) -> Response:
    repo = repository(request)
    stored = consent.revoke(repo, consent_id[:64])
    pid = str(consent.consent_summary(stored)["patient"]).removeprefix("Patient/")
    pid = records.patient_in_care(repo.caller, pid)
    done = _consents_page(repo, pid, notice=NOTICES["revoked"])
    return after_post(request, done, f"/app/me/consents?patient={pid}&done=revoked")


@router.get("/access-log")
def my_access_log(
    request: Request,
    patient: PatientParam = None,
    before: Annotated[str | None, Query(max_length=40)] = None,
    family: Annotated[bool, Query(description="include readings by residents")] = False,
) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient)
    # By default the log shows what others read; the family's own readings on request. A
    # page of the store's log may hold only the family's readings: read on until something
    # is left to show or the log ends.
    lines: list[dict[str, Any]] = []
    older: str | None = before
    for _ in range(LOG_READS):
        found = [line.to_json() for line in repo.access_log(pid, limit=LOG_PAGE, before=older)]
        lines += [line for line in found if family or line["role"] != "resident"]
        older = found[-1]["cursor"] if len(found) == LOG_PAGE else None
        if lines or older is None:
            break
    names = records.organization_names(repo, (line["organization"] for line in lines))
    labels = roles()
    for line in lines:
        line["organizationName"] = names.get(line["organization"] or "", line["organization"])
        spec = labels.get(line["role"])
        line["roleLabel"] = {"zh": spec.zh, "en": spec.en} if spec else None
        # A use of the e-health card is logged with its channel as the interaction.
        line["cardChannel"] = line["interaction"] if line["interaction"] in CHANNELS else None
    data = {
        "people": records.people_in_care(repo, pid),
        "patientId": pid,
        "lines": lines,
        "family": family,
        "older": older,
    }
    return render(request, Page("resident/access_log", "resident.access_log.title", data))
