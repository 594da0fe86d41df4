"""Two-way referral pages (双向转诊; docs/referral.md).

- ``/app/patients/{id}/refer``: the up-referral form, with the rule's suggestion when the
  patient's readings call for one; posting refers (consent, summary, held slot).
- ``/app/patients/{id}/refer-down``: the down-referral (discharge) form: summary, care plan,
  the family-doctor team or health centre; ``?from=`` names the up-referral it answers.
- ``/app/referrals``: the worklists, incoming (urgent and escalated first) and outgoing.
- ``/app/referrals/{id}``: one referral with what the caller may do next (receive, accept,
  decline, cancel, start, complete, discharge, record the follow-up) and its printable form
  ``/app/referrals/{id}/form.pdf`` whose QR code leads back to this page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...errors import OperationOutcomeError, error
from ...records.patients import patient_card
from ...referral import (
    DownReferral,
    FollowUp,
    UpReferral,
    accept,
    cancel,
    complete,
    decline,
    incoming,
    load,
    outgoing,
    receive,
    record_follow_up,
    refer_down,
    refer_up,
    referral_rules,
    referral_suggestions,
    render_referral_pdf,
    start,
    suggestion_rules,
)
from ...referral.choices import destinations, receivers
from ...referral.describe import describe, printable
from ...referral.discharge import ACTIVITY_KINDS
from ...referral.refer import now_of
from ...referral.suggestion_rules import Measure
from ...referral.suggestions import Evidence
from ...referral.worklist import WorkItem
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
Text = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=200)]


def _patient(repo: Repository, patient_id: str) -> dict[str, Any]:
    body = repo.read("Patient", patient_id[:64]).resource
    return {"id": body["id"], **patient_card(body, "full-identifiers" in repo.caller.privileges)}


def _evidence(e: Evidence, measures: dict[str, Measure]) -> dict[str, str]:
    """A reading behind a suggestion, named in both languages (mm[Hg] shown as mmHg)."""
    m = measures.get(e.measure)
    value = f"{e.value:g} {e.unit.replace('mm[Hg]', 'mmHg')}"
    when = e.effective.date().isoformat()
    return {
        "zh": f"{m.zh if m else e.measure} {value}（{when}）",
        "en": f"{m.en if m else e.measure} {value} ({when})",
    }


def _refer_page(repo: Repository, patient_id: str, **extra: Any) -> Page:
    rules = referral_rules(now_of(repo).date())
    measures = suggestion_rules().measures
    suggestions = [
        {
            "rule": s.rule,
            "urgency": s.urgency,
            "reasonZh": s.reason_zh,
            "reasonEn": s.reason_en,
            "condition": s.condition,
            "code": s.reason_code,
            "display": s.reason_display,
            "department": s.target_department,
            "evidence": [_evidence(e, measures) for e in s.evidence],
        }
        for s in referral_suggestions(repo, patient_id[:64])
    ]
    choices = destinations(repo, rules, exclude=repo.caller.organization)
    wanted = suggestions[0]["department"] if suggestions else None
    chosen = next((d.value for d in choices if wanted and d.department == wanted), "")
    data = {
        "patient": _patient(repo, patient_id),
        "suggestions": suggestions,
        "destinations": [
            {
                "value": d.value,
                "organization": d.organization_name,
                "service": d.service_name,
            }
            for d in choices
        ],
        "chosen": chosen,
        "form": {
            "reason": suggestions[0]["code"] if suggestions else "",
            "display": suggestions[0]["display"] if suggestions else "",
            "urgent": bool(suggestions and suggestions[0]["urgency"] == "urgent"),
            "rule": suggestions[0]["rule"] if suggestions else "",
            "condition": suggestions[0]["condition"] if suggestions else "",
        },
        **extra,
    }
    return Page("referrals/refer", "referrals.refer.title", data)


@router.get("/app/patients/{patient_id}/refer")
def refer_form(request: Request, patient_id: str) -> Response:
    return render(request, _refer_page(repository(request), patient_id))


@router.post("/app/patients/{patient_id}/refer")
def refer(
    request: Request,
    patient_id: str,
    destination: Short = "",
    reason: Annotated[str, Form(max_length=20)] = "",
    display: Short = "",
    urgent: Annotated[str, Form(max_length=10)] = "",
    note: Text = "",
    rule: Annotated[str, Form(max_length=80)] = "",
    condition: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    repo = repository(request)
    target, _, service = destination.partition("|")
    try:
        made = refer_up(
            repo,
            UpReferral(
                patient=patient_id[:64],
                target=target,
                service=service,
                reason_code=reason,
                reason_display=display,
                urgent=urgent in ("on", "true", "1"),
                note=note,
                rule=rule or None,
                condition=condition or None,
            ),
        )
    except OperationOutcomeError as exc:
        page = _refer_page(repo, patient_id, problem=exc.issues[0].diagnostics, code=exc.code)
        page.status = exc.status
        return render(request, page)
    page = _referral_page(repo, made.id, notice="referrals.notice.referred")
    return after_post(request, page, f"/app/referrals/{made.id}")


def _down_page(repo: Repository, patient_id: str, answered: str | None, **extra: Any) -> Page:
    body = repo.read("Patient", patient_id[:64]).resource
    rules = referral_rules(now_of(repo).date())
    found = receivers(repo, body, rules)
    reason = {"code": "", "display": ""}
    if answered:
        view = describe(repo, load(repo, answered[:64]))
        reason = {"code": view["reasonCode"], "display": view["reasonDisplay"]}
    data = {
        "patient": _patient(repo, patient_id),
        "answers": answered or "",
        "reason": reason,
        "receivers": [{"value": r.reference, "name": r.name, "kind": r.kind} for r in found],
        "kinds": list(ACTIVITY_KINDS),
        **extra,
    }
    return Page("referrals/refer_down", "referrals.down.title", data)


@router.get("/app/patients/{patient_id}/refer-down")
def refer_down_form(request: Request, patient_id: str, answers: str | None = None) -> Response:
    return render(request, _down_page(repository(request), patient_id, answers))


@router.post("/app/patients/{patient_id}/refer-down")
def refer_down_post(
    request: Request,
    patient_id: str,
    receiver: Short = "",
    reason: Annotated[str, Form(max_length=20)] = "",
    display: Short = "",
    summary: Text = "",
    rehabilitation: Text = "",
    follow_up: Text = "",
    medication: Text = "",
    answers: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    repo = repository(request)
    team = receiver if receiver.startswith("CareTeam/") else None
    organization = receiver if receiver.startswith("Organization/") else None
    try:
        made = refer_down(
            repo,
            DownReferral(
                patient=patient_id[:64],
                reason_code=reason,
                reason_display=display,
                summary=summary,
                team=team,
                organization=organization,
                activities=(
                    ("rehabilitation", rehabilitation),
                    ("follow-up", follow_up),
                    ("medication", medication),
                ),
                from_referral=answers or None,
            ),
        )
    except OperationOutcomeError as exc:
        page = _down_page(
            repo, patient_id, answers or None, problem=exc.issues[0].diagnostics, code=exc.code
        )
        page.status = exc.status
        return render(request, page)
    page = _referral_page(repo, made.id, notice="referrals.notice.down")
    return after_post(request, page, f"/app/referrals/{made.id}")


def _item(i: WorkItem) -> dict[str, Any]:
    return {
        "id": i.request,
        "task": i.task,
        "direction": i.direction,
        "status": i.status,
        "priority": i.priority,
        "escalated": i.escalated,
        "overdue": i.overdue,
        "patient": i.patient,
        "patientName": i.patient_name,
        "origin": i.origin_name,
        "owner": i.owner_name,
        "reason": i.reason,
        "authored": i.authored.isoformat() if i.authored else None,
    }


@router.get("/app/referrals")
def worklists(request: Request) -> Response:
    repo = repository(request)
    data = {
        "incoming": [_item(i) for i in incoming(repo)],
        "outgoing": [_item(i) for i in outgoing(repo, count=50)],
    }
    return render(request, Page("referrals/worklist", "referrals.worklist.title", data))


def _referral_page(repo: Repository, referral_id: str, **extra: Any) -> Page:
    view = describe(repo, load(repo, referral_id[:64]))
    return Page("referrals/referral", "referrals.referral.title", {"referral": view, **extra})


@router.get("/app/referrals/{referral_id}")
def referral_page(request: Request, referral_id: str) -> Response:
    return render(request, _referral_page(repository(request), referral_id))


@router.get("/app/referrals/{referral_id}/form.pdf")
def referral_form(request: Request, referral_id: str) -> Response:
    repo = repository(request)
    view = describe(repo, load(repo, referral_id[:64]))
    url = str(request.url_for("referral_page", referral_id=view["id"]))
    pdf = render_referral_pdf(printable(view, url, now_of(repo)))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="referral-{view["id"]}.pdf"'},
    )


_ACTIONS = ("receive", "accept", "decline", "cancel", "start", "complete", "follow-up")


@router.post("/app/referrals/{referral_id}/{action}")
def act(
    request: Request,
    referral_id: str,
    action: str,
    reason: Short = "",
    alternative: Short = "",
    note: Text = "",
    systolic: Annotated[str, Form(max_length=5)] = "",
    diastolic: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    repo = repository(request)
    if action not in _ACTIONS:
        raise error("CH-1008", f"/app/referrals/…/{action[:40]}: no such action")
    referral_id = referral_id[:64]
    try:
        task = load(repo, referral_id).task.id
        if action == "receive":
            receive(repo, task)
        elif action == "accept":
            accept(repo, task)
        elif action == "decline":
            decline(repo, task, reason, alternative)
        elif action == "cancel":
            cancel(repo, task, reason)
        elif action == "start":
            start(repo, task)
        elif action == "complete":
            complete(repo, task)
        else:
            record_follow_up(repo, task, FollowUp(note, _number(systolic), _number(diastolic)))
    except OperationOutcomeError as exc:
        page = _referral_page(repo, referral_id, problem=exc.issues[0].diagnostics, code=exc.code)
        page.status = exc.status
        return render(request, page)
    page = _referral_page(repo, referral_id, notice=f"referrals.notice.{action}")
    return after_post(request, page, f"/app/referrals/{referral_id}")


def _number(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise error("CH-9302", "blood pressure must be a whole number of mmHg", "systolic")
    return int(text)
