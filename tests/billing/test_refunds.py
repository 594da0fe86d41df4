"""Refunds: the split recalculated for what remains, running totals as if the refunded part
had never been settled, and a refund followed by re-settlement leaving the totals as before;
refunds larger than what was paid are refused and move nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from countyhealth.billing.bills import bill
from countyhealth.billing.charges import add_charge
from countyhealth.billing.daybook import day_book
from countyhealth.billing.engine import settle
from countyhealth.billing.engine_types import ChargeLine, Insured, Totals, VisitContext
from countyhealth.billing.payments import Payment, pay
from countyhealth.billing.policy import policy_for
from countyhealth.billing.reconciliation import (
    ProviderTotals,
    ReconciliationRow,
    reconciliation_workbook,
)
from countyhealth.billing.refunds import Refund, refund
from countyhealth.billing.totals import running_totals
from countyhealth.errors import OperationOutcomeError
from countyhealth.records.query import find_all

from .conftest import AREA, COUNTY, RESIDENT, TOWN, County

PAYERS = ("fund", "catastrophic", "assistance", "commercial", "account", "cash")

#: (code, quantity, class, unit price) of the visit refunded in these tests (outpatient,
#: county hospital: secondary)
ITEMS = [
    ("CONS-SECONDARY", 1, "A", "15.00"),
    ("LAB-HBA1C", 1, "B", "60.00"),
    ("IMG-CHEST-CT", 1, "B", "180.00"),
    ("DRUG-AMLODIPINE", 5, "A", "2.80"),
]


def _visit(c: County, items: list[tuple[str, int, str, str]] = ITEMS) -> tuple[str, dict[str, str]]:
    visit = c.visit(RESIDENT)
    charged = {}
    for code, quantity, _, _ in items:
        performer = c.town_doctor() if code.startswith("LAB") else c.county_doctor()
        charged[code] = add_charge(performer, visit, code, quantity).id
    return visit, charged


def _engine(c: County, items: list[tuple[str, int, str, str]], totals: Totals) -> Totals:
    """The totals after settling ``items`` alone from ``totals``, computed by the engine."""
    return settle(
        [ChargeLine(code, "", cls, Decimal(q), Decimal(p), "") for code, q, cls, p in items],
        Insured("resident", AREA),
        VisitContext("outpatient", "secondary", c.today),
        totals,
        policy_for(AREA, "resident", c.today),
    ).totals_after


def _earlier_visit(c: County) -> Totals:
    """A settled visit earlier in the year, so that the deductible is partly used."""
    visit = c.visit(RESIDENT)
    add_charge(c.county_doctor(), visit, "IMG-ABD-US", 1)
    pay(c.cashier(), visit, "earlier", c.provider)
    totals = running_totals(c.cashier(), RESIDENT, c.today.year)
    assert 0 < totals.deductible_paid < Decimal("300.00")
    return totals


def _paid(c: County, key: str = "pay-1") -> tuple[str, dict[str, str], Payment]:
    visit, charged = _visit(c)
    return visit, charged, pay(c.resident(RESIDENT), visit, key, c.provider)


def test_refund_then_resettlement_leaves_the_running_totals_as_before(
    billing_county: County,
) -> None:
    c = billing_county
    year = c.today.year
    t0 = _earlier_visit(c)
    _, charged, payment = _paid(c)
    t1 = running_totals(c.cashier(), RESIDENT, year)
    assert t1 == _engine(c, ITEMS, t0) and t1 != t0
    assert payment.cash > 0

    # partial: the lab test was not done; what remains is settled from the totals before
    part = refund(
        c.cashier(),
        payment.invoice,
        [charged["LAB-HBA1C"]],
        idempotency_key="refund-lab",
        reason="检验未做",
        provider=c.provider,
    )
    kept = [i for i in ITEMS if i[0] != "LAB-HBA1C"]
    assert running_totals(c.cashier(), RESIDENT, year) == _engine(c, kept, t0)
    assert part.cash == payment.cash - part.amounts["cash"] > 0
    assert part.amounts["total"] == payment.amounts["total"] - Decimal("60.00")
    assert c.provider.refunds[-1].amount == part.cash
    assert part.items == ((f"ChargeItem/{charged['LAB-HBA1C']}", Decimal(1)),)
    assert part.replacement is not None and part.settlement is not None

    # the rest: nothing stands, the totals are back where they were before the visit
    rest = refund(
        c.cashier(),
        part.replacement,
        idempotency_key="refund-rest",
        reason="患者要求全部退费",
        provider=c.provider,
    )
    assert rest.replacement is None and rest.settlement is None
    assert rest.cash == part.amounts["cash"]
    assert running_totals(c.cashier(), RESIDENT, year) == t0
    assert sum(m.amount for m in c.provider.refunds) == payment.cash
    assert bill(c.cashier(), payment.encounter).state == "refunded"

    # the same charges settled again: the totals are exactly as after the first payment
    _, _, again = _paid(c, "pay-2")
    assert running_totals(c.cashier(), RESIDENT, year) == t1
    assert again.amounts == payment.amounts


def test_a_partial_refund_reverses_and_resettles_in_fhir(billing_county: County) -> None:
    c = billing_county
    visit, charged, payment = _paid(c)
    done = refund(
        c.cashier(),
        payment.invoice,
        {charged["DRUG-AMLODIPINE"]: "2"},  # two of five boxes returned
        idempotency_key="boxes",
        reason="退药 2 盒",
        provider=c.provider,
    )
    old = c.repo.read("ClaimResponse", payment.claim_response).resource
    assert old["status"] == "cancelled"
    assert c.repo.read("Claim", payment.claim).resource["status"] == "cancelled"
    assert c.repo.read("Invoice", payment.invoice).resource["status"] == "cancelled"
    assert done.settlement is not None and done.replacement is not None
    new_claim = c.repo.read(
        "Claim",
        c.repo.read("ClaimResponse", done.settlement).resource["request"]["reference"][6:],
    ).resource
    assert new_claim["related"][0]["claim"]["reference"] == f"Claim/{payment.claim}"
    drug = next(
        i
        for i in new_claim["item"]
        if i["productOrService"]["coding"][0]["code"] == "DRUG-AMLODIPINE"
    )
    assert drug["quantity"]["value"] == 3
    box = c.repo.read("ChargeItem", charged["DRUG-AMLODIPINE"]).resource
    assert box["status"] == "billed" and box["quantity"]["value"] == 5
    assert [
        e["valueDecimal"] for e in box["extension"] if e["url"].endswith("refunded-quantity")
    ] == [2]
    assert done.amounts["total"] == payment.amounts["total"] - Decimal("5.60")
    reconciliation = c.repo.read("PaymentReconciliation", done.reconciliation).resource
    assert Decimal(str(reconciliation["paymentAmount"]["value"])) == -done.cash
    current = bill(c.resident(RESIDENT), visit)
    assert current.state == "settled" and current.invoice == done.replacement
    assert current.amounts == done.amounts


def _refused(c: County, code: str, call: Callable[[], object]) -> None:
    before = c.counts() | {"ChargeItem": c.count("ChargeItem")}
    statuses = sorted(
        (b.resource["status"], b.version)
        for b in (c.repo.read("ChargeItem", i["id"]) for i in _items(c))
    )
    with pytest.raises(OperationOutcomeError) as err:
        call()
    assert err.value.code == code, err.value
    assert c.counts() | {"ChargeItem": c.count("ChargeItem")} == before  # no money moved
    assert statuses == sorted(
        (b.resource["status"], b.version)
        for b in (c.repo.read("ChargeItem", i["id"]) for i in _items(c))
    )


def _items(c: County) -> list[dict[str, Any]]:
    return list(find_all(c.repo, "ChargeItem", []))


def test_refunds_larger_than_what_was_paid_are_refused(billing_county: County) -> None:
    c = billing_county
    _, charged, payment = _paid(c)
    cashier = c.cashier()
    lab = charged["LAB-HBA1C"]

    def ask(
        items: list[str] | dict[str, object] | None, key: str, invoice: str = payment.invoice
    ) -> Callable[[], Refund]:
        return partial(
            refund, cashier, invoice, items, idempotency_key=key, reason="退费", provider=c.provider
        )

    _refused(c, "CH-9404", ask({charged["DRUG-AMLODIPINE"]: 6}, "six-of-five"))
    part = refund(
        cashier, payment.invoice, [lab], idempotency_key="lab", reason="退费", provider=c.provider
    )
    assert part.replacement is not None
    _refused(c, "CH-9404", ask([lab], "lab-again", part.replacement))  # refunded before
    _refused(c, "CH-9404", ask(None, "old-invoice"))  # cancelled by the first refund
    _refused(c, "CH-9401", ask(["ChargeItem/not-on-it"], "stranger", part.replacement))
    _refused(c, "CH-9401", ask({charged["DRUG-AMLODIPINE"]: "-1"}, "negative", part.replacement))
    _refused(c, "CH-9401", ask({charged["DRUG-AMLODIPINE"]: "lots"}, "words", part.replacement))
    _refused(c, "CH-9401", ask([], "empty", part.replacement))
    _refused(
        c,
        "CH-9401",
        lambda: refund(
            cashier,
            part.replacement or "",
            None,
            idempotency_key="why",
            reason=" ",
            provider=c.provider,
        ),
    )
    _refused(
        c,
        "CH-4003",
        lambda: refund(
            c.resident(RESIDENT),
            part.replacement or "",
            None,
            idempotency_key="me",
            reason="x",
            provider=c.provider,
        ),
    )
    c.provider.fail_next = 1
    _refused(c, "CH-9406", ask(None, "declined", part.replacement))
    # the key of the declined refund is free again; the whole remainder comes back
    rest = refund(
        cashier,
        part.replacement,
        None,
        idempotency_key="declined",
        reason="退费",
        provider=c.provider,
    )
    assert part.cash + rest.cash == payment.cash


def test_the_same_refund_key_answers_the_same_refund(billing_county: County) -> None:
    c = billing_county
    _, charged, payment = _paid(c)
    lab = charged["LAB-HBA1C"]
    first = refund(
        c.cashier(),
        payment.invoice,
        [lab],
        idempotency_key="r-1",
        reason="退费",
        provider=c.provider,
    )
    again = refund(
        c.cashier(),
        payment.invoice,
        [lab],
        idempotency_key="r-1",
        reason="退费",
        provider=c.provider,
    )
    assert again == first and again.replayed and len(c.provider.refunds) == 1
    _refused(
        c,
        "CH-9407",
        lambda: refund(
            c.cashier(),
            payment.invoice,
            [charged["IMG-CHEST-CT"]],
            idempotency_key="r-1",
            reason="退费",
            provider=c.provider,
        ),
    )
    _refused(c, "CH-9407", lambda: pay(c.cashier(), payment.encounter, "r-1", c.provider))


def test_the_day_book_lists_payments_and_refunds_as_the_provider_moved_them(
    billing_county: County,
) -> None:
    c = billing_county
    _, charged, payment = _paid(c)
    assert dict(payment.institutions) == {
        f"Organization/{COUNTY}": payment.amounts["total"] - Decimal("60.00"),
        f"Organization/{TOWN}": Decimal("60.00"),
    }
    back = refund(
        c.cashier(),
        payment.invoice,
        [charged["LAB-HBA1C"]],
        idempotency_key="day-refund",
        reason="检验未做",
        provider=c.provider,
    )
    assert back.returned["total"] == Decimal("60.00") and back.returned["cash"] == back.cash
    assert sum(back.returned[p] for p in PAYERS) == back.returned["total"]
    assert back.institutions == ((f"Organization/{TOWN}", Decimal("60.00")),)
    book = day_book(c.cashier(), c.today)
    assert book == [payment, back]
    assert day_book(c.cashier(TOWN), c.today) == []  # another institution's cashier
    rows = [
        ReconciliationRow(
            time=datetime.fromisoformat(m.paid_at if isinstance(m, Payment) else m.refunded_at),
            invoice=m.invoice,
            visit=payment.encounter,
            patient="王*民",
            institutions=tuple(
                (org, share if isinstance(m, Payment) else -share) for org, share in m.institutions
            ),
            kind="payment" if isinstance(m, Payment) else "refund",
            provider_reference=m.transaction or "",
            **{
                name: (m.amounts[name] if isinstance(m, Payment) else -m.returned[name])
                for name in ("total", *PAYERS)
            },
        )
        for m in book
    ]
    taken, given = c.provider.statement(c.today)
    workbook = reconciliation_workbook(c.today, rows, ProviderTotals(taken, -given))
    assert workbook.startswith(b"PK")
    assert taken - given == sum(r.cash for r in rows)
