"""The billing pages on the demo county: the resident's bill with charges of two institutions
and its split, pay once (a second post of the same form pays nothing more), the e-invoice, the
cashier's desk, a refund and the daily reconciliation workbook."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from countyhealth.billing import LedgerSimulatedProvider, Receipt, payment_provider
from countyhealth.identity.card import issue_card
from countyhealth.store import Store, system_caller
from tests.support.accounts import csrf_of
from tests.support.billing_case import BillingCase, plant_billing_case
from tests.support.demo_county import DemoCounty


@pytest.fixture(scope="module")
def case(county: DemoCounty, county_store: Store) -> BillingCase:
    return plant_billing_case(county, county_store)


def _form(client: TestClient, page: str) -> tuple[str, str]:
    html = client.get(page).text
    key = html.split('name="key" value="', 1)[1].split('"', 1)[0] if 'name="key"' in html else ""
    return csrf_of(html), key


def _load(ledger: LedgerSimulatedProvider) -> list[Receipt]:
    ledger.statement(date.today())  # reads the ledger file
    return ledger.movements


def test_resident_pays_once_and_the_cashier_refunds(
    case: BillingCase, browser_as: Callable[[str], TestClient], county: DemoCounty
) -> None:
    resident = browser_as("resident")
    mine = resident.get("/app/me/bills?format=json").json()["visits"]
    assert case.encounter in [v["encounter"] for v in mine]
    page = f"/app/bills/{case.encounter}"
    data = resident.get(f"{page}?format=json").json()
    assert data["state"] == "open" and data["preview"] is True
    institutions = {line["institution"] for line in data["lines"]}
    assert len(institutions) == 2  # the township lab and the hospital, on one bill
    assert data["explain"]
    total = sum(float(line["amounts"]["amount"]) for line in data["lines"])
    assert abs(total - float(data["amounts"]["total"])) < 0.005

    token, key = _form(resident, page)
    paid = resident.post(
        f"{page}/pay", data={"csrf_token": token, "key": key}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    again = resident.post(
        f"{page}/pay", data={"csrf_token": token, "key": key}, follow_redirects=False
    )
    assert (
        again.status_code == 303
    )  # the same form posted twice: the same payment, no second charge
    settled = resident.get(f"{page}?format=json").json()
    assert settled["state"] == "settled" and settled["invoice"]
    ledger = payment_provider(county.settings, lambda: 0, case.hospital)
    # charged once under the form's key (other tests of the session pay at this hospital too)
    assert [m.kind for m in _load(ledger) if m.key == key] == ["charge"]
    pdf = resident.get(f"/app/invoices/{settled['invoice']}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    fresh_token, no_form = _form(resident, page)
    assert no_form == ""  # a settled bill offers no payment
    other_key = resident.post(
        f"{page}/pay",
        data={"csrf_token": fresh_token, "key": "another-key"},
        follow_redirects=False,
    )
    assert other_key.status_code == 409  # settled: nothing to pay (CH-9402 / CH-9405)

    cashier = browser_as("cashier")
    view = cashier.get(f"{page}?format=json").json()
    drug = next(line for line in view["lines"] if "阿胶" in line["name"])
    token, key = _form(cashier, page)
    too_much = cashier.post(
        f"/app/invoices/{settled['invoice']}/refund",
        data={"csrf_token": token, "key": key, "item": "ChargeItem/nope", "reason": "x"},
        follow_redirects=False,
    )
    assert too_much.status_code in (400, 404, 422)
    back = cashier.post(
        f"/app/invoices/{settled['invoice']}/refund",
        data={"csrf_token": token, "key": key, "item": drug["charge"], "reason": "未取药"},
        follow_redirects=False,
    )
    assert back.status_code == 303, back.text
    after = cashier.get(f"{page}?format=json").json()
    assert after["invoice"] != settled["invoice"]  # red-lettered and replaced for what remains

    workbook = cashier.get(f"/app/billing/reconciliation.xlsx?day={_today(cashier)}")
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.content))
    cells = [str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value]
    assert settled["invoice"] in cells


def test_desk_lists_open_visits_and_bad_charges_are_readable(
    case: BillingCase, browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    cashier = browser_as("cashier")
    desk = cashier.get("/app/billing?format=json").json()
    assert "visits" in desk
    page = f"/app/bills/{case.encounter}"
    token, _ = _form(cashier, page)
    bad = cashier.post(
        f"{page}/charges",
        data={"csrf_token": token, "code": "LAB-HBA1C", "quantity": "-1"},
        follow_redirects=False,
    )
    assert bad.status_code in (400, 409)
    assert 'id="bill-problem"' in bad.text


def _today(client: TestClient) -> str:
    return str(client.get("/app/billing?format=json").json()["today"])


def test_the_bureau_kpi_page_counts_the_settled_visits(
    case: BillingCase, browser_as: Callable[[str], TestClient]
) -> None:
    bureau = browser_as("bureau-admin")
    data = bureau.get("/app/reports/billing?format=json").json()
    kpis = {k["id"]: k for k in data["kpis"]}
    assert {"smart-settlement-outpatient", "payments-per-visit", "time-to-payment"} <= set(kpis)
    assert kpis["smart-settlement-outpatient"]["reference"] == 84.73
    html = bureau.get("/app/reports/billing").text
    assert 'data-kpi="payments-per-visit"' in html
    bad = bureau.get("/app/reports/billing?start=2026-13-01")
    assert bad.status_code == 400


def test_the_cashier_finds_a_residents_visits_by_the_card_code(
    case: BillingCase, browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    desk_repo = county_store.repository(system_caller("tests"))
    patient_id = case.patient.removeprefix("Patient/")
    issued = issue_card(desk_repo, patient_id, "246810")
    cashier = browser_as("cashier")
    token = csrf_of(cashier.get("/app/billing").text)
    found = cashier.post(
        "/app/billing/scan?format=json",
        data={"csrf_token": token, "code": issued.static_code, "pin": "246810"},
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["scanned"] == f"Patient/{patient_id}"
    assert all(v["patient"] == f"Patient/{patient_id}" for v in body["visits"])
    wrong = cashier.post(
        "/app/billing/scan",
        data={"csrf_token": token, "code": issued.static_code, "pin": "000000"},
    )
    assert wrong.status_code == 403 and 'id="scan-problem"' in wrong.text
    assert "CH-9005" in wrong.text
    county_store.audit.flush()
    uses = [
        a
        for a in desk_repo.access_log(patient_id, limit=50)
        if a.interaction == "payment" and a.outcome == "success"
    ]
    assert uses  # the use is in the resident's access log, under the payment channel
