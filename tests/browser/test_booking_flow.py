"""The slot pool in a real browser: the resident triages, books and shows the QR; the front
desk checks in with the scanned code; the doctor calls; the waiting-room screen shows the
number; the bureau's KPI page moves. One screenshot per step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from countyhealth.app import create_app
from countyhealth.store import Store
from tests.browser.conftest import Steps
from tests.browser.test_portals import PHONE_SCREEN, enter_code, request_code, sign_in_staff
from tests.support.all_day_clinic import ROOM, add_all_day_clinic, quiet_all_day_clinic
from tests.support.demo_county import DemoCounty
from tests.support.live_server import serving


@pytest.fixture(scope="module")
def base_url(county: DemoCounty, county_store: Store, chromium: Any) -> Iterator[str]:
    add_all_day_clinic(county, county_store)
    with serving(create_app(county.settings, county_store)) as url:
        yield url


def _wait_basis(page: Any) -> str:
    return str(page.inner_text("tr[data-kpi='mean-wait'] td:nth-child(3)"))


def test_triage_book_check_in_call_screen_kpis(
    chromium: Any, base_url: str, county: DemoCounty, county_store: Store, steps: Steps
) -> None:
    phone = chromium.new_page(locale="zh-CN", viewport=PHONE_SCREEN)
    request_code(phone, base_url, county, "/app/booking")
    enter_code(phone)
    phone.wait_for_selector("textarea[name=symptoms]")
    patient = phone.evaluate(
        "async () => (await (await fetch('/app/booking?format=json')).json()).patientId"
    )
    quiet_all_day_clinic(county_store, patient)

    bureau = chromium.new_page(locale="zh-CN")
    sign_in_staff(bureau, base_url, county, "bureau-admin")
    bureau.goto(f"{base_url}/app/reports/scheduling")
    before = _wait_basis(bureau)
    steps.shot(bureau, "kpis-before")

    phone.fill("textarea[name=symptoms]", "发烧两天，咳嗽")
    phone.click("form[action='/app/booking/triage'] button[type=submit]")
    phone.wait_for_selector("ul.suggestions a")
    steps.shot(phone, "triage")

    phone.select_option("select[name=department]", "02")
    phone.select_option("select[name=facility]", "hospital")
    phone.click("form[action='/app/booking'] button[type=submit]")
    phone.wait_for_selector("form[action='/app/booking/book'] button")
    steps.shot(phone, "free-slots")
    phone.click("form[action='/app/booking/book'] button >> nth=0")
    phone.wait_for_selector("#appointments")
    booked = phone.locator("#appointments tbody tr", has_text="已预约").first
    number = booked.locator("td").nth(1).inner_text().strip()
    steps.shot(phone, "booked")

    phone.click("a[href^='/app/me/card']")
    phone.wait_for_selector("figure.qr svg")
    steps.shot(phone, "qr")
    code = phone.evaluate(
        "async () => (await (await fetch('/app/me/card?format=json')).json()).code"
    )

    desk = chromium.new_page(locale="zh-CN")
    sign_in_staff(desk, base_url, county, "nurse")
    desk.goto(f"{base_url}/app/clinic")
    desk.fill("input[name=code]", code)  # what a scanner types
    desk.click("form[action='/app/clinic/check-in'] button[type=submit]")
    desk.wait_for_selector("#checked-in")
    assert number in desk.inner_text("#checked-in")
    steps.shot(desk, "checked-in")

    phone.goto(f"{base_url}/app/me/appointments")
    phone.wait_for_selector(".queue-position")
    steps.shot(phone, "queue-position")

    doctor = chromium.new_page(locale="zh-CN")
    sign_in_staff(doctor, base_url, county, "county-clinician")
    doctor.goto(f"{base_url}/app/clinic/rooms/{ROOM}")
    doctor.click(f"form[action='/app/clinic/rooms/{ROOM}/call-next'] button")
    doctor.wait_for_selector("#serving strong")
    steps.shot(doctor, "called")

    screen = chromium.new_page(locale="zh-CN")
    sign_in_staff(screen, base_url, county, "nurse")
    screen.goto(f"{base_url}/app/clinic/rooms/{ROOM}/screen")
    screen.wait_for_selector("#now-calling")
    assert screen.inner_text("#now-calling").strip() == doctor.inner_text("#serving strong")
    steps.shot(screen, "call-screen")

    bureau.goto(f"{base_url}/app/reports/scheduling")
    assert _wait_basis(bureau) != before
    steps.shot(bureau, "kpis-after")
