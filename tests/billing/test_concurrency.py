"""Concurrent requests against real storage (SQLite's single writer, PostgreSQL's locks):
retries with one idempotency key never charge twice, two keys never settle one visit twice,
and a charge racing the payment is either in the settlement or refused."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from countyhealth.billing.charges import add_charge
from countyhealth.billing.payments import Payment, pay
from countyhealth.billing.refunds import Refund, refund
from countyhealth.errors import OperationOutcomeError
from countyhealth.records.query import find_all

from .conftest import EMPLOYEE, RESIDENT, County

THREADS = 8
T = TypeVar("T")


def _race(calls: list[Callable[[], T]]) -> list[T | OperationOutcomeError]:
    """Run the calls at once (released together by a barrier); each one's result or error."""
    gate = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | OperationOutcomeError:
        gate.wait()
        try:
            return call()
        except OperationOutcomeError as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _visit(c: County, patient: str = RESIDENT) -> str:
    visit = c.visit(patient)
    add_charge(c.county_doctor(), visit, "CONS-SECONDARY", 1)
    add_charge(c.town_doctor(), visit, "LAB-HBA1C", 1)
    add_charge(c.county_doctor(), visit, "DRUG-AMLODIPINE", 2)
    return visit


def test_eight_retries_with_one_key_make_one_payment(billing_county: County) -> None:
    c = billing_county
    visit = _visit(c)
    results = _race(
        [
            (lambda: pay(c.resident(RESIDENT), visit, "one-key", c.provider))
            if n % 2
            else (lambda: pay(c.cashier(), visit, "one-key", c.provider))
            for n in range(THREADS)
        ]
    )
    payments = [r for r in results if isinstance(r, Payment)]
    assert len(payments) == THREADS, results
    assert all(p == payments[0] for p in payments)  # all the same Payment
    assert sum(not p.replayed for p in payments) == 1
    assert len(c.provider.charges) == 1 and c.provider.charges[0].amount == payments[0].cash > 0
    assert {
        t: c.count(t) for t in ("Claim", "ClaimResponse", "Invoice", "PaymentReconciliation")
    } == {
        "Claim": 1,
        "ClaimResponse": 1,
        "Invoice": 1,
        "PaymentReconciliation": 1,
    }


def test_eight_keys_for_one_visit_settle_it_once(billing_county: County) -> None:
    c = billing_county
    visit = _visit(c)
    results = _race(
        [partial(pay, c.cashier(), visit, f"key-{n}", c.provider) for n in range(THREADS)]
    )
    outcomes = Counter("paid" if isinstance(r, Payment) else r.code for r in results)
    assert outcomes == {"paid": 1, "CH-9405": THREADS - 1}
    assert len(c.provider.charges) == 1 and c.count("ClaimResponse") == 1


def test_one_key_for_two_patients_pays_one_visit(billing_county: County) -> None:
    """The key is locked before the patient: requests with one key for different patients
    queue too, and only the first request's visit is paid."""
    c = billing_county
    visits = [_visit(c, RESIDENT), _visit(c, EMPLOYEE)]
    results = _race(
        [partial(pay, c.cashier(), visits[n % 2], "shared-key", c.provider) for n in range(THREADS)]
    )
    paid = [r for r in results if isinstance(r, Payment)]
    refused = [r for r in results if isinstance(r, OperationOutcomeError)]
    assert paid and all(p == paid[0] for p in paid) and {e.code for e in refused} <= {"CH-9407"}
    assert len(paid) + len(refused) == THREADS
    assert c.count("ClaimResponse") == 1 and len(c.provider.movements) <= 1


def test_eight_retries_of_one_refund_give_back_once(billing_county: County) -> None:
    c = billing_county
    visit = _visit(c)
    payment = pay(c.cashier(), visit, "before-refund", c.provider)
    results = _race(
        [
            lambda: refund(
                c.cashier(),
                payment.invoice,
                None,
                idempotency_key="refund-once",
                reason="退费",
                provider=c.provider,
            )
            for _ in range(THREADS)
        ]
    )
    refunds = [r for r in results if isinstance(r, Refund)]
    assert len(refunds) == THREADS and all(r == refunds[0] for r in refunds), results
    assert len(c.provider.refunds) == 1 and c.provider.refunds[0].amount == payment.cash


def test_charges_racing_the_payment_are_settled_or_refused(billing_county: County) -> None:
    c = billing_county
    visit = _visit(c)
    calls: list[Callable[[], object]] = [
        lambda: add_charge(c.county_doctor(), visit, "DRUG-METFORMIN", 1)
        for _ in range(THREADS - 1)
    ]
    calls.insert(THREADS // 2, lambda: pay(c.cashier(), visit, "racing", c.provider))
    results = _race(calls)
    payment = next(r for r in results if isinstance(r, Payment))
    refused = [r for r in results if isinstance(r, OperationOutcomeError)]
    assert {e.code for e in refused} <= {"CH-9402"}
    items = list(find_all(c.repo, "ChargeItem", [("context", f"Encounter/{visit}")]))
    assert {i["status"] for i in items} == {"billed"}  # none left behind unpaid
    claim = c.repo.read("Claim", payment.claim).resource
    assert len(claim["item"]) == len(items) == 3 + (THREADS - 1 - len(refused))
