"""The slot-pool KPIs from real bookings, check-ins and calls (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.scheduling import BookingRequest, book, call_next, check_in
from countyhealth.scheduling.calendar import local_now
from countyhealth.scheduling.kpis import scheduling_kpis, to_measure_report

from .conftest import ROOM, Pool


def _soon(pool: Pool, offset: int) -> str:
    """The ``offset``-th public slot from the one starting within the next ten minutes or so
    (check-in opens 60 minutes before a slot)."""
    now = local_now(pool.store.clock.now_us()) + timedelta(minutes=10)
    first = (now.hour * 60 + now.minute) // 10 + 1
    public = [n for n in range(first, first + 20) if n % 10 not in (3, 7)]
    number, day = public[offset], now.date()
    if number > 144:
        day, number = day + timedelta(days=1), number - 144
    return pool.slot(day, number)


def _id_number(pool: Pool, patient: str) -> str:
    resource = pool.repo.read("Patient", patient).resource
    return next(i["value"] for i in resource["identifier"] if i["system"] == systems.ID_CARD)


def test_kpis_follow_bookings_check_ins_and_calls(pool: Pool) -> None:
    first, second = pool.patients[1], pool.patients[2]
    book(pool.as_resident(first), BookingRequest(_soon(pool, 0), first))
    book(pool.as_resident(second), BookingRequest(_soon(pool, 1), second))
    admin = pool.as_bureau()
    window = (pool.today, pool.today + timedelta(days=1))
    before = scheduling_kpis(admin, *window)
    assert before.figure("on-time-rate").value == 0.0
    assert before.figure("on-time-rate").denominator == 2
    assert before.figure("mean-wait").value is None

    check_in(pool.as_staff("nurse"), _id_number(pool, first))
    call_next(pool.as_staff("county-clinician"), ROOM)
    after = scheduling_kpis(admin, *window)
    assert after.figure("on-time-rate").value == 50.0
    assert after.figure("online-share").value == 100.0
    assert after.figure("mean-wait").denominator == 1
    assert after.figure("mean-wait").value is not None and after.figure("mean-wait").value < 1
    assert after.figure("slot-utilisation").numerator == 2
    assert after.figure("slot-utilisation").denominator == 2 * 144
    assert after.figure("no-show-rate").value == 0.0

    report = to_measure_report(after, local_now(pool.store.clock.now_us()))
    assert report["resourceType"] == "MeasureReport" and report["type"] == "summary"
    on_time = next(g for g in report["group"] if g["code"]["coding"][0]["code"] == "on-time-rate")
    assert on_time["measureScore"]["value"] == 50.0
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in on_time["population"]}
    assert counts == {"numerator": 1, "denominator": 2}


def test_kpis_need_measure_report_read(pool: Pool) -> None:
    with pytest.raises(OperationOutcomeError) as refused:
        scheduling_kpis(pool.as_resident(pool.patients[1]), pool.today, pool.today)
    assert refused.value.code == "CH-4003"
