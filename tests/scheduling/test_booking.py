"""Booking, cancelling, rescheduling and no-shows against real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.scheduling import BookingRequest, book, cancel, mark_no_show, reschedule
from countyhealth.scheduling.calendar import local_now
from countyhealth.scheduling.rules import pool_rules

from .conftest import Pool


def _code(exc: pytest.ExceptionInfo[OperationOutcomeError]) -> str:
    return exc.value.code


def _next_public(pool: Pool, days_ahead: int = 1, skip: int = 0) -> str:
    """A free public slot ``days_ahead`` days from today (positions 3 and 7 are reserved)."""
    day = pool.today + timedelta(days=days_ahead)
    numbers = [n for n in range(1, 200) if n % 10 not in (3, 7)]
    return pool.slot(day, numbers[skip])


def test_generation_is_idempotent_and_follows_the_rules(pool: Pool) -> None:
    from countyhealth.scheduling import generate_pool

    again = generate_pool(pool.repo, pool.today - timedelta(days=1), 4)
    assert again.slots_created == 0
    assert again.slots_existing == 4 * 144  # an all-day session of 10-minute hospital slots
    slot = pool.repo.read("Slot", pool.slot(pool.today + timedelta(days=1), 3)).resource
    urls = [e["url"] for e in slot["extension"]]
    assert any(u.endswith("slot-reservation") for u in urls)


def test_resident_books_a_public_slot(pool: Pool) -> None:
    resident = pool.as_resident(pool.patients[1])
    stored = book(resident, BookingRequest(_next_public(pool), pool.patients[1]))
    appointment = stored.resource
    assert appointment["status"] == "booked"
    assert appointment["participant"][0]["actor"]["reference"] == f"Patient/{pool.patients[1]}"
    slot = pool.repo.read("Slot", _next_public(pool)).resource
    assert slot["status"] == "busy"
    # the resident reads their own appointment; the hospital's nurse reads it too (custodian)
    assert resident.read("Appointment", stored.id).resource["id"] == stored.id
    assert pool.as_staff("nurse").read("Appointment", stored.id).resource["status"] == "booked"


def test_a_taken_slot_answers_409_and_the_same_slot_twice_is_named(pool: Pool) -> None:
    slot = _next_public(pool)
    book(pool.as_resident(pool.patients[1]), BookingRequest(slot, pool.patients[1]))
    with pytest.raises(OperationOutcomeError) as other:
        book(pool.as_resident(pool.patients[2]), BookingRequest(slot, pool.patients[2]))
    assert _code(other) == "CH-9101" and other.value.status == 409
    with pytest.raises(OperationOutcomeError) as twice:
        book(pool.as_resident(pool.patients[1]), BookingRequest(slot, pool.patients[1]))
    assert _code(twice) == "CH-9106"


def test_one_department_per_day(pool: Pool) -> None:
    resident = pool.as_resident(pool.patients[1])
    book(resident, BookingRequest(_next_public(pool), pool.patients[1]))
    with pytest.raises(OperationOutcomeError) as second:
        book(resident, BookingRequest(_next_public(pool, skip=1), pool.patients[1]))
    assert _code(second) == "CH-9106"


def test_past_closed_unreleased_and_reserved_slots_are_refused(pool: Pool) -> None:
    resident = pool.as_resident(pool.patients[1])
    past = pool.slot(pool.today - timedelta(days=1), 1)
    with pytest.raises(OperationOutcomeError) as ended:
        book(resident, BookingRequest(past, pool.patients[1]))
    assert _code(ended) == "CH-9102"

    reserved = pool.slot(pool.today + timedelta(days=2), 3)
    with pytest.raises(OperationOutcomeError) as kept:
        book(resident, BookingRequest(reserved, pool.patients[1]))
    assert _code(kept) == "CH-9105" and kept.value.status == 403

    closed_id = _next_public(pool, 2, skip=4)
    closed = pool.repo.read("Slot", closed_id).resource
    pool.repo.update("Slot", closed_id, {**closed, "status": "busy-unavailable"})
    with pytest.raises(OperationOutcomeError) as shut:
        book(resident, BookingRequest(closed_id, pool.patients[1]))
    assert _code(shut) == "CH-9103"

    from countyhealth.scheduling import generate_pool

    later = pool.today + timedelta(days=pool_rules(pool.today).release_days_ahead + 1)
    generate_pool(pool.repo, later, 1)
    with pytest.raises(OperationOutcomeError) as early:
        book(resident, BookingRequest(pool.slot(later, 1), pool.patients[1]))
    assert _code(early) == "CH-9104"


def test_family_doctor_books_the_reserved_share(pool: Pool) -> None:
    reserved = pool.slot(pool.today + timedelta(days=2), 7)
    doctor = pool.as_staff("family-doctor", "Organization/org-thc")
    stored = book(doctor, BookingRequest(reserved, pool.patients[2], channel="family-doctor"))
    assert stored.resource["status"] == "booked"
    with pytest.raises(OperationOutcomeError) as wrong_share:
        book(
            doctor,
            BookingRequest(
                pool.slot(pool.today + timedelta(days=2), 13),
                pool.patients[3],
                channel="family-doctor",
            ),
        )
    assert _code(wrong_share) == "CH-9105"
    with pytest.raises(OperationOutcomeError) as no_privilege:
        book(pool.as_staff("nurse"), BookingRequest(reserved, pool.patients[3], "family-doctor"))
    assert _code(no_privilege) == "CH-4013"


def test_residents_book_only_for_themselves(pool: Pool) -> None:
    with pytest.raises(OperationOutcomeError) as other:
        book(pool.as_resident(pool.patients[1]), BookingRequest(_next_public(pool), "p2"))
    assert other.value.status == 403


def test_cancel_frees_the_slot_and_reschedule_moves_once(pool: Pool) -> None:
    resident = pool.as_resident(pool.patients[1])
    # around midday tomorrow: more than the cancellation limit away at any hour of today
    midday = _next_public(pool, 1, skip=60)
    first = book(resident, BookingRequest(midday, pool.patients[1]))
    moved = reschedule(resident, first.id, _next_public(pool, 2))
    assert moved.resource["status"] == "booked"
    assert pool.repo.read("Appointment", first.id).resource["status"] == "cancelled"
    assert pool.repo.read("Slot", midday).resource["status"] == "free"
    with pytest.raises(OperationOutcomeError) as again:
        reschedule(resident, moved.id, _next_public(pool, 2, skip=1))
    assert _code(again) == "CH-9109"
    cancelled = cancel(resident, moved.id, "plans changed")
    assert cancelled.resource["status"] == "cancelled"
    assert pool.repo.read("Slot", _next_public(pool, 2)).resource["status"] == "free"
    with pytest.raises(OperationOutcomeError) as twice:
        cancel(resident, moved.id)
    assert _code(twice) == "CH-9110"


def test_cancel_too_late(pool: Pool) -> None:
    now = local_now(pool.store.clock.now_us())
    minutes = pool_rules(pool.today).cancel_until_minutes_before
    # the slot starting within the cancellation limit, today or just after midnight
    soon = now + timedelta(minutes=minutes // 2)
    number = (soon.hour * 60 + soon.minute) // 10 + 1
    while number % 10 in (3, 7):
        number += 1
    slot_id = pool.slot(soon.date(), number)
    resident = pool.as_resident(pool.patients[1])
    stored = book(resident, BookingRequest(slot_id, pool.patients[1]))
    with pytest.raises(OperationOutcomeError) as late:
        cancel(resident, stored.id)
    assert _code(late) == "CH-9108"


def test_no_shows_suspend_online_booking(pool: Pool) -> None:
    patient = pool.patients[4]
    window = pool.as_staff("cashier")
    for skip in range(3):
        day = pool.today - timedelta(days=1)
        slot_id = pool.slot(day, [1, 2, 4][skip])
        # a booking of yesterday (filed as the platform files it), then the desk marks it
        appointment = {
            "resourceType": "Appointment",
            "status": "booked",
            "start": pool.repo.read("Slot", slot_id).resource["start"],
            "end": pool.repo.read("Slot", slot_id).resource["end"],
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
            "meta": {"tag": [{"system": systems.CUSTODIAN, "code": "org-hosp"}]},
        }
        stored = pool.repo.create(appointment)
        mark_no_show(window, stored.id)
    with pytest.raises(OperationOutcomeError) as suspended:
        book(pool.as_resident(patient), BookingRequest(_next_public(pool), patient))
    assert _code(suspended) == "CH-9107"
    # the desk can still book for the patient
    assert book(window, BookingRequest(_next_public(pool), patient)).resource["status"] == "booked"


def test_a_reserved_slot_joins_the_public_pool_a_day_before(pool: Pool) -> None:
    """Reserved positions (3 of every ten) are public within 24 hours of their start."""
    now = local_now(pool.store.clock.now_us())
    first = (now.hour * 60 + now.minute) // 10 + 2
    number = next(n for n in range(first, first + 20) if n % 10 == 3)
    day = now.date()
    if number > 144:
        day, number = day + timedelta(days=1), number - 144
    slot = pool.slot(day, number)
    stored = book(pool.as_resident(pool.patients[3]), BookingRequest(slot, pool.patients[3]))
    assert stored.resource["status"] == "booked"
