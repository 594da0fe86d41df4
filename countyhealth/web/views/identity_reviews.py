"""The identity steward's pages (master patient index; docs/identity.md).

- ``/app/identity/reviews``: open duplicate reviews, oldest first, and the recently decided;
- ``/app/identity/reviews/{id}``: both records side by side with what the model saw in each
  field; merge (either record survives), link, or "not the same person"; a merge can be
  undone from here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...errors import OperationOutcomeError
from ...identity.review import Review
from ...identity.review_decisions import decide, undo_merge
from ...identity.review_worklist import decided_reviews, open_reviews, review_view
from ...records.patients import patient_card
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
Short = Annotated[str, Form(max_length=300)]


def _row(r: Review) -> dict[str, Any]:
    return {
        "id": r.id,
        "patient": r.patient,
        "candidate": r.candidate,
        "probability": round(r.probability * 100, 1),
        "grade": r.grade,
        "origin": r.origin,
        "authored": r.authored,
        "decision": r.decision,
    }


@router.get("/app/identity/reviews")
def worklist(request: Request) -> Response:
    repo = repository(request)
    data = {
        "open": [_row(r) for r in open_reviews(repo)],
        "decided": [_row(r) for r in decided_reviews(repo)],
    }
    return render(request, Page("identity/reviews", "identity.reviews.title", data))


def _review_page(repo: Repository, task_id: str, **extra: Any) -> Page:
    view = review_view(repo, task_id[:64])
    data = {
        "review": _row(view.review),
        "status": view.review.status,
        "records": [
            {
                "ref": view.review.patient,
                **patient_card(view.patient, True),
                "managing": (view.patient.get("managingOrganization") or {}).get("display", ""),
            },
            {
                "ref": view.review.candidate,
                **patient_card(view.candidate, True),
                "managing": (view.candidate.get("managingOrganization") or {}).get("display", ""),
            },
        ],
        "comparison": view.comparison,
        "provenance": view.provenance,
        **extra,
    }
    return Page("identity/review", "identity.review.title", data)


@router.get("/app/identity/reviews/{task_id}")
def review_page(request: Request, task_id: str) -> Response:
    return render(request, _review_page(repository(request), task_id))


def _failed(
    request: Request, repo: Repository, task_id: str, exc: OperationOutcomeError
) -> Response:
    page = _review_page(repo, task_id, problem=exc.issues[0].diagnostics, code=exc.code)
    page.status = exc.status
    return render(request, page)


@router.post("/app/identity/reviews/{task_id}/decide")
def decide_post(
    request: Request,
    task_id: str,
    decision: Annotated[str, Form(max_length=20)],
    survivor: Annotated[str, Form(max_length=80)] = "",
    note: Short = "",
) -> Response:
    repo = repository(request)
    try:
        decide(repo, task_id[:64], decision, survivor=survivor or None, note=note)
    except OperationOutcomeError as exc:
        return _failed(request, repo, task_id, exc)
    page = _review_page(repo, task_id, notice=f"identity.notice.{decision}")
    return after_post(request, page, f"/app/identity/reviews/{task_id[:64]}")


@router.post("/app/identity/reviews/{task_id}/unmerge")
def unmerge_post(request: Request, task_id: str, note: Short = "") -> Response:
    repo = repository(request)
    try:
        undo_merge(repo, task_id[:64], note)
    except OperationOutcomeError as exc:
        return _failed(request, repo, task_id, exc)
    page = _review_page(repo, task_id, notice="identity.notice.unmerged")
    return after_post(request, page, f"/app/identity/reviews/{task_id[:64]}")
