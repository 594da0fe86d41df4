"""Booking pages of the resident: smart triage, free slots across the county, my appointments.

``/app/booking`` finds free slots by department and facility class; ``POST /app/booking/triage``
records the symptoms and shows the suggested departments; ``POST /app/booking/book`` books a
slot; ``/app/me/appointments`` lists the resident's appointments with the queue position once
checked in, and cancels. All through the resident's Repository and the scheduling domain.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ... import records
from ...api.principal import require_caller
from ...errors import OperationOutcomeError
from ...scheduling import BookingRequest, book, cancel
from ...scheduling.appointments import appointment_rows
from ...scheduling.calendar import local_now
from ...scheduling.catalogue import department_names
from ...scheduling.find import SlotQuery, find_slots
from ...scheduling.triage import picklist, triage
from ...scheduling.triage_record import record_triage
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

Short = Annotated[str | None, Query(max_length=64)]


def _age(repo: Repository, pid: str) -> int | None:
    born = repo.read("Patient", pid).resource.get("birthDate")
    if not isinstance(born, str) or len(born) < 4:
        return None
    today = local_now(repo.store.clock.now_us()).date()
    return today.year - int(born[:4])


def _booking_page(
    repo: Repository,
    pid: str,
    department: str | None,
    facility: str | None,
    **extra: Any,
) -> Page:
    today = local_now(repo.store.clock.now_us()).date()
    catalogue = department_names(repo, today)
    names = {d["code"]: d["name"] for d in catalogue}
    offers = []
    if department:
        found = find_slots(
            repo,
            SlotQuery(
                department=department,
                facility_class=facility if facility in ("hospital", "health-centre") else None,
                count=20,
            ),
        )
        offers = [
            {
                "slot": o.slot,
                "start": o.start.isoformat(),
                "end": o.end.isoformat(),
                "number": o.number,
                "service": o.service_name,
                "organization": o.organization_name,
            }
            for o in found
        ]
    data = {
        "people": records.people_in_care(repo, pid),
        "patientId": pid,
        "departments": catalogue,
        "department": department,
        "departmentName": names.get(department or "", department),
        "facility": facility,
        "offers": offers,
        "picklist": picklist(),
        **extra,
    }
    if "suggestions" in data:
        for s in data["suggestions"]:
            s["name"] = names.get(s["department"], s["department"])
    return Page("booking/booking", "booking.title", data)


@router.get("/app/booking")
def booking(
    request: Request,
    patient: Short = None,
    department: Annotated[str | None, Query(max_length=16)] = None,
    facility: Annotated[str | None, Query(max_length=20)] = None,
    triage_id: Annotated[str | None, Query(alias="triage", max_length=64)] = None,
) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient)
    return render(request, _booking_page(repo, pid, department, facility, triageId=triage_id))


@router.post("/app/booking/triage")
def run_triage(
    request: Request,
    patient: Annotated[str, Form(max_length=64)] = "",
    symptoms: Annotated[str, Form(max_length=2000)] = "",
    picks: Annotated[list[str] | None, Form()] = None,
) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient or None)
    try:
        result = triage(symptoms, tuple(picks or ()), age_years=_age(repo, pid))
    except OperationOutcomeError as exc:
        page = _booking_page(
            repo, pid, None, None, problem=exc.issues[0].diagnostics, symptoms=symptoms
        )
        page.status = exc.status
        return render(request, page)
    suggestions = [
        {"department": s.department, "level": s.level, "urgency": s.urgency}
        for s in result.suggestions
    ]
    triage_id = record_triage(
        repo, pid, result.text, list(result.picks), [s["department"] for s in suggestions]
    )
    return render(
        request,
        _booking_page(
            repo,
            pid,
            None,
            None,
            suggestions=suggestions,
            emergency=result.emergency,
            triageId=triage_id,
            symptoms=symptoms,
        ),
    )


@router.post("/app/booking/book")
def book_slot(
    request: Request,
    slot: Annotated[str, Form(max_length=100)] = "",
    patient: Annotated[str, Form(max_length=64)] = "",
    triage_id: Annotated[str, Form(alias="triage", max_length=64)] = "",
    department: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient or None)
    try:
        book(repo, BookingRequest(slot, pid, triage=triage_id or None))
    except OperationOutcomeError as exc:
        page = _booking_page(
            repo,
            pid,
            department or None,
            None,
            problem=exc.issues[0].diagnostics,
            problemCode=exc.code,
        )
        page.status = exc.status
        return render(request, page)
    done = _appointments_page(repo, pid, notice="booking.booked")
    return after_post(request, done, f"/app/me/appointments?patient={pid}&done=booked")


NOTICES = {"booked": "booking.booked", "cancelled": "booking.cancelled"}


def _appointments_page(repo: Repository, pid: str, **extra: Any) -> Page:
    data = {
        "people": records.people_in_care(repo, pid),
        "patientId": pid,
        "appointments": appointment_rows(repo, pid),
        **extra,
    }
    return Page("booking/appointments", "booking.appointments.title", data)


@router.get("/app/me/appointments")
def my_appointments(
    request: Request,
    patient: Short = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, patient)
    return render(request, _appointments_page(repo, pid, notice=NOTICES.get(done or "")))


@router.post("/app/me/appointments/{appointment_id}/cancel")
def cancel_appointment(request: Request, appointment_id: str) -> Response:
    repo = repository(request)
    pid = records.patient_in_care(repo.caller, None)
    try:
        stored = cancel(repo, appointment_id[:64], "patient request (web)")
    except OperationOutcomeError as exc:
        page = _appointments_page(repo, pid, problem=exc.issues[0].diagnostics)
        page.status = exc.status
        return render(request, page)
    for p in stored.resource.get("participant") or []:
        ref = str((p.get("actor") or {}).get("reference") or "")
        if ref.startswith("Patient/"):
            pid = records.patient_in_care(repo.caller, ref.removeprefix("Patient/"))
    done = _appointments_page(repo, pid, notice=NOTICES["cancelled"])
    return after_post(request, done, f"/app/me/appointments?patient={pid}&done=cancelled")
