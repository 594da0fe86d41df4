"""Which appointment a check-in takes: the one whose window is open now, across midnight, a
late arrival when nothing else is to come, and the opening time otherwise (SQLite and
PostgreSQL). The store's clock is moved to chosen county instants tomorrow and after."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.scheduling import check_in
from countyhealth.scheduling.calendar import at

from .conftest import Pool, SteppedClock


@pytest.fixture
def clock(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    stepped = SteppedClock()
    monkeypatch.setattr(pool.store.clock, "now_us", stepped.now_us)
    return stepped


def _booked(pool: Pool, patient: str, day: date, start: str) -> str:
    """An appointment in the all-day department's 10-minute slot at ``start`` on ``day``,
    filed as the platform files a booking."""
    begins = time.fromisoformat(start)
    slot_id = pool.slot(day, begins.hour * 6 + begins.minute // 10 + 1)
    slot = pool.repo.read("Slot", slot_id).resource
    stored = pool.repo.create(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "start": slot["start"],
            "end": slot["end"],
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
            "meta": {"tag": [{"system": systems.CUSTODIAN, "code": "org-hosp"}]},
        }
    )
    return stored.id


def _id_number(pool: Pool, patient: str) -> str:
    resource = pool.repo.read("Patient", patient).resource
    return next(i["value"] for i in resource["identifier"] if i["system"] == systems.ID_CARD)


def _checked_in(pool: Pool, patient: str) -> str:
    entry = check_in(pool.as_staff("nurse"), _id_number(pool, patient))
    return str(entry.resource["appointment"][0]["reference"]).removeprefix("Appointment/")


def _refused(pool: Pool, patient: str) -> OperationOutcomeError:
    with pytest.raises(OperationOutcomeError) as refused:
        check_in(pool.as_staff("nurse"), _id_number(pool, patient))
    return refused.value


def test_the_open_window_wins_over_an_earlier_missed_appointment(
    pool: Pool, clock: SteppedClock
) -> None:
    day, patient = pool.today + timedelta(days=1), pool.patients[1]
    missed = _booked(pool, patient, day, "08:00")
    later = _booked(pool, patient, day, "10:00")
    clock.at(at(day, time(9, 30)))
    assert _checked_in(pool, patient) == later
    assert pool.repo.read("Appointment", missed).resource["status"] == "booked"


def test_between_a_missed_and_a_coming_appointment_check_in_is_not_open_yet(
    pool: Pool, clock: SteppedClock
) -> None:
    day, patient = pool.today + timedelta(days=1), pool.patients[2]
    _booked(pool, patient, day, "08:00")
    _booked(pool, patient, day, "10:00")
    clock.at(at(day, time(8, 30)))
    refused = _refused(pool, patient)
    assert refused.issues[0].code == "CH-9112"
    assert "09:00" in str(refused)


def test_a_late_arrival_checks_in_when_nothing_else_is_to_come(
    pool: Pool, clock: SteppedClock
) -> None:
    day, patient = pool.today + timedelta(days=1), pool.patients[3]
    missed = _booked(pool, patient, day, "08:00")
    clock.at(at(day, time(9, 30)))
    assert _checked_in(pool, patient) == missed


def test_an_appointment_just_after_midnight_checks_in_the_evening_before(
    pool: Pool, clock: SteppedClock
) -> None:
    day, patient = pool.today + timedelta(days=1), pool.patients[4]
    night = _booked(pool, patient, day + timedelta(days=1), "00:10")
    clock.at(at(day, time(23, 30)))
    assert _checked_in(pool, patient) == night


def test_tomorrow_mornings_appointment_is_not_checked_in_tonight(
    pool: Pool, clock: SteppedClock
) -> None:
    day, patient = pool.today + timedelta(days=1), pool.patients[5]
    _booked(pool, patient, day + timedelta(days=1), "10:00")
    clock.at(at(day, time(23, 30)))
    assert _refused(pool, patient).issues[0].code == "CH-9111"
