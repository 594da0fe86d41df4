"""The slot-pool KPIs from real bookings, check-ins, calls, a cancellation and a no-show, and
their MeasureReport and $scheduling-kpis (SQLite and PostgreSQL).

The day is played tomorrow at chosen county times on the store's clock (later than anything
the fixture wrote, so versions stay in order), which makes every wait exact and lets a patient
arrive late, whatever the hour the tests run.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.fhir.validation import validate_resource
from countyhealth.operations import OperationContext, find
from countyhealth.operations.registry import parameters_from_body
from countyhealth.scheduling import BookingRequest, book, call_next, cancel, check_in, mark_no_show
from countyhealth.scheduling.calendar import at, local_now
from countyhealth.scheduling.kpis import KPI_SYSTEM, MEASURE, scheduling_kpis, to_measure_report
from countyhealth.store import Repository

from .conftest import HOSPITAL, ROOM, Pool, SteppedClock


def _slot(pool: Pool, day: date, clock: str) -> str:
    """The 10-minute slot of the all-day department starting at ``clock`` on ``day``."""
    start = time.fromisoformat(clock)
    return pool.slot(day, start.hour * 6 + start.minute // 10 + 1)


def _id_number(pool: Pool, patient: str) -> str:
    resource = pool.repo.read("Patient", patient).resource
    return next(i["value"] for i in resource["identifier"] if i["system"] == systems.ID_CARD)


@pytest.fixture
def played(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> date:
    """Tomorrow's morning at the department; returns the day.

    07:00 four online bookings (p1 08:00, p2 08:10, p4 08:30, p5 14:00) and one at the desk
    (p3 08:20); 07:05 p5 cancels; 07:30 p1 and 07:40 p3 check in; 08:00 p1 is called (30 min),
    08:05 p3 (25 min); 08:25 p2 checks in after the band ended; 08:31 p2 is called (6 min);
    09:00 p4 is a no-show; the 12:10 slot is closed.
    """
    clock = SteppedClock()
    monkeypatch.setattr(pool.store.clock, "now_us", clock.now_us)
    day = pool.today + timedelta(days=1)
    p = pool.patients
    nurse, doctor = pool.as_staff("nurse"), pool.as_staff("county-clinician")

    def at_(clock_time: str) -> None:
        clock.at(at(day, time.fromisoformat(clock_time)))

    at_("07:00")
    booked: dict[str, Any] = {}
    for patient, start in ((p[1], "08:00"), (p[2], "08:10"), (p[4], "08:30"), (p[5], "14:00")):
        request = BookingRequest(_slot(pool, day, start), patient)
        booked[patient] = book(pool.as_resident(patient), request)
    book(nurse, BookingRequest(_slot(pool, day, "08:20"), p[3], channel="window"))
    at_("07:05")
    cancel(pool.as_resident(p[5]), booked[p[5]].id)
    at_("07:30")
    check_in(nurse, _id_number(pool, p[1]))
    at_("07:40")
    check_in(nurse, _id_number(pool, p[3]))
    at_("08:00")
    call_next(doctor, ROOM)
    at_("08:05")
    call_next(doctor, ROOM)
    at_("08:25")
    check_in(nurse, _id_number(pool, p[2]))
    at_("08:31")
    call_next(doctor, ROOM)
    at_("09:00")
    mark_no_show(nurse, booked[p[4]].id)
    closed_id = _slot(pool, day, "12:10")
    closed = pool.repo.read("Slot", closed_id).resource
    pool.repo.update("Slot", closed_id, {**closed, "status": "busy-unavailable"})
    at_("09:10")
    return day


def test_the_morning_in_figures(pool: Pool, played: date) -> None:
    kpis = scheduling_kpis(pool.as_bureau(), played, played)
    c = kpis.counts
    assert (c.due, c.online_due, c.online_on_time) == (4, 3, 1)
    assert (c.checked_in, c.checked_in_online, c.no_shows) == (3, 2, 1)
    assert (c.called, c.wait_minutes) == (3, 61.0)
    assert (c.slots_open, c.slots_held) == (143, 4)
    assert kpis.on_time_rate == 33.3
    assert (kpis.mean_wait, kpis.p90_wait) == (20.3, 30.0)
    assert kpis.online_share == 66.7
    assert kpis.slot_utilisation == 2.8
    assert kpis.no_show_rate == 25.0
    assert [f.id for f in kpis.figures] == [
        "on-time-rate",
        "mean-wait",
        "p90-wait",
        "online-share",
        "slot-utilisation",
        "no-show-rate",
    ]
    assert kpis.figure("no-show-rate").numerator == 1


def test_periods_and_organisations(pool: Pool, played: date) -> None:
    bureau = pool.as_bureau()
    two_days = scheduling_kpis(bureau, pool.today, played)
    assert (two_days.counts.slots_open, two_days.counts.slots_held) == (287, 4)
    assert two_days.slot_utilisation == 1.4
    assert two_days.counts.due == 4
    today = scheduling_kpis(bureau, pool.today, pool.today)
    assert today.counts.slots_open == 144 and today.counts.due == 0
    assert today.on_time_rate is None and today.mean_wait is None and today.p90_wait is None
    assert today.slot_utilisation == 0.0

    hospital = scheduling_kpis(bureau, played, played, HOSPITAL)
    county = scheduling_kpis(bureau, played, played)
    assert hospital.counts == county.counts
    elsewhere = scheduling_kpis(bureau, played, played, "Organization/org-thc")
    assert elsewhere.counts.due == elsewhere.counts.slots_open == elsewhere.counts.called == 0
    assert all(f.value is None for f in elsewhere.figures)


def _group(report: dict[str, Any], kpi: str) -> dict[str, Any]:
    return next(g for g in report["group"] if g["code"]["coding"][0]["code"] == kpi)


def _populations(group: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}


def test_measure_report(pool: Pool, played: date) -> None:
    kpis = scheduling_kpis(pool.as_bureau(), played, played, HOSPITAL)
    report = to_measure_report(kpis, local_now(pool.store.clock.now_us()))
    assert validate_resource(report) == []
    assert (report["status"], report["type"], report["measure"]) == ("complete", "summary", MEASURE)
    assert report["period"] == {"start": played.isoformat(), "end": played.isoformat()}
    assert report["reporter"] == {"reference": HOSPITAL}
    assert [g["code"]["coding"][0]["system"] for g in report["group"]] == [KPI_SYSTEM] * 6
    on_time = _group(report, "on-time-rate")
    assert _populations(on_time) == {"numerator": 1, "denominator": 3}
    assert on_time["measureScore"] == {
        "value": 33.3,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    mean = _group(report, "mean-wait")
    assert _populations(mean) == {"measure-population": 3}
    assert (mean["measureScore"]["value"], mean["measureScore"]["code"]) == (20.3, "min")
    assert _populations(_group(report, "slot-utilisation")) == {"numerator": 4, "denominator": 143}

    empty = to_measure_report(
        scheduling_kpis(pool.as_bureau(), played, played, "Organization/org-thc"),
        local_now(pool.store.clock.now_us()),
    )
    assert validate_resource(empty) == []
    assert all("measureScore" not in g for g in empty["group"])
    assert _populations(_group(empty, "no-show-rate")) == {"numerator": 0, "denominator": 0}


@pytest.mark.parametrize("role", ["resident", "nurse"])
def test_kpis_need_measure_report_read(pool: Pool, role: str) -> None:
    caller = pool.as_resident(pool.patients[1]) if role == "resident" else pool.as_staff(role)
    with pytest.raises(OperationOutcomeError) as refused:
        scheduling_kpis(caller, pool.today, pool.today)
    assert refused.value.code == "CH-4003"


def _invoke(repo: Repository, values: dict[str, list[Any]]) -> dict[str, Any]:
    ctx = OperationContext(None, None, "https://countyhealth.example.org/fhir")
    operation = find("scheduling-kpis", ctx)
    return operation.handler(operation.parse(values), repo, ctx).resource


def test_the_operation(pool: Pool, played: date) -> None:
    day = played.isoformat()
    answer = _invoke(pool.as_bureau(), {"start": [day], "end": [day]})
    assert answer["resourceType"] == "MeasureReport" and "reporter" not in answer
    assert _group(answer, "no-show-rate")["measureScore"]["value"] == 25.0
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "start", "valueDate": day},
            {"name": "end", "valueDate": day},
            {"name": "organization", "valueReference": {"reference": HOSPITAL}},
        ],
    }
    posted = _invoke(pool.as_bureau(), parameters_from_body(body))
    assert posted["reporter"] == {"reference": HOSPITAL}
    assert posted["group"] == answer["group"]
    bare = _invoke(pool.as_bureau(), {"start": [day], "end": [day], "organization": ["org-hosp"]})
    assert bare["reporter"] == {"reference": HOSPITAL}
    with pytest.raises(OperationOutcomeError) as refused:
        _invoke(pool.as_resident(pool.patients[1]), {"start": [day], "end": [day]})
    assert refused.value.code == "CH-4003"


@pytest.mark.parametrize(
    "values",
    [
        {"start": ["2026-13-01"], "end": ["2026-12-01"]},
        {"start": ["20261101"], "end": ["2026-11-02"]},
        {"start": ["2026-11-01T00:00:00+08:00"], "end": ["2026-11-02"]},
        {"end": ["2026-11-02"]},
        {"start": ["2026-11-02"], "end": ["2026-11-01"]},
        {"start": ["2025-01-01"], "end": ["2026-01-02"]},  # 367 days
        {"start": ["2026-11-01"], "end": ["2026-11-02"], "organization": ["Patient/p1"]},
    ],
)
def test_the_operation_refuses_bad_periods(values: dict[str, list[Any]]) -> None:
    operation = find("scheduling-kpis")
    with pytest.raises(OperationOutcomeError) as bad:
        operation.parse(values)
    assert bad.value.code == "CH-9114" and bad.value.status == 400


def test_a_year_is_a_period() -> None:
    params = find("scheduling-kpis").parse({"start": ["2024-01-01"], "end": ["2024-12-31"]})
    assert (params.last - params.first).days == 365  # 366 days of a leap year
