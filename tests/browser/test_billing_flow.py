"""Pay at most once in a real browser: the resident's visit has a lab test done by the township
centre and medicines from the county hospital; on the phone the resident sees one bill with
both institutions and the 医保 split explained, pays once and downloads the e-invoice; the
cashier's daily reconciliation workbook lists the payment. One screenshot per step."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from countyhealth.app import create_app
from countyhealth.store import Store
from tests.browser.conftest import Steps
from tests.browser.test_portals import enter_code, request_code, sign_in_staff
from tests.support.billing_case import BillingCase, plant_billing_case
from tests.support.demo_county import DemoCounty
from tests.support.live_server import serving


@pytest.fixture(scope="module")
def case(county: DemoCounty, county_store: Store) -> BillingCase:
    return plant_billing_case(county, county_store)


@pytest.fixture(scope="module")
def base_url(
    county: DemoCounty, county_store: Store, chromium: Any, case: BillingCase
) -> Iterator[str]:
    with serving(create_app(county.settings, county_store)) as url:
        yield url


def test_resident_pays_once_invoice_and_reconciliation(
    chromium: Any, base_url: str, county: DemoCounty, case: BillingCase, steps: Steps
) -> None:
    phone = chromium.new_page(locale="zh-CN", viewport={"width": 375, "height": 800})
    request_code(phone, base_url, county, f"/app/bills/{case.encounter}")
    enter_code(phone)
    phone.wait_for_selector("#bill-lines")
    rows = phone.locator("#bill-lines tbody tr")
    institutions = {rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())}
    assert len(institutions) == 2
    assert phone.locator("#bill-explain li").count() >= 1
    steps.shot(phone, "bill")
    phone.click("#pay")
    phone.wait_for_selector("#bill-state[data-state=settled]")
    steps.shot(phone, "paid")
    with phone.expect_download() as download:
        phone.evaluate(
            "href => { const a = document.createElement('a'); a.href = href; a.download = 'x.pdf';"
            " document.body.appendChild(a); a.click(); }",
            phone.get_attribute("#invoice-link", "href"),
        )
    pdf = download.value.path()
    assert pdf is not None and Path(pdf).read_bytes()[:4] == b"%PDF"
    invoice = (
        str(phone.get_attribute("#invoice-link", "href")).rsplit("/", 1)[1].removesuffix(".pdf")
    )

    cashier = chromium.new_page(locale="zh-CN", accept_downloads=True)
    sign_in_staff(cashier, base_url, county, "cashier")
    cashier.goto(f"{base_url}/app/billing")
    steps.shot(cashier, "desk")
    with cashier.expect_download() as sheet:
        cashier.click("#reconciliation")
    path = sheet.value.path()
    assert path is not None
    book = load_workbook(io.BytesIO(Path(path).read_bytes()))
    cells = [str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value]
    assert invoice in cells
