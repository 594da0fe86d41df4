"""One settlement per visit: the split, the FHIR resources that carry it, idempotency keys,
a declined payment, credit-based care and the running totals (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from countyhealth.billing import payments
from countyhealth.billing.bills import bill
from countyhealth.billing.charges import add_charge
from countyhealth.billing.credit import close_on_credit, open_visits
from countyhealth.billing.engine import settle
from countyhealth.billing.engine_types import ChargeLine, Insured, Totals, VisitContext
from countyhealth.billing.payments import pay
from countyhealth.billing.policy import policy_for
from countyhealth.billing.records import EXT_MEDICAL_ASSISTANCE, SETTLEMENT_FIELD
from countyhealth.billing.settlements import SPLIT
from countyhealth.billing.totals import running_totals
from countyhealth.errors import OperationOutcomeError

from .conftest import (
    ACCOUNT_BALANCE,
    AREA,
    COUNTY,
    EMPLOYEE,
    OTHER,
    RESIDENT,
    TOWN,
    UNINSURED,
    County,
)

PAYERS = ("fund", "catastrophic", "assistance", "commercial", "account", "cash")


def _adds_up(amounts: dict[str, Decimal]) -> None:
    assert amounts["total"] == sum(amounts[p] for p in PAYERS)
    assert amounts["total"] == sum(
        amounts[p] for p in ("full_self_pay", "over_limit_self_pay", "pre_self_pay", "in_scope")
    )
    assert all(v >= 0 for v in amounts.values())


def _lab_and_pharmacy(c: County, patient: str = RESIDENT, cls: str = "AMB") -> str:
    """A county-hospital visit with a consultation, a township lab test and drugs."""
    visit = c.visit(patient, cls=cls)
    add_charge(c.county_doctor(), visit, "CONS-SECONDARY", 1)
    add_charge(c.town_doctor(), visit, "LAB-HBA1C", 1)
    add_charge(c.county_doctor(), visit, "DRUG-AMLODIPINE", 2)
    return visit


def test_a_visit_with_lab_and_pharmacy_at_two_institutions_is_paid_once(
    billing_county: County,
) -> None:
    c = billing_county
    visit = _lab_and_pharmacy(c, cls="IMP")  # inpatient: the fund pays above the deductible
    add_charge(c.county_doctor(), visit, "PROC-APPENDECTOMY", 1)
    add_charge(c.staff("nurse", COUNTY), visit, "BED-WARD", 3)
    preview = bill(c.resident(RESIDENT), visit)
    assert preview.state == "open" and preview.preview and preview.facility_level == "secondary"
    assert {line.organization for line in preview.lines} == {
        f"Organization/{COUNTY}",
        f"Organization/{TOWN}",
    }
    _adds_up(preview.amounts)
    assert preview.amounts["total"] == Decimal("1370.60")
    assert preview.amounts["fund"] > 0 and preview.amounts["cash"] > 0
    assert preview.explain[0].startswith("本次医疗费用总额 1370.60 元")
    for line in preview.lines:  # explained line by line: each line's payers add up
        assert line.amounts["amount"] == sum(line.amounts[p] for p in PAYERS)
    assert sum(line.amounts["cash"] for line in preview.lines) == preview.amounts["cash"]

    payment = pay(c.resident(RESIDENT), visit, "pay-visit-1", c.provider)

    assert payment.amounts == preview.amounts and payment.explain == preview.explain
    assert payment.cash == preview.amounts["cash"]
    assert [(m.kind, m.amount) for m in c.provider.movements] == [("charge", payment.cash)]
    assert payment.transaction == c.provider.movements[0].transaction
    assert c.counts() == {
        "Claim": 1,
        "ClaimResponse": 1,
        "Invoice": 1,
        "PaymentReconciliation": 1,
        "Coverage": 4,  # the seeded ones: no self-pay Coverage for an insured person
        "provider": 1,
    }
    items = [
        c.repo.read("ChargeItem", line.charge.removeprefix("ChargeItem/")) for line in preview.lines
    ]
    assert {i.resource["status"] for i in items} == {"billed"}
    after = bill(c.cashier(), visit)
    assert after.state == "settled" and not after.preview and after.to_pay == 0
    assert after.amounts == payment.amounts and after.invoice == payment.invoice
    with pytest.raises(OperationOutcomeError) as again:
        pay(c.cashier(), visit, "pay-visit-2", c.provider)  # another key: still one payment
    assert again.value.code == "CH-9405"
    assert len(c.provider.movements) == 1 and c.count("ClaimResponse") == 1


def test_the_split_in_fhir(billing_county: County) -> None:
    """ClaimResponse.total carries the national fields; the Claim has an item per ChargeItem,
    the Invoice a line per ChargeItem, gross = 医疗费总额, net = what the patient bore."""
    c = billing_county
    visit = _lab_and_pharmacy(c, EMPLOYEE)
    payment = pay(c.cashier(), visit, "fhir-1", c.provider)
    response = c.repo.read("ClaimResponse", payment.claim_response).resource
    codes = {
        coding["code"]: t["amount"]["value"]
        for t in response["total"]
        for coding in t["category"]["coding"]
        if coding["system"] == SETTLEMENT_FIELD
    }
    assert set(codes) >= {
        "medfee_sumamt",
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
        "act_pay_dedc",
        "hifp_pay",
        "hifob_pay",  # 职工大额 for an employee
        "maf_pay",
        "commercial_pay",
        "acct_pay",
        "psn_cash_pay",
        "fund_pay_sumamt",
        "psn_part_amt",
    }
    assert Decimal(str(codes["medfee_sumamt"])) == payment.amounts["total"]
    assert Decimal(str(codes["acct_pay"])) == payment.amounts["account"] > 0
    assert Decimal(str(codes["commercial_pay"])) == payment.amounts["commercial"] > 0
    assert response["status"] == "active" and response["outcome"] == "complete"
    assert response["insurer"]["reference"] == "Organization/org-hsb"
    assert len(response["item"]) == 3 and len(response["processNote"]) == len(payment.explain)
    claim = c.repo.read("Claim", payment.claim).resource
    assert [i["coverage"]["reference"] for i in claim["insurance"]] == [
        "Coverage/cov-employee",
        "Coverage/cov-employee-commercial",
    ]
    assert len(claim["item"]) == 3 and claim["provider"]["reference"] == f"Organization/{COUNTY}"
    invoice = c.repo.read("Invoice", payment.invoice).resource
    assert invoice["status"] == "balanced" and len(invoice["lineItem"]) == 3
    assert Decimal(str(invoice["totalGross"]["value"])) == payment.amounts["total"]
    assert Decimal(str(invoice["totalNet"]["value"])) == (
        payment.amounts["account"] + payment.amounts["cash"]
    )
    _adds_up(payment.amounts)


def test_the_same_key_answers_the_same_payment(billing_county: County) -> None:
    c = billing_county
    visit = _lab_and_pharmacy(c)
    first = pay(c.resident(RESIDENT), visit, "same-key", c.provider)
    again = pay(c.cashier(), visit, "same-key", c.provider)
    assert again == first and again.replayed and not first.replayed
    assert len(c.provider.charges) == 1
    other = _lab_and_pharmacy(c)
    before = c.counts()
    with pytest.raises(OperationOutcomeError) as reused:
        pay(c.resident(RESIDENT), other, "same-key", c.provider)
    assert reused.value.code == "CH-9407" and reused.value.status == 409
    assert c.counts() == before
    assert bill(c.cashier(), other).state == "open"


def test_a_declined_payment_writes_nothing_and_frees_the_key(billing_county: County) -> None:
    c = billing_county
    visit = _lab_and_pharmacy(c)
    before = c.counts()
    c.provider.fail_next = 1
    with pytest.raises(OperationOutcomeError) as declined:
        pay(c.resident(RESIDENT), visit, "declined-1", c.provider)
    assert declined.value.code == "CH-9406" and declined.value.status == 402
    assert c.counts() == before
    still = bill(c.cashier(), visit)
    assert still.state == "open" and {line.status for line in still.lines} == {"billable"}
    payment = pay(c.resident(RESIDENT), visit, "declined-1", c.provider)  # retry, same key
    assert payment.cash > 0 and len(c.provider.charges) == 1


def test_a_charge_the_platform_could_not_record_is_voided(
    billing_county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider took the money, then the unit of work failed: the charge is given back
    and nothing is written; a retry with the key pays afresh."""
    c = billing_county
    visit = _lab_and_pharmacy(c)
    before = c.counts()

    def broken(*args: object, **kwargs: object) -> dict[str, object]:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(payments, "reconciliation_body", broken)
    with pytest.raises(RuntimeError):
        pay(c.cashier(), visit, "lost-1", c.provider)
    charge, void = c.provider.movements
    assert (charge.kind, void.kind, void.amount) == ("charge", "refund", charge.amount)
    assert {k: v for k, v in c.counts().items() if k != "provider"} == {
        k: v for k, v in before.items() if k != "provider"
    }
    monkeypatch.undo()
    payment = pay(c.cashier(), visit, "lost-1", c.provider)
    assert payment.transaction not in (None, charge.transaction)
    assert len(c.provider.charges) == 2 and len(c.provider.refunds) == 1


def test_nothing_to_settle_and_who_may_pay(billing_county: County) -> None:
    c = billing_county
    empty = c.visit(RESIDENT)
    with pytest.raises(OperationOutcomeError) as nothing:
        pay(c.cashier(), empty, "empty-1", c.provider)
    assert nothing.value.code == "CH-9405"
    visit = _lab_and_pharmacy(c)
    with pytest.raises(OperationOutcomeError) as doctor:
        pay(c.county_doctor(), visit, "doctor-1", c.provider)
    assert doctor.value.code == "CH-4003"
    with pytest.raises(OperationOutcomeError) as stranger:
        pay(c.resident(OTHER), visit, "stranger-1", c.provider)
    assert stranger.value.status in (403, 404)
    with pytest.raises(OperationOutcomeError) as township:  # not the visit's institution
        pay(c.cashier(TOWN), visit, "town-1", c.provider)
    assert township.value.status in (403, 404)
    with pytest.raises(OperationOutcomeError) as bad_key:
        pay(c.cashier(), visit, "no spaces|or bars", c.provider)
    assert bad_key.value.code == "CH-9401"
    assert c.counts()["ClaimResponse"] == 0 and not c.provider.movements


def test_a_person_without_insurance_pays_everything_in_cash(billing_county: County) -> None:
    c = billing_county
    visit = _lab_and_pharmacy(c, UNINSURED)
    payment = pay(c.cashier(), visit, "self-pay-1", c.provider)
    assert payment.amounts["cash"] == payment.amounts["total"] == payment.amounts["full_self_pay"]
    claim = c.repo.read("Claim", payment.claim).resource
    coverage = c.repo.read("Coverage", claim["insurance"][0]["coverage"]["reference"][9:]).resource
    assert coverage["type"]["coding"][0]["code"] == "pay"  # coverage-selfpay
    second = _lab_and_pharmacy(c, UNINSURED)
    pay(c.cashier(), second, "self-pay-2", c.provider)
    assert c.count("Coverage") == 5  # one self-pay Coverage, reused


def test_the_personal_account_balance_is_derived_from_settlements(billing_county: County) -> None:
    c = billing_county
    spent = Decimal("0.00")
    for n in range(4):  # 99.00 from the account each time (after the commercial plan's half)
        visit = c.visit(EMPLOYEE)
        add_charge(c.county_doctor(), visit, "IMG-CHEST-CT", 1)
        payment = pay(c.cashier(), visit, f"account-{n}", c.provider)
        _adds_up(payment.amounts)
        spent += payment.amounts["account"]
        assert any(
            f"余额 {ACCOUNT_BALANCE - spent + payment.amounts['account']}" in s
            for s in payment.explain
        )
    assert spent == ACCOUNT_BALANCE  # the fourth visit empties the account; cash pays the rest
    assert payment.amounts["cash"] > 0
    assert running_totals(c.cashier(), EMPLOYEE, c.today.year).account_paid == ACCOUNT_BALANCE


def test_running_totals_are_the_sum_of_the_standing_settlements(billing_county: County) -> None:
    """Two visits settled one after the other start from the totals the first left, exactly
    as the engine chains them."""
    c = billing_county
    year = c.today.year
    assert running_totals(c.cashier(), RESIDENT, year) == Totals.zero(year)
    first = c.visit(RESIDENT, cls="IMP")
    add_charge(c.county_doctor(), first, "PROC-APPENDECTOMY", 1)
    pay(c.cashier(), first, "totals-1", c.provider)
    second = c.visit(RESIDENT)
    add_charge(c.county_doctor(), second, "IMG-ABD-US", 1)
    pay(c.cashier(), second, "totals-2", c.provider)
    policy = policy_for(AREA, "resident", c.today)
    insured = Insured("resident", AREA)
    a = settle(
        [ChargeLine("PROC-APPENDECTOMY", "", "A", Decimal(1), Decimal("1200.00"), "")],
        insured,
        VisitContext("inpatient", "secondary", c.today),
        Totals.zero(year),
        policy,
    )
    b = settle(
        [ChargeLine("IMG-ABD-US", "", "A", Decimal(1), Decimal("120.00"), "")],
        insured,
        VisitContext("outpatient", "secondary", c.today),
        a.totals_after,
        policy,
    )
    assert running_totals(c.cashier(), RESIDENT, year) == b.totals_after
    with pytest.raises(OperationOutcomeError):
        running_totals(c.resident(OTHER), RESIDENT, year)


def test_credit_based_care_closes_unpaid_and_is_paid_later(billing_county: County) -> None:
    c = billing_county
    visit = _lab_and_pharmacy(c)
    closed = close_on_credit(c.resident(RESIDENT), visit)
    assert closed.state == "credit" and closed.preview
    assert closed.credit_due == c.today + timedelta(days=10) and not closed.overdue
    assert c.counts()["ClaimResponse"] == 0 and not c.provider.movements  # nothing settled yet
    listed = open_visits(c.cashier())
    assert [(v.encounter, v.state, v.due) for v in listed] == [(visit, "credit", closed.credit_due)]
    assert listed[0].owed == closed.amounts["cash"]
    with pytest.raises(OperationOutcomeError) as twice:
        close_on_credit(c.cashier(), visit)
    assert twice.value.code == "CH-9402"
    payment = pay(c.resident(RESIDENT), visit, "credit-later", c.provider)
    assert payment.cash == closed.amounts["cash"]
    assert bill(c.resident(RESIDENT), visit).state == "settled"
    assert open_visits(c.cashier()) == []


def test_credit_is_refused_when_overdue_or_over_the_ceiling(
    billing_county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = billing_county
    first = _lab_and_pharmacy(c)
    close_on_credit(c.resident(RESIDENT), first)
    real_now = c.store.clock.now_us
    eleven_days = 11 * 86_400 * 1_000_000
    monkeypatch.setattr(c.store.clock, "now_us", lambda: real_now() + eleven_days)
    second = _lab_and_pharmacy(c)
    assert bill(c.cashier(), first).overdue
    assert [v.overdue for v in open_visits(c.cashier()) if v.encounter == first] == [True]
    with pytest.raises(OperationOutcomeError) as overdue:
        close_on_credit(c.resident(RESIDENT), second)
    assert overdue.value.code == "CH-9401" and "overdue" in overdue.value.issues[0].diagnostics
    pay(c.resident(RESIDENT), first, "late", c.provider)  # paid late, still paid once
    assert close_on_credit(c.resident(RESIDENT), second).state == "credit"
    big = c.visit(UNINSURED)
    add_charge(c.county_doctor(), big, "PROC-APPENDECTOMY", 1)
    with pytest.raises(OperationOutcomeError) as ceiling:
        close_on_credit(c.resident(UNINSURED), big)
    assert ceiling.value.code == "CH-9401" and "1000.00" in ceiling.value.issues[0].diagnostics
    assert bill(c.cashier(), big).state == "open"


def test_every_amount_is_a_decimal(billing_county: County) -> None:
    c = billing_county
    payment = pay(c.cashier(), _lab_and_pharmacy(c, EMPLOYEE), "decimals", c.provider)
    assert set(payment.amounts) == set(SPLIT)
    assert all(
        type(v) is Decimal and v == v.quantize(Decimal("0.01")) for v in payment.amounts.values()
    )
    assert type(payment.cash) is Decimal


def test_medical_assistance_comes_from_the_coverage(billing_county: County) -> None:
    """The civil-affairs feed marks the basic Coverage with the person's 医疗救助 category."""
    c = billing_county
    coverage = c.repo.read("Coverage", "cov-other").resource
    coverage.pop("meta")
    coverage["extension"] = [
        {"url": EXT_MEDICAL_ASSISTANCE, "valueCoding": {"code": "dibao", "display": "低保对象"}}
    ]
    c.repo.update("Coverage", "cov-other", coverage)
    visit = c.visit(OTHER, cls="IMP")
    add_charge(c.county_doctor(), visit, "PROC-APPENDECTOMY", 1)
    payment = pay(c.cashier(), visit, "assisted", c.provider)
    assert payment.amounts["assistance"] > 0
    _adds_up(payment.amounts)
    assert any("医疗救助" in s for s in payment.explain)


def test_no_policy_for_the_person_moves_nothing(billing_county: County) -> None:
    c = billing_county
    coverage = c.repo.read("Coverage", "cov-other").resource
    coverage.pop("meta")
    coverage["subscriberId"] = "1101010000000004"  # insured in another area (北京东城)
    c.repo.update("Coverage", "cov-other", coverage)
    visit = c.visit(OTHER)
    add_charge(c.county_doctor(), visit, "CONS-SECONDARY", 1)
    before = c.counts()
    with pytest.raises(OperationOutcomeError) as err:
        pay(c.cashier(), visit, "elsewhere", c.provider)
    assert err.value.code == "CH-9408" and err.value.status == 422
    assert "110101" in err.value.issues[0].diagnostics
    assert c.counts() == before
