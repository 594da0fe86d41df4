"""The crowd paths of $book: the early refusal read from the slot alone, the per-process gate
that keeps attempts on one slot from queueing for the write lock, and the patient's limits
checked before the transaction and confirmed inside it."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.scheduling import BookingRequest, book, refuse_early
from countyhealth.scheduling.slot_gate import gates_open, slot_gate
from countyhealth.store import Repository

from .conftest import Pool


def _public(pool: Pool, position: int = 1, days: int = 1) -> str:
    return pool.slot(pool.today + timedelta(days=days), position)


def test_refuse_early_passes_a_free_slot_and_refuses_a_taken_one(pool: Pool) -> None:
    slot = _public(pool)
    first = pool.as_resident(pool.patients[1])
    refuse_early(first, BookingRequest(slot, pool.patients[1]))  # free: no refusal
    assert pool.repo.read("Slot", slot).resource["status"] == "free"  # and nothing written
    book(first, BookingRequest(slot, pool.patients[1]))
    with pytest.raises(OperationOutcomeError) as taken:
        refuse_early(pool.as_resident(pool.patients[2]), BookingRequest(slot, pool.patients[2]))
    assert taken.value.code == "CH-9101" and taken.value.status == 409
    with pytest.raises(OperationOutcomeError) as own:
        refuse_early(first, BookingRequest(slot, pool.patients[1]))
    assert own.value.code == "CH-9106"
    with pytest.raises(OperationOutcomeError) as reserved:
        reserved_slot = _public(pool, 3, days=2)  # kept for referrals until the day before
        refuse_early(first, BookingRequest(reserved_slot, pool.patients[1]))
    assert reserved.value.code == "CH-9105"


def test_threads_booking_one_slot_give_one_winner_and_leave_no_gate(pool: Pool) -> None:
    slot = _public(pool, 2)
    outcomes: list[str] = []
    start = threading.Barrier(5)

    def attempt(patient: str) -> None:
        start.wait()
        try:
            book(pool.as_resident(patient), BookingRequest(slot, patient))
            outcomes.append("201")
        except OperationOutcomeError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in pool.patients[1:6]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["201", "CH-9101", "CH-9101", "CH-9101", "CH-9101"]
    assert gates_open() == 0


def test_the_gate_holds_one_slot_and_lets_others_pass() -> None:
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def holder() -> None:
        with slot_gate("a"):
            inside.set()
            release.wait(timeout=10)
            order.append("first out")

    def second() -> None:
        with slot_gate("a"):
            order.append("second in")

    first = threading.Thread(target=holder)
    first.start()
    assert inside.wait(timeout=10)
    with slot_gate("b"):  # another slot is not held up
        order.append("other slot")
    waiter = threading.Thread(target=second)
    waiter.start()
    release.set()
    first.join()
    waiter.join()
    assert order == ["other slot", "first out", "second in"]
    assert gates_open() == 0


def test_a_booking_made_after_the_limits_were_checked_is_seen_before_writing(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The patient's limits are checked before the transaction; one of their bookings that
    commits in between changes the stamp of their appointments, so the transaction checks
    again and refuses the second appointment at the department that day."""
    patient = pool.patients[1]
    first, second = _public(pool, 1), _public(pool, 2)
    prepare = Repository.prepare_create
    interleaved: list[str] = []

    def book_meanwhile(repo: Repository, body: dict, assigned_id: str | None = None) -> Any:
        if not interleaved:  # the other booking commits after the check, before the write
            interleaved.append("booking")  # (before: the other booking prepares too)
            book(pool.as_resident(patient), BookingRequest(second, patient))
        return prepare(repo, body, assigned_id)

    monkeypatch.setattr(Repository, "prepare_create", book_meanwhile)
    with pytest.raises(OperationOutcomeError) as refused:
        book(pool.as_resident(patient), BookingRequest(first, patient))
    assert refused.value.code == "CH-9106"
    assert pool.repo.read("Slot", first).resource["status"] == "free"
    assert pool.repo.read("Slot", second).resource["status"] == "busy"
    assert len(interleaved) == 1
