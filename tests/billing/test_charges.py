"""Charges accumulate on a visit across departments and institutions; bad charges are refused
with their code and write nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from countyhealth.billing.charges import add_charge
from countyhealth.billing.credit import close_on_credit
from countyhealth.billing.payments import pay
from countyhealth.billing.records import EXT_ITEM_CLASS, PRICE_ITEM
from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir.consent_grants import custodian_of

from .conftest import COUNTY, RESIDENT, TOWN, County


def test_charges_from_two_institutions_accumulate_on_one_visit(billing_county: County) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)  # held by the county hospital
    consult = add_charge(c.county_doctor(), visit, "CONS-SECONDARY", 1)
    lab = add_charge(c.town_doctor(), f"Encounter/{visit}", "LAB-HBA1C", "1")
    drugs = add_charge(c.cashier(), visit, "DRUG-ATORVASTATIN", Decimal("2"))
    item = lab.resource
    assert item["status"] == "billable"
    assert item["context"] == {"reference": f"Encounter/{visit}"}
    assert item["subject"] == {"reference": f"Patient/{RESIDENT}"}
    assert item["performingOrganization"]["reference"] == f"Organization/{TOWN}"
    assert item["requestingOrganization"]["reference"] == f"Organization/{COUNTY}"
    assert item["code"]["coding"][0] == {
        "system": PRICE_ITEM,
        "code": "LAB-HBA1C",
        "display": "糖化血红蛋白",
    }
    assert item["priceOverride"] == {"value": 60, "currency": "CNY"}  # from the catalogue
    assert item["quantity"]["value"] == 1
    assert item["extension"][0]["url"] == EXT_ITEM_CLASS
    assert item["extension"][0]["valueCoding"]["code"] == "B"  # 乙类
    assert drugs.resource["priceOverride"] == {"value": 12.6, "currency": "CNY"}
    # the bill belongs to the visit's institution: the county hospital's cashier reads the
    # township lab's charge, all three hang on one Account linked from the Encounter
    assert custodian_of(item) == f"Organization/{COUNTY}"
    assert c.cashier().read("ChargeItem", lab.id).resource["id"] == lab.id
    accounts = {a["reference"] for s in (consult, lab, drugs) for a in s.resource["account"]}
    assert len(accounts) == 1
    encounter = c.repo.read("Encounter", visit).resource
    assert [a["reference"] for a in encounter["account"]] == list(accounts)
    account = c.repo.read("Account", next(iter(accounts)).removeprefix("Account/")).resource
    assert account["status"] == "active"
    assert c.count("ChargeItem") == 3


@pytest.mark.parametrize(
    ("quantity", "why"),
    [
        (-1, "above zero"),
        ("-2", "above zero"),
        (0, "above zero"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("1e400", "at most"),
        ("NaN", "finite"),
        (1.5, "digits"),
        (True, "digits"),
        (None, "digits"),
        ("0.0001", "decimals"),
        ("10000", "at most"),
    ],
)
def test_bad_quantities_are_refused_and_write_nothing(
    billing_county: County, quantity: Any, why: str
) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)
    before = c.counts() | {"ChargeItem": c.count("ChargeItem")}
    with pytest.raises(OperationOutcomeError) as err:
        add_charge(c.county_doctor(), visit, "CONS-SECONDARY", quantity)
    assert err.value.code == "CH-9401" and err.value.status == 400
    assert why in err.value.issues[0].diagnostics
    assert c.counts() | {"ChargeItem": c.count("ChargeItem")} == before


def test_unknown_items_and_bad_codes(billing_county: County) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)
    with pytest.raises(OperationOutcomeError) as unknown:
        add_charge(c.county_doctor(), visit, "NO-SUCH-ITEM", 1)
    assert unknown.value.code == "CH-9403" and unknown.value.status == 422
    with pytest.raises(OperationOutcomeError) as empty:
        add_charge(c.county_doctor(), visit, " ", 1)
    assert empty.value.code == "CH-9401"
    with pytest.raises(OperationOutcomeError) as nowhere:
        add_charge(c.county_doctor(), "no-such-visit", "CONS-SECONDARY", 1)
    assert nowhere.value.code == "CH-2001"
    assert c.count("ChargeItem") == 0


def test_who_may_charge(billing_county: County) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)
    with pytest.raises(OperationOutcomeError) as resident:
        add_charge(c.resident(RESIDENT), visit, "CONS-SECONDARY", 1)
    assert resident.value.code == "CH-4003"
    with pytest.raises(OperationOutcomeError) as officer:
        add_charge(c.staff("public-health-officer", COUNTY), visit, "CONS-SECONDARY", 1)
    assert officer.value.code == "CH-4003"
    with pytest.raises(OperationOutcomeError) as other_org:  # charges for its own institution
        add_charge(c.town_doctor(), visit, "LAB-GLU", 1, performer_org=f"Organization/{COUNTY}")
    assert other_org.value.code == "CH-4003"
    # the platform (bound to no institution) names the performer
    with pytest.raises(OperationOutcomeError) as unnamed:
        add_charge(c.repo, visit, "LAB-GLU", 1)
    assert unnamed.value.code == "CH-9401"
    stored = add_charge(c.repo, visit, "LAB-GLU", 1, performer_org=TOWN)
    assert stored.resource["performingOrganization"]["reference"] == f"Organization/{TOWN}"
    assert (
        add_charge(c.staff("nurse", COUNTY), visit, "NURSE-II", 1).resource["status"] == "billable"
    )
    assert c.count("ChargeItem") == 2


def test_a_closed_visit_takes_no_charge(billing_county: County) -> None:
    c = billing_county
    settled = c.visit(RESIDENT)
    add_charge(c.county_doctor(), settled, "CONS-SECONDARY", 1)
    pay(c.cashier(), settled, "close-1", c.provider)
    on_credit = c.visit(RESIDENT)
    add_charge(c.county_doctor(), on_credit, "CONS-SECONDARY", 1)
    close_on_credit(c.resident(RESIDENT), on_credit)
    cancelled = c.visit(RESIDENT, status="cancelled")
    before = c.count("ChargeItem")
    for visit, why in [
        (settled, "settled"),
        (on_credit, "信用就医"),
        (cancelled, "cancelled"),
    ]:
        with pytest.raises(OperationOutcomeError) as err:
            add_charge(c.town_doctor(), visit, "LAB-GLU", 1)
        assert err.value.code == "CH-9402" and err.value.status == 409, visit
        assert why in err.value.issues[0].diagnostics
    assert c.count("ChargeItem") == before


def test_a_finished_encounter_still_takes_charges_until_it_is_paid(billing_county: County) -> None:
    """The doctor may close the Encounter before the pharmacy dispenses: the visit stays open
    for charges until its one settlement."""
    c = billing_county
    visit = c.visit(RESIDENT, status="finished")
    add_charge(c.county_doctor(), visit, "CONS-SECONDARY", 1)
    assert add_charge(c.cashier(), visit, "DRUG-METFORMIN", 3).resource["status"] == "billable"
