"""Slots held for a referral (DOMAIN.md §4.5, the Marley pattern: a referral reserves a slot).

When a clinician refers a patient, the earliest free slot of the receiving department in the
referral share is held: the Appointment is ``pending`` (the department has not accepted yet,
https://hl7.org/fhir/R4/valueset-appointmentstatus.html) and its Slot ``busy-tentative``, so
nobody else can book it. Accepting the referral books it (``booked`` / ``busy``); declining or
cancelling the referral frees the slot for the pool again.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ..errors import OperationOutcomeError, error
from ..store import Repository, Stored
from .booking import BookingRequest, _keep_tags, _slot_ids, _taken, book, read_slot
from .calendar import local_now
from .find import Offer, SlotQuery, find_slots


def referral_offers(
    repo: Repository,
    organization: str,
    department: str,
    service: str,
    within_days: int,
    urgent: bool = False,
) -> list[Offer]:
    """The free slots of ``service`` (``HealthcareService/id``) a referral may hold within
    ``within_days``, in the order to try them: those kept for the referral share first (one
    search when it finds any), then the earliest the referral channel may book; for an
    ``urgent`` referral the earliest of all. Read-only, so it runs before the referral's unit
    of work and does not hold SQLite's writer while it searches."""
    today: date = local_now(repo.store.clock.now_us()).date()
    mine: list[Offer] = []
    for reserved_only in (False,) if urgent else (True, False):
        offers = find_slots(
            repo.elevated(),
            SlotQuery(
                department=department or None,
                organization=organization,
                first=today,
                last=today + timedelta(days=within_days),
                channel="referral",
                count=20,
                reserved_only=reserved_only,
            ),
        )
        mine += [o for o in offers if f"HealthcareService/{o.service}" == service]
        if mine:
            break
    return mine


def hold_first(repo: Repository, offers: list[Offer], patient: str, referral: str) -> Stored | None:
    """Hold the first of ``offers`` still free for the patient's referral (a pending
    appointment on a busy-tentative slot); None when none can be held."""
    for offer in offers:
        try:
            return book(
                repo,
                BookingRequest(
                    slot=offer.slot,
                    patient=patient,
                    channel="referral",
                    referral=referral,
                    hold=True,
                ),
            )
        except OperationOutcomeError as exc:
            if exc.code == "CH-9113":  # the patient holds too many appointments: no slot will do
                return None
            # taken meanwhile, or the patient already holds that department's day: next one
            if exc.code not in ("CH-9101", "CH-9106"):
                raise
    return None


def _update(platform: Repository, stored: Stored, body: dict[str, Any]) -> Stored:
    body.pop("meta", None)
    body = _keep_tags(stored.resource, body)
    return platform.update("Appointment", stored.id, body, if_match=stored.version)[0]


def confirm_hold(repo: Repository, appointment_id: str) -> Stored:
    """Book a held appointment: ``pending`` → ``booked``, its slot ``busy``."""
    platform = repo.elevated()
    with platform.transaction():
        stored = platform.read("Appointment", appointment_id)
        body = dict(stored.resource)
        if body.get("status") != "pending":
            raise error(
                "CH-9110",
                f"Appointment/{appointment_id} is {body.get('status')}, not held (pending)",
            )
        body["status"] = "booked"
        body["participant"] = [{**p, "status": "accepted"} for p in body.get("participant") or []]
        for sid in _slot_ids(body):
            slot = read_slot(platform, sid)
            if slot.status == "busy-tentative":
                platform.update(
                    "Slot", sid, _taken(slot, "busy", slot.holder), if_match=slot.version
                )
        return _update(platform, stored, body)


def release_hold(repo: Repository, appointment_id: str, reason: str) -> Stored | None:
    """Cancel a held (or booked) referral appointment and free its slot; None when it is
    no longer open (already attended, cancelled or missed)."""
    platform = repo.elevated()
    with platform.transaction():
        stored = platform.read("Appointment", appointment_id)
        body = dict(stored.resource)
        if body.get("status") not in ("pending", "booked"):
            return None
        body["status"] = "cancelled"
        body["cancelationReason"] = {"text": reason[:200]}
        for sid in _slot_ids(body):
            slot = read_slot(platform, sid)
            if slot.status in ("busy", "busy-tentative"):
                platform.update("Slot", sid, _taken(slot, "free"), if_match=slot.version)
        return _update(platform, stored, body)
