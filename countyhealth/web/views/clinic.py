"""Front desk and consulting-room pages: check-in, a room's queue, calling, the call screen.

``/app/clinic`` checks a patient in (e-health card QR or ID number) and lists the rooms of the
caller's organisation; ``/app/clinic/rooms/{id}`` shows a room's queue and calls the next
patient; ``/app/clinic/rooms/{id}/screen`` is the waiting-room display, refreshed every few
seconds by htmx polling. Rights come from the role's privileges (check-in, call-queue).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...errors import OperationOutcomeError, forbidden
from ...scheduling import call_next, check_in, room_queue
from ...scheduling.queue import QueueEntry
from ...scheduling.rooms import rooms_of
from ...security.masking import mask_name
from ...store import Repository
from ..rendering import Page, render
from ..routing import PageRoute, after_post, repository

router = APIRouter(
    prefix="/app/clinic",
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)

#: how often the call screen asks for news
SCREEN_REFRESH_SECONDS = 3


def _organization(repo: Repository) -> str:
    org = repo.caller.organization
    if not org:
        raise forbidden("the clinic pages are for staff of a member institution")
    return org


def _clinic_page(repo: Repository, **extra: Any) -> Page:
    org = _organization(repo)
    data = {"rooms": rooms_of(repo, org), **extra}
    return Page("clinic/clinic", "clinic.title", data)


@router.get("")
def clinic(request: Request) -> Response:
    return render(request, _clinic_page(repository(request)))


@router.post("/check-in")
def check_in_patient(
    request: Request,
    code: Annotated[str, Form(max_length=400)] = "",
    priority: Annotated[str, Form(max_length=20)] = "",
    pin: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    repo = repository(request)
    try:
        stored = check_in(repo, code, priority or None, pin or None)
    except OperationOutcomeError as exc:
        page = _clinic_page(repo, problem=exc.issues[0].diagnostics, code=exc.code)
        page.status = exc.status
        return render(request, page)
    entry = QueueEntry.of(stored.resource)
    room = next(
        (str(loc["location"]["reference"]) for loc in stored.resource.get("location") or []),
        "",
    )
    return render(
        request,
        _clinic_page(
            repo,
            checkedIn={"number": entry.number, "reason": entry.reason, "room": room},
        ),
    )


def _people(repo: Repository, entries: list[QueueEntry]) -> dict[str, str]:
    names: dict[str, str] = {}
    for e in entries:
        pid = e.patient.removeprefix("Patient/")
        if pid and pid not in names:
            patient = repo.read("Patient", pid).resource
            text = next((n.get("text") for n in patient.get("name") or [] if n.get("text")), "")
            names[pid] = mask_name(str(text)) if text else "—"
    return names


def _entry(e: QueueEntry, names: dict[str, str]) -> dict[str, Any]:
    return {
        "number": e.number,
        "name": names.get(e.patient.removeprefix("Patient/"), "—"),
        "reason": e.reason,
        "checkedIn": e.checked_in.isoformat(),
    }


def _room_page(repo: Repository, room_id: str, name: str = "queue", **extra: Any) -> Page:
    org = _organization(repo)
    room = repo.read("Location", room_id).resource
    owner = str((room.get("managingOrganization") or {}).get("reference") or "")
    if owner != org:
        raise forbidden(f"Location/{room_id} belongs to another organisation")
    queue = room_queue(repo, f"Location/{room_id}")
    names = _people(repo, [*queue.waiting, *([queue.serving] if queue.serving else [])])
    data = {
        "room": {"id": room_id, "name": room.get("name") or room_id},
        "serving": _entry(queue.serving, names) if queue.serving else None,
        "waiting": [_entry(e, names) for e in queue.waiting],
        "seen": len(queue.done),
        "minutesPerPatient": queue.minutes_per_patient,
        "refreshSeconds": SCREEN_REFRESH_SECONDS,
        **extra,
    }
    title = "clinic.screen.title" if name == "screen" else "clinic.queue.title"
    return Page(f"clinic/{name}", title, data)


@router.get("/rooms/{room_id}")
def room(request: Request, room_id: str) -> Response:
    return render(request, _room_page(repository(request), room_id[:64]))


@router.post("/rooms/{room_id}/call-next")
def call(request: Request, room_id: str) -> Response:
    repo = repository(request)
    room_id = room_id[:64]
    called = call_next(repo, f"Location/{room_id}")
    notice = "clinic.queue.called" if called is not None else "clinic.queue.empty"
    page = _room_page(repo, room_id, notice=notice)
    return after_post(request, page, f"/app/clinic/rooms/{room_id}")


@router.get("/rooms/{room_id}/screen")
def screen(request: Request, room_id: str) -> Response:
    return render(request, _room_page(repository(request), room_id[:64], "screen"))
