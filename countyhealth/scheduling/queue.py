"""Check-in, the queue of a consulting room, calling the next patient.

Checking in turns the day's booked Appointment into ``arrived`` and opens the queue entry: an
Encounter in status ``arrived`` at the department's room, with the slot's queue number, the
priority reason and its sort weight (pool rules). The queue is ordered by weight (highest
first), then check-in time (OpenMRS queue module, DOMAIN.md §4.6). Calling the next patient
moves the first entry to ``in-progress`` and finishes whoever was being seen in that room;
``Encounter.statusHistory`` keeps when each state began, from which the wait (called −
checked in) is measured. See https://hl7.org/fhir/R4/encounter.html#statemachine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from ..errors import error, forbidden
from ..fhir import systems
from ..fhir.consent_grants import with_custodian
from ..records.patients import find_patients
from ..records.query import find
from ..store import Repository, Stored
from .booking import read_slot, schedule_actors
from .calendar import fhir_datetime, local_now, parse_datetime
from .entitlement import require_privilege
from .rules import PoolRules, pool_rules

PRIORITY_REASONS = ("emergency", "referral", "aged-80", "disability", "routine")
_ACT_PRIORITY = {"emergency": "EM", "referral": "UR"}


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One patient in a room's queue."""

    encounter: str
    patient: str
    number: str
    status: str
    reason: str
    weight: int
    checked_in: datetime
    called: datetime | None
    appointment: str

    @classmethod
    def of(cls, encounter: dict[str, Any]) -> QueueEntry:
        reason, weight = "routine", 0
        for ext in encounter.get("extension") or []:
            if ext.get("url") == systems.EXT_QUEUE_PRIORITY:
                for part in ext.get("extension") or []:
                    if part.get("url") == "reason":
                        reason = str(part["valueCoding"]["code"])
                    elif part.get("url") == "weight":
                        weight = int(part["valueInteger"])
        arrived = called = None
        for step in encounter.get("statusHistory") or []:
            period = step.get("period") or {}
            if step.get("status") == "arrived" and period.get("start"):
                arrived = parse_datetime(period["start"])
                # the call ends the wait, whatever came after it
                called = parse_datetime(period["end"]) if period.get("end") else called
        period_start = (encounter.get("period") or {}).get("start")
        return cls(
            encounter=str(encounter["id"]),
            patient=str((encounter.get("subject") or {}).get("reference") or ""),
            number=next(
                (
                    str(i.get("value"))
                    for i in encounter.get("identifier") or []
                    if i.get("system") == systems.QUEUE_NUMBER
                ),
                "",
            ),
            status=str(encounter.get("status")),
            reason=reason,
            weight=weight,
            checked_in=arrived or parse_datetime(str(period_start)),
            called=called,
            appointment=next(
                (str(a.get("reference")) for a in encounter.get("appointment") or []), ""
            ),
        )

    @property
    def order(self) -> tuple[int, datetime, str]:
        return (-self.weight, self.checked_in, self.encounter)


def _now(repo: Repository) -> datetime:
    return local_now(repo.store.clock.now_us())


def _priority(
    patient: dict[str, Any],
    appointment: dict[str, Any],
    asked: str | None,
    rules: PoolRules,
    today: date,
) -> tuple[str, int]:
    """The strongest reason that applies: asked by the desk (emergency, disability), a
    referral booking, or age at or above the rules' threshold."""
    reasons = ["routine"]
    if asked:
        if asked not in ("emergency", "disability"):
            raise error("CH-9114", "priority must be 'emergency' or 'disability'", "priority")
        reasons.append(asked)
    if appointment.get("basedOn") or any(
        e.get("url") == systems.EXT_BOOKING_CHANNEL and e["valueCoding"]["code"] == "referral"
        for e in appointment.get("extension") or []
    ):
        reasons.append("referral")
    born = patient.get("birthDate")
    if isinstance(born, str) and len(born) >= 10:
        birth = date.fromisoformat(born[:10])
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if age >= rules.aged_priority_years:
            reasons.append("aged-80")
    best = max(reasons, key=lambda r: rules.queue_weights.get(r, 0))
    return best, rules.queue_weights.get(best, 0)


def _patient_id(repo: Repository, scanned: str, pin: str | None) -> str:
    matches = find_patients(repo, scanned, count=3, channel="check-in", pin=pin)
    if matches.kind not in ("health-card", "id-number"):
        raise error(
            "CH-9114",
            "check in with the e-health card QR or the ID-card number",
            "code",
        )
    if len(matches.patients) != 1:
        raise error("CH-9111", "no resident with this card or ID number", "code")
    return str(matches.patients[0]["id"])


def checkable_appointments(
    repo: Repository, patient: str, organization: str, now: datetime, open_minutes: int
) -> list[dict[str, Any]]:
    """The patient's booked appointments at departments of ``organization`` that start today
    (county day of ``now``) or within ``open_minutes`` from now (an appointment at 00:10 can be
    checked in at 23:30 the day before), earliest first."""
    today = datetime.combine(now.date(), datetime.min.time(), tzinfo=now.tzinfo)
    until = max(today + timedelta(days=1), now + timedelta(minutes=open_minutes))
    found = find(
        repo.elevated(),
        "Appointment",
        [
            ("patient", f"Patient/{patient}"),
            ("status", "booked"),
            ("date", f"ge{fhir_datetime(today)}"),
            ("date", f"lt{fhir_datetime(until)}"),
            ("_sort", "date"),
        ],
        count=20,
        note="check-in",
    )
    return [
        a
        for a in found.resources
        if any(
            t.get("code") == organization.removeprefix("Organization/")
            and t.get("system") == systems.CUSTODIAN
            for t in (a.get("meta") or {}).get("tag") or []
        )
    ]


def _due_now(
    appointments: list[dict[str, Any]], now: datetime, open_minutes: int
) -> dict[str, Any]:
    """The appointment to check in now: the earliest whose check-in window is open and that
    has not ended; else, when one is still to come, CH-9112 with the time its window opens;
    else the latest that ended today (a late arrival, accepted until the no-show sweep)."""
    lead = timedelta(minutes=open_minutes)
    open_now = [
        a
        for a in appointments
        if parse_datetime(a["start"]) - lead <= now < parse_datetime(a["end"])
    ]
    if open_now:
        return min(open_now, key=lambda a: parse_datetime(a["start"]))
    upcoming = [
        parse_datetime(a["start"]) for a in appointments if parse_datetime(a["start"]) > now
    ]
    if not upcoming:
        return max(appointments, key=lambda a: parse_datetime(a["end"]))
    opens = min(upcoming) - lead
    raise error(
        "CH-9112",
        f"check-in opens at {opens.strftime('%H:%M')} ({open_minutes}"
        " minutes before the appointment)",
        "code",
    )


def check_in(
    repo: Repository, scanned: str, priority: str | None = None, pin: str | None = None
) -> Stored:
    """Check a patient in by e-health card QR or ID number at the caller's organisation: the
    booked appointment there whose check-in window is open (:func:`_due_now`) becomes
    ``arrived`` and joins its room's queue. Returns the queue-entry Encounter. The card's
    printed (static) code needs its ``pin``; the use of a card is logged as ``check-in``."""
    require_privilege(repo, "check-in")
    organization = repo.caller.organization
    if not organization:
        raise forbidden("check-in happens at an organisation; the caller belongs to none")
    patient_id = _patient_id(repo, scanned.strip(), pin)
    now = _now(repo)
    rules = pool_rules(now.date())
    open_minutes = rules.check_in_open_minutes_before
    due = checkable_appointments(repo, patient_id, organization, now, open_minutes)
    if not due:
        raise error("CH-9111", "the patient has no booked appointment here today", "code")
    appointment = _due_now(due, now, open_minutes)
    platform = repo.elevated()
    patient = platform.read("Patient", patient_id).resource
    reason, weight = _priority(patient, appointment, priority, rules, now.date())
    slot = read_slot(platform, str(appointment["slot"][0]["reference"]).removeprefix("Slot/"))
    service, room = schedule_actors(platform, slot)
    with platform.transaction():
        current = platform.read("Appointment", str(appointment["id"]))
        if current.resource.get("status") != "booked":
            raise error("CH-9110", "the appointment was checked in or cancelled meanwhile")
        arrived = dict(current.resource)
        arrived["status"] = "arrived"
        platform.update("Appointment", current.id, arrived, if_match=current.version)
        encounter = _queue_entry(
            patient_id, arrived, service, room, slot.number, reason, weight, now, organization
        )
        return platform.create(encounter)


def _queue_entry(
    patient_id: str,
    appointment: dict[str, Any],
    service: dict[str, Any],
    room: str | None,
    number: str,
    reason: str,
    weight: int,
    now: datetime,
    organization: str,
) -> dict[str, Any]:
    stamp = fhir_datetime(now)
    body: dict[str, Any] = {
        "resourceType": "Encounter",
        "extension": [
            {
                "url": systems.EXT_QUEUE_PRIORITY,
                "extension": [
                    {
                        "url": "reason",
                        "valueCoding": {"system": systems.QUEUE_PRIORITY, "code": reason},
                    },
                    {"url": "weight", "valueInteger": weight},
                ],
            }
        ],
        "identifier": [{"system": systems.QUEUE_NUMBER, "value": number}],
        "status": "arrived",
        "statusHistory": [{"status": "arrived", "period": {"start": stamp}}],
        "class": {"system": systems.V3_ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [{"coding": [{"system": systems.ENCOUNTER_TYPE, "code": "outpatient"}]}],
        "serviceType": (service.get("type") or [{}])[0],
        "priority": {
            "coding": [{"system": systems.V3_ACT_PRIORITY, "code": _ACT_PRIORITY.get(reason, "R")}]
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "appointment": [{"reference": f"Appointment/{appointment['id']}"}],
        "period": {"start": stamp},
        "serviceProvider": {"reference": organization},
    }
    if room:
        body["location"] = [{"location": {"reference": room}, "status": "active"}]
    with_custodian(body, organization)
    return body


@dataclass(frozen=True, slots=True)
class RoomQueue:
    """A room's queue today: who is being seen, who waits in call order, the average time a
    consultation took today (minutes) and who was seen."""

    room: str
    serving: QueueEntry | None
    waiting: list[QueueEntry]
    done: list[QueueEntry]
    minutes_per_patient: float


def _room_encounters(repo: Repository, room: str, today: date) -> list[dict[str, Any]]:
    found = find(
        repo,
        "Encounter",
        [
            ("location", room),
            ("date", f"ge{today.isoformat()}"),
            ("date", f"lt{(today + timedelta(days=1)).isoformat()}"),
            ("class", "AMB"),
        ],
        count=1000,
        note="queue",
    )
    return found.resources


def room_queue(repo: Repository, room: str, default_minutes: float = 10.0) -> RoomQueue:
    """The queue of ``room`` (``Location/…``) today, as the caller may read it."""
    now = _now(repo)
    entries = [QueueEntry.of(e) for e in _room_encounters(repo, room, now.date())]
    waiting = sorted((e for e in entries if e.status == "arrived"), key=lambda e: e.order)
    serving = [e for e in entries if e.status == "in-progress"]
    done = sorted(
        (e for e in entries if e.status == "finished" and e.called),
        key=lambda e: e.called or now,
    )
    called = sorted(
        (e.called for e in entries if e.called is not None),
    )
    gaps = [(b - a).total_seconds() / 60 for a, b in pairwise(called)]
    minutes = sum(gaps) / len(gaps) if len(gaps) >= 2 else default_minutes
    return RoomQueue(
        room,
        max(serving, key=lambda e: e.called or now) if serving else None,
        waiting,
        done,
        round(minutes, 1),
    )


def call_next(repo: Repository, room: str) -> Stored | None:
    """Call the first patient of ``room``'s queue; whoever was being seen there is finished.
    Returns the called queue entry, or None when nobody waits."""
    require_privilege(repo, "call-queue")
    platform = repo.elevated()
    location = platform.read("Location", room.removeprefix("Location/")).resource
    owner = str((location.get("managingOrganization") or {}).get("reference") or "")
    if repo.caller.kind != "system" and owner != repo.caller.organization:
        raise forbidden(f"{room} belongs to {owner or 'no organisation'}")
    now = _now(repo)
    stamp = fhir_datetime(now)
    with platform.transaction():
        platform.lock("Location", room)
        encounters = _room_encounters(platform, room, now.date())
        for body in encounters:
            if body.get("status") == "in-progress":
                done = dict(body)
                done["status"] = "finished"
                done["period"] = {**(body.get("period") or {}), "end": stamp}
                done["statusHistory"] = [
                    *_closed_history(body, stamp),
                ]
                platform.update("Encounter", str(body["id"]), _strip_meta(done, body))
        waiting = sorted(
            (QueueEntry.of(e) for e in encounters if e.get("status") == "arrived"),
            key=lambda e: e.order,
        )
        if not waiting:
            return None
        first = next(e for e in encounters if e["id"] == waiting[0].encounter)
        called = dict(first)
        called["status"] = "in-progress"
        called["statusHistory"] = _closed_history(first, stamp)
        stored = platform.update("Encounter", str(first["id"]), _strip_meta(called, first))[0]
        appointment_id = waiting[0].appointment.removeprefix("Appointment/")
        if appointment_id:
            appt = platform.read("Appointment", appointment_id)
            if appt.resource.get("status") == "arrived":
                seen = dict(appt.resource)
                seen["status"] = "fulfilled"
                platform.update(
                    "Appointment",
                    appointment_id,
                    _strip_meta(seen, appt.resource),
                    if_match=appt.version,
                )
        return stored


def _closed_history(encounter: dict[str, Any], stamp: str) -> list[dict[str, Any]]:
    """The status history with the current status closed at ``stamp``."""
    history = []
    for step in encounter.get("statusHistory") or []:
        period = dict(step.get("period") or {})
        if step.get("status") == encounter.get("status") and "end" not in period:
            period["end"] = stamp
        history.append({**step, "period": period})
    if encounter.get("status") == "in-progress" and not any(
        s.get("status") == "in-progress" for s in history
    ):
        history.append({"status": "in-progress", "period": {"start": stamp}})
    return history


def _strip_meta(body: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in body.items() if k != "meta"}
    tags = (old.get("meta") or {}).get("tag")
    if tags:
        body["meta"] = {"tag": tags}
    return body


@dataclass(frozen=True, slots=True)
class Position:
    """Where a checked-in patient stands: ahead of them, and the estimated wait."""

    entry: QueueEntry
    ahead: int
    wait_minutes: float
    serving_number: str | None


def position(repo: Repository, appointment_id: str) -> Position | None:
    """The queue position of the patient of ``appointment_id`` (as the caller may read it:
    the resident's own appointment); None before check-in or after the call."""
    appointment = repo.read("Appointment", appointment_id).resource
    if appointment.get("status") != "arrived":
        return None
    found = find(
        repo,
        "Encounter",
        [("appointment", f"Appointment/{appointment_id}"), ("status", "arrived")],
        count=1,
    )
    if not found.resources:
        return None
    mine = QueueEntry.of(found.resources[0])
    room = next(
        (
            str(loc["location"]["reference"])
            for loc in found.resources[0].get("location") or []
            if loc.get("location")
        ),
        None,
    )
    if room is None:
        return None
    queue = room_queue(repo.elevated(aggregate=True), room)
    ahead = sum(1 for e in queue.waiting if e.order < mine.order)
    return Position(
        mine,
        ahead,
        round(ahead * queue.minutes_per_patient, 1),
        queue.serving.number if queue.serving else None,
    )
