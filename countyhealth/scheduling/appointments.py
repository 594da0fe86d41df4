"""A resident's appointments as the pages show them: upcoming first, with the queue position
once checked in."""

from __future__ import annotations

from typing import Any

from ..fhir import systems
from ..records.query import find
from ..store import Repository
from .calendar import local_now, parse_datetime
from .queue import position


def _service_name(appointment: dict[str, Any]) -> str:
    for p in appointment.get("participant") or []:
        actor = p.get("actor") or {}
        if str(actor.get("reference") or "").startswith("HealthcareService/"):
            return str(actor.get("display") or actor["reference"])
    return ""


def _number(appointment: dict[str, Any]) -> str:
    return next(
        (
            str(i.get("value"))
            for i in appointment.get("identifier") or []
            if i.get("system") == systems.QUEUE_NUMBER
        ),
        "",
    )


def appointment_rows(repo: Repository, patient: str, limit: int = 50) -> list[dict[str, Any]]:
    """The patient's appointments (newest slot first), each with what the page shows."""
    now = local_now(repo.store.clock.now_us())
    found = find(
        repo,
        "Appointment",
        [("patient", f"Patient/{patient}"), ("_sort", "-date")],
        count=limit,
    )
    rows = []
    for a in found.resources:
        start = parse_datetime(a["start"])
        row: dict[str, Any] = {
            "id": a["id"],
            "status": a.get("status"),
            "start": a["start"],
            "end": a.get("end"),
            "service": _service_name(a),
            "number": _number(a),
            "upcoming": parse_datetime(a.get("end") or a["start"]) > now,
            "cancellable": a.get("status") == "booked" and start > now,
        }
        if a.get("status") == "arrived":
            place = position(repo, str(a["id"]))
            if place is not None:
                row["queue"] = {
                    "ahead": place.ahead,
                    "waitMinutes": place.wait_minutes,
                    "serving": place.serving_number,
                }
        rows.append(row)
    return rows
