"""The signed-in resident's own routes: consents (grant, revoke) and "who read my record".

JSON routes for the resident portal (session cookie with CSRF, or a bearer token). Consents are
FHIR Consent resources written through the Repository (see :mod:`countyhealth.consent`), so a
resident may act only for themselves and the minors in their care; the same can be done with
plain FHIR on ``/fhir/Consent``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .. import consent, records
from ..store import Caller, Repository, Store
from .principal import require_caller

router = APIRouter(prefix="/api/me", tags=["resident"], dependencies=[Depends(require_caller)])


class GrantRequest(BaseModel):
    """A grant of access to one organisation or practitioner."""

    patient: str = Field(description="Patient id: the resident's own or a minor's in their care")
    grantee: str = Field(description="Organization/id, Practitioner/id or PractitionerRole/id")
    category: str = Field("all", description="Record category (see /api/me/categories)")
    days: int | None = Field(365, ge=1, le=3660, description="How long; null for no end")


def _repository(request: Request) -> Repository:
    caller: Caller = require_caller(request)
    store: Store = request.app.state.store
    return store.repository(caller)


def _patient_of(repo: Repository, patient: str | None) -> str:
    return records.patient_in_care(repo.caller, patient)


@router.get("/categories", summary="Record categories a resident can share")
def categories() -> list[dict[str, Any]]:
    return [
        {"code": c.code, "zh": c.zh, "en": c.en, "types": list(c.types)}
        for c in consent.categories().values()
    ]


@router.get("/consents", summary="The consents of the resident (or of a minor in their care)")
async def list_consents(
    request: Request, patient: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    repo = _repository(request)
    pid = _patient_of(repo, patient)
    found = await run_in_threadpool(consent.consents_of, repo, pid)
    return [consent.consent_summary(s) for s in found]


@router.post("/consents", status_code=201, summary="Grant an organisation or doctor access")
async def grant(request: Request, body: GrantRequest) -> dict[str, Any]:
    repo = _repository(request)
    pid = _patient_of(repo, body.patient)
    performer = f"Patient/{repo.caller.patients[0]}"
    stored = await run_in_threadpool(
        lambda: consent.grant(
            repo,
            pid,
            body.grantee,
            category_code=body.category,
            days=body.days,
            performer=performer,
        )
    )
    return consent.consent_summary(stored)


@router.post("/consents/{consent_id}/revoke", summary="Withdraw a consent at once")
async def revoke(request: Request, consent_id: str) -> dict[str, Any]:
    repo = _repository(request)
    _patient_of(repo, None)
    stored = await run_in_threadpool(consent.revoke, repo, consent_id[:64])
    return consent.consent_summary(stored)


@router.get("/access-log", summary="Who read my record")
async def access_log(
    request: Request,
    patient: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[str | None, Query(max_length=40)] = None,
) -> list[dict[str, Any]]:
    repo = _repository(request)
    pid = _patient_of(repo, patient)
    lines = await run_in_threadpool(lambda: repo.access_log(pid, limit=limit, before=before))
    return [line.to_json() for line in lines]
