"""Mutual recognition in a real browser: a township doctor orders HbA1c from the patient
overview, sees the county hospital's 浙HR result of three weeks ago and accepts it; a county
doctor re-tests another patient with the reason 病情变化; the bureau's KPI page moves. One
screenshot per step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from countyhealth.app import create_app
from countyhealth.store import Store
from tests.browser.conftest import Steps
from tests.browser.test_portals import sign_in_staff
from tests.support.demo_county import DemoCounty
from tests.support.live_server import serving
from tests.support.recognition_case import RecognitionCase, plant_recognition_cases


@pytest.fixture(scope="module")
def cases(county: DemoCounty, county_store: Store) -> dict[str, RecognitionCase]:
    return plant_recognition_cases(county, county_store)


@pytest.fixture(scope="module")
def base_url(
    county: DemoCounty, county_store: Store, chromium: Any, cases: dict[str, RecognitionCase]
) -> Iterator[str]:
    with serving(create_app(county.settings, county_store)) as url:
        yield url


def _kpi(page: Any, kpi: str) -> str:
    return str(page.inner_text(f"tr[data-kpi='{kpi}'] td:nth-child(2)")).strip()


def _order_hba1c(page: Any, base_url: str, patient: str) -> None:
    page.goto(f"{base_url}/app/patients/{patient}")
    page.click("#order-test")
    page.wait_for_selector("select[name=item]")
    page.select_option("select[name=item]", "ZJHR-HBA1C")
    page.click("form[action$='/orders'] button[type=submit]")
    page.wait_for_selector("#order-state")


def test_township_accepts_county_retests_kpis_move(
    chromium: Any,
    base_url: str,
    county: DemoCounty,
    cases: dict[str, RecognitionCase],
    steps: Steps,
) -> None:
    bureau = chromium.new_page(locale="zh-CN")
    sign_in_staff(bureau, base_url, county, "bureau-admin")
    bureau.goto(f"{base_url}/app/reports/recognition")
    before = (_kpi(bureau, "recognition-rate"), _kpi(bureau, "retest-disease-change"))
    steps.shot(bureau, "kpis-before")

    township = chromium.new_page(locale="zh-CN")
    sign_in_staff(township, base_url, county, "township-clinician")
    _order_hba1c(township, base_url, cases["township"].patient)
    row = township.locator(f"#suggestions tr[data-report='{cases['township'].report}']")
    assert "浙HR" in row.inner_text() and "21 天前" in row.inner_text()
    steps.shot(township, "suggestion")
    row.locator("button[type=submit]").click()
    township.wait_for_selector("#order-state[data-outcome=recognised]")
    assert "已互认" in township.inner_text("#order-state")
    steps.shot(township, "recognised")

    doctor = chromium.new_page(locale="zh-CN")
    sign_in_staff(doctor, base_url, county, "county-clinician")
    _order_hba1c(doctor, base_url, cases["county"].patient)
    doctor.wait_for_selector(f"#suggestions tr[data-report='{cases['county'].report}']")
    doctor.select_option("select[name=reason]", "disease-change")
    doctor.click("#retest-form button[type=submit]")
    doctor.wait_for_selector("#order-state[data-outcome=retest]")
    assert "病情变化" in doctor.inner_text("#order-state")
    steps.shot(doctor, "retest")

    bureau.reload()
    after = (_kpi(bureau, "recognition-rate"), _kpi(bureau, "retest-disease-change"))
    assert after != before
    assert int(after[1]) == int(before[1]) + 1
    steps.shot(bureau, "kpis-after")
