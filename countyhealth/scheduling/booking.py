"""Booking, cancelling, rescheduling and no-shows: the Appointment side of the slot pool.

``book`` takes one Slot and creates the Appointment in one unit of work: under SQLite's single
writer, or on PostgreSQL under a lock on the patient plus the If-Match update of the Slot, two
bookings of one slot cannot both succeed and one patient cannot exceed the limits by booking
twice at once. A slot already taken is refused before any write (the flash crowd at release
time is mostly such refusals). The patient's limits are checked and both resources validated
and indexed before the transaction (:meth:`Repository.prepare_update`); inside it the Slot is
written only if it is still at the version read, and the limits are checked again only if the
stamp of the patient's appointments moved. See https://hl7.org/fhir/R4/appointment.html and the
appointment workflow https://hl7.org/fhir/R4/workflow-ad-hoc.html (Slot → Appointment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..errors import OperationOutcomeError, error, not_found
from ..fhir import systems
from ..fhir.consent_grants import with_custodian
from ..store import Repository, Stored, stamp_of
from .calendar import fhir_datetime, local_now, parse_datetime
from .entitlement import Channel, booking_channel, require_privilege
from .pool import PoolSlot, holder_key
from .rules import PoolRules, pool_rules
from .slot_gate import slot_gate
from .triage_record import record_acceptance

#: Appointment states that hold a slot
HOLDING = ("booked", "arrived", "fulfilled")
#: states still to be attended
OPEN = ("booked", "arrived")


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """``$book``: the slot, the patient and optionally the channel, the referral
    ServiceRequest (for the referral share) and the triage QuestionnaireResponse."""

    slot: str
    patient: str
    channel: str | None = None
    referral: str | None = None
    triage: str | None = None
    #: hold the slot for a referral until the receiving department accepts: the Appointment
    #: is ``pending`` and the Slot ``busy-tentative`` (see :mod:`.holds`)
    hold: bool = False


def _now(repo: Repository) -> datetime:
    return local_now(repo.store.clock.now_us())


def read_slot(repo: Repository, slot_id: str) -> PoolSlot:
    stored = _slot_version(repo, slot_id)
    return PoolSlot.of(stored.resource, stored.version)


def _slot_version(repo: Repository, slot_id: str) -> Stored:
    try:
        return repo.read("Slot", slot_id)
    except OperationOutcomeError as exc:
        if exc.status in (404, 410):
            raise error("CH-9114", f"Slot/{slot_id} does not exist", "slot") from exc
        raise


def schedule_actors(repo: Repository, slot: PoolSlot) -> tuple[dict[str, Any], str | None]:
    """The HealthcareService whose Schedule the slot belongs to, and its room (Location)."""
    schedule = repo.read("Schedule", slot.schedule.removeprefix("Schedule/")).resource
    service: dict[str, Any] | None = None
    room: str | None = None
    for actor in schedule.get("actor") or []:
        ref = str(actor.get("reference") or "")
        if ref.startswith("HealthcareService/") and service is None:
            service = repo.read(
                "HealthcareService", ref.removeprefix("HealthcareService/")
            ).resource
        elif ref.startswith("Location/") and room is None:
            room = ref
    if service is None:
        raise error("CH-9114", f"Slot/{slot.id}: its Schedule names no HealthcareService", "slot")
    return service, room


def _check_slot(
    repo: Repository, slot: PoolSlot, patient: str, channel: Channel, now: datetime
) -> None:
    if slot.status != "free":
        if slot.status in ("busy", "busy-tentative"):
            if slot.holder == holder_key(repo.store.settings.secret_key, patient):
                raise error("CH-9106", f"Patient/{patient} already holds Slot/{slot.id}", "slot")
            raise error("CH-9101", f"Slot/{slot.id} was taken by someone else", "slot")
        raise error("CH-9103", f"Slot/{slot.id} is closed ({slot.status})", "slot")
    if slot.past(now):
        raise error("CH-9102", f"Slot/{slot.id} ended at {fhir_datetime(slot.end)}", "slot")
    if not slot.released(now):
        assert slot.release is not None
        raise error(
            "CH-9104",
            f"Slot/{slot.id} opens for booking at {fhir_datetime(slot.release)}",
            "slot",
        )
    reserved = slot.reserved_for(now)
    if reserved is not None and channel.pool != reserved:
        until = fhir_datetime(slot.reserved_until) if slot.reserved_until else "its start"
        raise error(
            "CH-9105",
            f"Slot/{slot.id} is kept for {reserved} booking until {until}",
            "slot",
        )


def _check_referral(repo: Repository, request: BookingRequest, channel: Channel) -> None:
    if channel.code != "referral":
        return
    if not request.referral:
        raise error("CH-9114", "a referral booking names its ServiceRequest", "referral")
    order = repo.read("ServiceRequest", request.referral.removeprefix("ServiceRequest/")).resource
    subject = str((order.get("subject") or {}).get("reference") or "")
    if subject != f"Patient/{request.patient}" or order.get("status") != "active":
        raise error(
            "CH-9114",
            f"ServiceRequest/{order.get('id')} is not an active referral of Patient/{request.patient}",
            "referral",
        )


def _recent_appointments(repo: Repository, patient: str, now: datetime) -> list[dict[str, Any]]:
    """The patient's appointments that are open or were missed within the no-show window (one
    read serves both the limits and the suspension)."""
    return _recent(repo, repo.referring("Appointment", "patient", f"Patient/{patient}"), now)


def _recent(repo: Repository, appointments: list[Stored], now: datetime) -> list[dict[str, Any]]:
    """Of a patient's appointments, those open or missed within the no-show window."""
    days = repo.store.settings.booking_no_show_window_days
    since = (now - timedelta(days=days + 1)).date()
    return [
        a.resource
        for a in appointments
        if a.resource.get("status") in (*OPEN, "noshow")
        and parse_datetime(a.resource["start"]).date() >= since
    ]


def _service_ref(appointment: dict[str, Any]) -> str:
    for p in appointment.get("participant") or []:
        ref = str((p.get("actor") or {}).get("reference") or "")
        if ref.startswith("HealthcareService/"):
            return ref
    return ""


def _check_patient(
    repo: Repository,
    patient: str,
    appointments: list[Stored],
    service_id: str,
    slot: PoolSlot,
    channel: Channel,
    rules: PoolRules,
    now: datetime,
) -> None:
    """The patient's limits, from all their appointments (:meth:`Repository.referring`)."""
    recent = _recent(repo, appointments, now)
    held = [a for a in recent if a.get("status") in OPEN and parse_datetime(a["end"]) > now]
    same_day = [
        a
        for a in held
        if _service_ref(a) == f"HealthcareService/{service_id}"
        and parse_datetime(a["start"]).date() == slot.start.date()
    ]
    if len(same_day) >= rules.max_per_service_per_day:
        raise error(
            "CH-9106",
            f"Patient/{patient} already has an appointment at this department on "
            f"{slot.start.date().isoformat()}",
            "patient",
        )
    if len(held) >= rules.max_open_appointments:
        raise error(
            "CH-9113",
            f"Patient/{patient} holds {len(held)} open appointments "
            f"(at most {rules.max_open_appointments})",
            "patient",
        )
    if channel.code == "online":
        until = _suspension_end(repo, [a for a in recent if a.get("status") == "noshow"], now)
        if until is not None:
            raise error(
                "CH-9107",
                f"online booking for Patient/{patient} is suspended until "
                f"{until.date().isoformat()} after repeated no-shows; book at a registration desk",
                "patient",
            )


def suspended_until(repo: Repository, patient: str, now: datetime) -> datetime | None:
    """When a suspension of online booking for no-shows ends; None when not suspended."""
    missed = [a for a in _recent_appointments(repo, patient, now) if a.get("status") == "noshow"]
    return _suspension_end(repo, missed, now)


def _suspension_end(
    repo: Repository, missed: list[dict[str, Any]], now: datetime
) -> datetime | None:
    settings = repo.store.settings
    since = now - timedelta(days=settings.booking_no_show_window_days)
    starts = [s for s in (parse_datetime(a["start"]) for a in missed) if s >= since]
    if len(starts) < settings.booking_no_show_limit:
        return None
    until = max(starts) + timedelta(days=settings.booking_suspension_days)
    return until if until > now else None


def _appointment(
    slot: PoolSlot,
    service: dict[str, Any],
    room: str | None,
    request: BookingRequest,
    channel: Channel,
    now: datetime,
) -> dict[str, Any]:
    participants: list[dict[str, Any]] = [
        {
            "actor": {"reference": f"Patient/{request.patient}"},
            "required": "required",
            "status": "accepted",
        },
        {
            "actor": {
                "reference": f"HealthcareService/{service['id']}",
                "display": service.get("name"),
            },
            "required": "required",
            "status": "tentative" if request.hold else "accepted",
        },
    ]
    if room:
        participants.append({"actor": {"reference": room}, "status": "accepted"})
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "extension": [
            {
                "url": systems.EXT_BOOKING_CHANNEL,
                "valueCoding": {"system": systems.BOOKING_CHANNEL, "code": channel.code},
            }
        ],
        "identifier": [{"system": systems.QUEUE_NUMBER, "value": slot.number}],
        "status": "pending" if request.hold else "booked",
        "serviceType": slot.resource.get("serviceType") or [],
        "start": fhir_datetime(slot.start),
        "end": fhir_datetime(slot.end),
        "created": fhir_datetime(now),
        "slot": [{"reference": f"Slot/{slot.id}"}],
        "participant": participants,
    }
    if request.referral:
        body["basedOn"] = [
            {"reference": f"ServiceRequest/{request.referral.removeprefix('ServiceRequest/')}"}
        ]
    if request.triage:
        body["supportingInformation"] = [
            {
                "reference": "QuestionnaireResponse/"
                + request.triage.removeprefix("QuestionnaireResponse/")
            }
        ]
    provider = str((service.get("providedBy") or {}).get("reference") or "")
    if provider:
        with_custodian(body, provider)
    return body


def _taken(slot: PoolSlot, status: str, holder: str | None = None) -> dict[str, Any]:
    """The slot's body with ``status`` and, when taken, its holder's keyed hash."""
    body = dict(slot.resource)
    body["status"] = status
    body.pop("meta", None)
    body["extension"] = [
        e for e in body.get("extension") or [] if e.get("url") != systems.EXT_SLOT_HOLDER
    ]
    if holder is not None:
        body["extension"].append({"url": systems.EXT_SLOT_HOLDER, "valueString": holder})
    return body


def _caller_checks(
    repo: Repository, request: BookingRequest
) -> tuple[Channel, Repository, datetime]:
    repo.require("Appointment", "create")
    channel = booking_channel(repo.caller, request.patient, request.channel)
    platform = repo.elevated()
    now = _now(repo)
    if repo.caller.access != "compartment":  # a resident's patients come from their account
        platform.read("Patient", request.patient)
    return channel, platform, now


def refuse_early(repo: Repository, request: BookingRequest) -> None:
    """The refusals :func:`book` can give from a read of the slot, without a transaction (a
    slot taken, closed, ended, not released or reserved; no right to book): for a crowd,
    where most attempts find their slot already taken. :func:`book` checks them again."""
    channel, platform, now = _caller_checks(repo, request)
    _check_slot(platform, read_slot(platform, request.slot), request.patient, channel, now)


def book(repo: Repository, request: BookingRequest) -> Stored:
    """``$book``: take the slot for the patient and create the booked Appointment.

    Raises:
        OperationOutcomeError: CH-9101 (taken, 409), CH-9102 (ended), CH-9103 (closed),
            CH-9104 (not released), CH-9105 (reserved share), CH-9106 (the patient holds it
            or another slot of the department that day), CH-9107 (suspended),
            CH-9113 (too many open appointments), CH-9114 (bad request), CH-4003/CH-4013.
    """
    channel, platform, now = _caller_checks(repo, request)
    patient = f"Patient/{request.patient}"
    # Attempts on one slot go through this process one at a time: the others find it taken
    # with one read instead of queueing for the write lock.
    with slot_gate(request.slot):
        current = _slot_version(platform, request.slot)
        slot = PoolSlot.of(current.resource, current.version)
        _check_slot(platform, slot, request.patient, channel, now)
        _check_referral(repo, request, channel)
        rules = pool_rules(now.date())
        service, room = schedule_actors(platform, slot)
        # Everything that needs no lock is done first: the patient's limits (confirmed inside
        # the transaction by the stamp of their appointments) and both resources, validated
        # and indexed. The transaction then only writes rows.
        mine = platform.referring("Appointment", "patient", patient)
        stamp = stamp_of(mine)
        service_id = str(service["id"])
        _check_patient(platform, request.patient, mine, service_id, slot, channel, rules, now)
        holder = holder_key(repo.store.settings.secret_key, request.patient)
        taken = platform.prepare_update(
            current, _taken(slot, "busy-tentative" if request.hold else "busy", holder)
        )
        appointment = platform.prepare_create(
            _appointment(slot, service, room, request, channel, now)
        )
        with platform.transaction():
            platform.lock("Patient", request.patient)
            if platform.referring_versions("Appointment", "patient", patient) != stamp:
                mine = platform.referring("Appointment", "patient", patient)
                _check_patient(
                    platform, request.patient, mine, service_id, slot, channel, rules, now
                )
            try:
                stored = platform.write_versions([taken, appointment])[1]
            except OperationOutcomeError as exc:
                if exc.code in ("CH-2008", "CH-2009"):  # the slot changed after it was read
                    _check_slot(
                        platform, read_slot(platform, slot.id), request.patient, channel, now
                    )
                    raise error(
                        "CH-9101", f"Slot/{slot.id} was taken by someone else", "slot"
                    ) from exc
                raise
    if request.triage:
        department = next(
            (
                str(c.get("code"))
                for concept in slot.resource.get("serviceType") or []
                for c in concept.get("coding") or []
                if c.get("system") == systems.DEPARTMENT
            ),
            "",
        )
        record_acceptance(repo, request.triage, department)
    return stored


def _read_appointment(repo: Repository, appointment_id: str) -> Stored:
    """The Appointment as the caller may see it (their own, or their organisation's)."""
    return repo.read("Appointment", appointment_id)


def _slot_ids(appointment: dict[str, Any]) -> list[str]:
    return [
        str(s.get("reference")).removeprefix("Slot/")
        for s in appointment.get("slot") or []
        if str(s.get("reference") or "").startswith("Slot/")
    ]


def _release_slots(platform: Repository, appointment: dict[str, Any], now: datetime) -> None:
    for sid in _slot_ids(appointment):
        slot = read_slot(platform, sid)
        if slot.status in ("busy", "busy-tentative") and not slot.past(now):
            platform.update("Slot", sid, _taken(slot, "free"), if_match=slot.version)


def _check_changeable(appointment: dict[str, Any], rules: PoolRules, now: datetime) -> None:
    if appointment.get("status") != "booked":
        raise error(
            "CH-9110",
            f"Appointment/{appointment.get('id')} is {appointment.get('status')}; only a booked "
            "appointment can be cancelled or changed",
        )
    limit = parse_datetime(appointment["start"]) - timedelta(
        minutes=rules.cancel_until_minutes_before
    )
    if now > limit:
        raise error(
            "CH-9108",
            f"changes close {rules.cancel_until_minutes_before} minutes before the appointment "
            f"({fhir_datetime(limit)})",
        )


def cancel(repo: Repository, appointment_id: str, reason: str | None = None) -> Stored:
    """Cancel a booked appointment (up to the rules' limit before it) and free its slot."""
    repo.require("Appointment", "update")
    _read_appointment(repo, appointment_id)  # the caller must see it to cancel it
    now = _now(repo)
    rules = pool_rules(now.date())
    platform = repo.elevated()
    with platform.transaction():
        stored = platform.read("Appointment", appointment_id)
        appointment = dict(stored.resource)
        _check_changeable(appointment, rules, now)
        appointment.pop("meta", None)
        appointment["status"] = "cancelled"
        appointment["cancelationReason"] = {"text": (reason or "patient request")[:200]}
        appointment = _keep_tags(stored.resource, appointment)
        _release_slots(platform, stored.resource, now)
        return platform.update("Appointment", appointment_id, appointment, if_match=stored.version)[
            0
        ]


def _keep_tags(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    tags = (old.get("meta") or {}).get("tag")
    if tags:
        new["meta"] = {"tag": tags}
    return new


def _changes(platform: Repository, appointment: dict[str, Any]) -> int:
    count = 0
    current = appointment
    while count < 20:
        source = next(
            (
                e.get("valueReference", {}).get("reference")
                for e in current.get("extension") or []
                if e.get("url") == systems.EXT_RESCHEDULED_FROM
            ),
            None,
        )
        if not source:
            return count
        count += 1
        current = platform.read("Appointment", str(source).removeprefix("Appointment/")).resource
    return count


def reschedule(repo: Repository, appointment_id: str, slot_id: str) -> Stored:
    """Move a booked appointment to another slot: one unit of work books the new slot and
    cancels the old appointment, within the rules' limits on time and number of changes."""
    repo.require("Appointment", "update")
    current = _read_appointment(repo, appointment_id).resource
    now = _now(repo)
    rules = pool_rules(now.date())
    platform = repo.elevated()
    patient = next(
        str(p["actor"]["reference"]).removeprefix("Patient/")
        for p in current.get("participant") or []
        if str((p.get("actor") or {}).get("reference") or "").startswith("Patient/")
    )
    channel = next(
        (
            str(e["valueCoding"]["code"])
            for e in current.get("extension") or []
            if e.get("url") == systems.EXT_BOOKING_CHANNEL
        ),
        None,
    )
    if _changes(platform, current) >= rules.max_reschedules:
        raise error(
            "CH-9109",
            f"Appointment/{appointment_id} was changed {rules.max_reschedules} time(s) already; "
            "cancel it and book again",
        )
    with platform.transaction():
        old = cancel(repo, appointment_id, "rescheduled")
        if repo.caller.access == "compartment" or repo.caller.kind == "client":
            channel = None
        new = book(
            repo,
            BookingRequest(
                slot=slot_id,
                patient=patient,
                channel=channel,
                referral=_based_on(current),
            ),
        )
        body = dict(new.resource)
        body["extension"] = [
            *(body.get("extension") or []),
            {"url": systems.EXT_RESCHEDULED_FROM, "valueReference": {"reference": old.reference}},
        ]
        body.pop("meta", None)
        body = _keep_tags(new.resource, body)
        return platform.update("Appointment", new.id, body, if_match=new.version)[0]


def _based_on(appointment: dict[str, Any]) -> str | None:
    for ref in appointment.get("basedOn") or []:
        return str(ref.get("reference"))
    return None


def mark_no_show(repo: Repository, appointment_id: str) -> Stored:
    """Record that the patient did not come: a booked appointment whose slot has ended."""
    repo.require("Appointment", "update")
    require_privilege(repo, "check-in")
    stored = _read_appointment(repo, appointment_id)
    now = _now(repo)
    appointment = dict(stored.resource)
    if appointment.get("status") != "booked":
        raise error(
            "CH-9110",
            f"Appointment/{appointment_id} is {appointment.get('status')}, not booked",
        )
    if parse_datetime(appointment["end"]) > now:
        raise error("CH-9110", f"Appointment/{appointment_id} has not ended yet")
    appointment["status"] = "noshow"
    appointment.pop("meta", None)
    appointment = _keep_tags(stored.resource, appointment)
    return repo.elevated().update(
        "Appointment", appointment_id, appointment, if_match=stored.version
    )[0]


def appointment_of(repo: Repository, appointment_id: str) -> dict[str, Any]:
    try:
        return repo.read("Appointment", appointment_id).resource
    except OperationOutcomeError as exc:
        if exc.status == 404:
            raise not_found("Appointment", appointment_id) from exc
        raise
