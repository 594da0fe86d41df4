"""The pay-at-most-once KPIs on hand-built visits: counts, the smart-settlement rates by
setting, payments per visit exactly 1.0 with a replayed key, the minutes from the last charge
to the payment, refunds, visits on credit, the institution filter and bad periods (SQLite and
PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from countyhealth.billing.bills import bill
from countyhealth.billing.charges import add_charge
from countyhealth.billing.credit import close_on_credit
from countyhealth.billing.kpis import (
    KPI_SYSTEM,
    MEASURE,
    billing_kpis,
    definitions,
    to_measure_report,
)
from countyhealth.billing.payments import Payment, pay
from countyhealth.billing.refunds import refund
from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.scheduling.calendar import local_now
from countyhealth.store import Repository

from .conftest import COUNTY, EMPLOYEE, HSB, RESIDENT, TOWN, UNINSURED, County

PENDING = "p-pending"  # insured, but the enrolment is not in force yet: settled as self-pay
MINUTE_US = 60_000_000


@dataclass
class Clock:
    """The store's clock moved on by hand (it never goes back)."""

    offset_us: int = 0

    def advance(self, minutes: float) -> None:
        self.offset_us += int(minutes * MINUTE_US)


@pytest.fixture
def clock(billing_county: County, monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    real = billing_county.store.clock.now_us
    monkeypatch.setattr(billing_county.store.clock, "now_us", lambda: real() + moved.offset_us)
    return moved


def _bureau(c: County) -> Repository:
    return c.staff("bureau-admin", "org-bureau")


def _pending_person(c: County) -> None:
    c.repo.put_many(
        [
            {"resourceType": "Patient", "id": PENDING, "name": [{"text": "孙待参"}]},
            {
                "resourceType": "Coverage",
                "id": "cov-pending",
                "status": "draft",
                "type": {"coding": [{"system": systems.INSURANCE_TYPE, "code": "390"}]},
                "beneficiary": {"reference": f"Patient/{PENDING}"},
                "period": {"start": "2020-01-01"},
                "payor": [{"reference": f"Organization/{HSB}"}],
                "subscriberId": "3390010000000009",
            },
        ]
    )


def _paid_visit(
    c: County,
    clock: Clock,
    patient: str,
    minutes: float,
    key: str,
    *,
    cls: str = "AMB",
    institution: str = COUNTY,
    items: tuple[tuple[str, int], ...] = (("CONS-SECONDARY", 1),),
) -> Payment:
    """A visit with ``items`` charged, paid ``minutes`` after the last charge."""
    visit = c.visit(patient, institution=institution, cls=cls)
    doctor = c.county_doctor() if institution == COUNTY else c.town_doctor()
    for code, quantity in items:
        add_charge(doctor, visit, code, quantity)
    clock.advance(minutes)
    return pay(c.cashier(institution), visit, key, c.provider)


@dataclass
class Built:
    first: date
    last: date
    paid: dict[str, Payment]


def _county_visits(c: County, clock: Clock) -> Built:
    """Five settled visits at the county hospital (one on a ward), one at the township centre,
    one left open, one on credit and a refund."""
    today = c.today
    _pending_person(c)
    paid = {
        "resident": _paid_visit(c, clock, RESIDENT, 10, "k-resident"),
        "employee": _paid_visit(
            c, clock, EMPLOYEE, 30, "k-employee", items=(("CONS-SECONDARY", 1), ("LAB-GLU", 2))
        ),
        "uninsured": _paid_visit(c, clock, UNINSURED, 20, "k-uninsured"),
        "pending": _paid_visit(c, clock, PENDING, 40, "k-pending"),
        "ward": _paid_visit(c, clock, RESIDENT, 50, "k-ward", cls="IMP", items=(("BED-WARD", 2),)),
        "town": _paid_visit(
            c, clock, RESIDENT, 5, "k-town", institution=TOWN, items=(("CONS-PRIMARY", 1),)
        ),
    }
    # the resident's retry of the first payment under the same key answers it again
    again = pay(c.resident(RESIDENT), paid["resident"].encounter, "k-resident", c.provider)
    assert again.replayed and again == paid["resident"]
    open_visit = c.visit(EMPLOYEE)
    add_charge(c.county_doctor(), open_visit, "LAB-CBC", 1)
    credit = c.visit(RESIDENT)
    add_charge(c.county_doctor(), credit, "LAB-LFT", 1)
    close_on_credit(c.resident(RESIDENT), credit)
    employee = paid["employee"]
    glucose = next(
        line.charge
        for line in bill(c.cashier(), employee.encounter).lines
        if line.code == "LAB-GLU"
    )
    refund(
        c.cashier(),
        employee.invoice,
        {glucose: "1"},
        idempotency_key="r-employee",
        reason="少做一项 (one test not done)",
        provider=c.provider,
    )
    return Built(today, today + timedelta(days=1), paid)


def test_counts_rates_and_times_of_the_county(billing_county: County, clock: Clock) -> None:
    c = billing_county
    built = _county_visits(c, clock)
    kpis = billing_kpis(_bureau(c), built.first, built.last)

    assert kpis.visits_charged == 8  # six paid, one open, one on credit
    assert kpis.visits_settled == 6
    # outpatient: the resident (twice: county and township), the employee and the pending
    # enrolment were insured that day; all but the pending one were settled with the 医保
    # split, the pending one as self-pay; the uninsured person is in neither count
    assert (kpis.outpatient.settled, kpis.outpatient.insured, kpis.outpatient.smart) == (5, 4, 3)
    assert kpis.outpatient.smart_rate == 75.0
    assert (kpis.inpatient.settled, kpis.inpatient.insured, kpis.inpatient.smart) == (1, 1, 1)
    assert kpis.inpatient.smart_rate == 100.0
    # one payment per visit: the replayed key and the refund are not payments
    assert kpis.payments == 6 and kpis.payments_per_visit == 1.0
    assert kpis.refunds == 1
    assert kpis.timed == 6
    assert kpis.median_minutes == 25.0  # of 5, 10, 20, 30, 40, 50
    assert kpis.p90_minutes == 50.0  # nearest rank: the 6th of 6
    assert (kpis.credit_open, kpis.credit_overdue) == (1, 0)


def test_the_institution_filter_counts_the_visits_it_holds(
    billing_county: County, clock: Clock
) -> None:
    c = billing_county
    built = _county_visits(c, clock)
    county = billing_kpis(_bureau(c), built.first, built.last, f"Organization/{COUNTY}")
    town = billing_kpis(_bureau(c), built.first, built.last, f"Organization/{TOWN}")
    assert (county.visits_charged, county.visits_settled, county.payments) == (7, 5, 5)
    assert county.refunds == 1 and county.credit_open == 1
    assert county.median_minutes == 30.0
    # the township centre's own visit only: its lab charge on a county visit counts there
    assert (town.visits_charged, town.visits_settled, town.payments) == (1, 1, 1)
    assert (town.outpatient.insured, town.outpatient.smart) == (1, 1)
    assert town.median_minutes == town.p90_minutes == 5.0
    assert (town.refunds, town.credit_open) == (0, 0)


def test_a_period_without_payments_has_no_rates(billing_county: County, clock: Clock) -> None:
    c = billing_county
    built = _county_visits(c, clock)
    before = billing_kpis(_bureau(c), built.first - timedelta(days=30), built.first - timedelta(1))
    assert (before.visits_charged, before.visits_settled, before.payments) == (0, 0, 0)
    assert before.outpatient.smart_rate is None and before.payments_per_visit is None
    assert before.median_minutes is None and before.p90_minutes is None
    assert before.credit_open == 1  # at the time of the report, whatever the period


def test_overdue_credit_visits(billing_county: County, clock: Clock) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)
    add_charge(c.county_doctor(), visit, "LAB-LFT", 1)
    close_on_credit(c.resident(RESIDENT), visit)
    today = c.today
    now = billing_kpis(c.repo, today, today)
    assert (now.credit_open, now.credit_overdue) == (1, 0)
    clock.advance(11 * 24 * 60)  # credit_care.json: pay within 10 days
    later = billing_kpis(c.repo, today, c.today)
    assert (later.credit_open, later.credit_overdue) == (1, 1)
    pay(c.resident(RESIDENT), visit, "late", c.provider)
    paid = billing_kpis(c.repo, today, c.today)
    assert (paid.credit_open, paid.credit_overdue, paid.visits_settled) == (0, 0, 1)
    assert paid.median_minutes is not None and paid.median_minutes >= 11 * 24 * 60


def test_the_measure_report(billing_county: County, clock: Clock) -> None:
    c = billing_county
    built = _county_visits(c, clock)
    kpis = billing_kpis(_bureau(c), built.first, built.last)
    report = to_measure_report(kpis, local_now(c.store.clock.now_us()))
    assert (report["resourceType"], report["type"], report["measure"]) == (
        "MeasureReport",
        "summary",
        MEASURE,
    )
    groups = {g["code"]["coding"][0]["code"]: g for g in report["group"]}
    assert list(groups) == [d["id"] for d in definitions()]
    assert all(g["code"]["coding"][0]["system"] == KPI_SYSTEM for g in groups.values())

    def counts(kpi: str) -> dict[str, int]:
        return {p["code"]["coding"][0]["code"]: p["count"] for p in groups[kpi]["population"]}

    assert counts("smart-settlement-outpatient") == {"numerator": 3, "denominator": 4}
    assert groups["smart-settlement-outpatient"]["measureScore"]["value"] == 75.0
    assert counts("payments-per-visit") == {"numerator": 6, "denominator": 6}
    assert groups["payments-per-visit"]["measureScore"] == {
        "value": 1.0,
        "unit": "1",
        "system": "http://unitsofmeasure.org",
        "code": "1",
    }
    assert groups["time-to-payment"]["measureScore"]["value"] == 25.0
    assert groups["time-to-payment"]["measureScore"]["code"] == "min"
    strata = groups["visits-settled"]["stratifier"][0]["stratum"]
    assert [(s["value"]["text"], s["population"][0]["count"]) for s in strata] == [
        ("outpatient", 5),
        ("inpatient", 1),
    ]
    assert counts("refunds") == {"initial-population": 1}
    references = {d["id"]: d["reference"] for d in definitions()}
    assert references["smart-settlement-outpatient"] == 84.73
    assert references["smart-settlement-inpatient"] == 81.59
    assert references["payments-per-visit"] == 1.0


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2026, 3, 2), date(2026, 3, 1)), (date(2025, 1, 1), date(2026, 1, 2))],
)
def test_a_bad_period_is_refused(billing_county: County, first: date, last: date) -> None:
    with pytest.raises(OperationOutcomeError) as err:
        billing_kpis(_bureau(billing_county), first, last)
    assert err.value.code == "CH-9401"


def test_roles_without_county_wide_reach_are_refused(billing_county: County) -> None:
    c = billing_county
    for repo in (c.cashier(), c.county_doctor(), c.resident(RESIDENT)):
        with pytest.raises(OperationOutcomeError) as err:
            billing_kpis(repo, c.today, c.today)
        assert err.value.code == "CH-4003"


def test_the_searches_do_not_grow_with_the_visits(
    billing_county: County, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few paged searches and batched reads: no search per visit."""
    c = billing_county
    searches = 0
    real = Repository.search

    def counted(self: Repository, *args: Any, **kwargs: Any) -> Any:
        nonlocal searches
        searches += 1
        return real(self, *args, **kwargs)

    def measured() -> int:
        nonlocal searches
        searches = 0
        with monkeypatch.context() as m:
            m.setattr(Repository, "search", counted)
            billing_kpis(c.repo, c.today, c.today + timedelta(days=1))
        return searches

    _paid_visit(c, clock, RESIDENT, 1, "few-1")
    few = measured()
    for n in range(6):
        _paid_visit(c, clock, EMPLOYEE if n % 2 else RESIDENT, 1, f"many-{n}")
    assert measured() == few
