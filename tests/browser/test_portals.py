"""Each role's main flow in a real browser on the seeded demo county, one screenshot per step
(kept under .cache/artifacts/browser/<test>/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from countyhealth.app import create_app
from countyhealth.fhir.search_request import parse_search
from countyhealth.store import Store, system_caller
from tests.browser.conftest import Steps
from tests.support.demo_county import DemoCounty
from tests.support.live_server import serving

PHONE_SCREEN = {"width": 375, "height": 780}


@pytest.fixture(scope="module")
def base_url(county: DemoCounty, county_store: Store, chromium: Any) -> Iterator[str]:
    with serving(create_app(county.settings, county_store)) as url:
        yield url


def sign_in_staff(page: Any, base_url: str, county: DemoCounty, role: str) -> None:
    account = county.account(role)
    page.goto(f"{base_url}/app")  # not signed in: sent to the sign-in page, then back
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", account["username"])
    page.fill("input[name=password]", account["password"])
    page.click("form[action='/auth/login'] button[type=submit]")
    page.wait_for_selector("main h1")
    assert page.url == f"{base_url}/app"


def request_code(page: Any, base_url: str, county: DemoCounty, next_page: str = "/app") -> None:
    """Resident sign-in, step 1: the phone number; waits for the code page."""
    page.goto(f"{base_url}/auth/login?next={next_page}")
    page.fill("input[name=phone]", county.account("resident")["phone"])
    page.click("form[action='/auth/otp'] button[type=submit]")
    page.wait_for_selector("input[name=code]")


def enter_code(page: Any) -> None:
    """Resident sign-in, step 2: the code the development page shows (演示用 / demo only)."""
    shown = re.search(r"demo only: (\d{6})", page.inner_text("body").replace("\n", " "))
    assert shown, "the code is shown in development"
    page.fill("input[name=code]", shown.group(1))
    page.click("form[action='/auth/otp/verify'] button[type=submit]")


def first_patient_of_home(page: Any) -> str:
    link = page.locator("main table a[href^='/app/patients/']").first
    href = link.get_attribute("href")
    assert href
    link.click()
    page.wait_for_selector(".patient-card")
    return str(href.rsplit("/", 1)[1])


@pytest.mark.parametrize(
    "role", ["county-clinician", "township-clinician", "family-doctor", "village-doctor", "nurse"]
)
def test_clinician_finds_a_patient_and_reads_the_overview(
    chromium: Any, base_url: str, county: DemoCounty, county_store: Store, role: str, steps: Steps
) -> None:
    page = chromium.new_page(locale="zh-CN")
    sign_in_staff(page, base_url, county, role)
    steps.shot(page, "home")
    pid = first_patient_of_home(page)
    steps.shot(page, "overview-from-home")
    name = page.inner_text(".patient-card h1").split()[0]

    page.click("header nav a[href='/app/patients']")
    page.fill("input[name=q]", name)
    page.press("input[name=q]", "Enter")  # htmx swaps the results into the page
    page.wait_for_selector(f"main table a[href='/app/patients/{pid}']")
    assert "q=" in page.url  # the search is in the address bar (hx-push-url)
    steps.shot(page, "search-by-name")
    page.click(f"main table a[href='/app/patients/{pid}']")
    page.wait_for_selector(".patient-card")
    if page.locator("[data-chart]").count():
        page.wait_for_selector("[data-chart] svg")  # ECharts drew the trend
    steps.shot(page, "overview")
    page.close()


def test_township_clinician_breaks_the_glass(
    chromium: Any, base_url: str, county: DemoCounty, county_store: Store, steps: Steps
) -> None:
    page = chromium.new_page(locale="zh-CN")
    sign_in_staff(page, base_url, county, "township-clinician")
    repo = county_store.repository(system_caller("tests"))
    found = repo.search(parse_search(("Patient",), [("_count", "300"), ("_sort", "-_id")]))
    for stored in found.entries:
        page.goto(f"{base_url}/app/patients/{stored.id}")
        if page.locator("details summary").count() and page.locator(".timeline li").count() == 0:
            break
    else:
        raise AssertionError("no patient with records elsewhere")
    steps.shot(page, "restricted-overview")
    page.click("details summary")
    page.fill("textarea[name=reason]", "夜间急诊昏迷患者，需查既往病史与用药")
    steps.shot(page, "reason-given")
    page.click("form[action$='/break-glass'] button[type=submit]")
    page.wait_for_selector(".banner-glass")
    assert "夜间急诊昏迷患者" in page.inner_text(".banner-glass")
    steps.shot(page, "record-open-with-banner")
    page.close()


@pytest.mark.parametrize("role", ["cashier", "dispatcher", "public-health-officer"])
def test_other_staff_open_a_record_from_their_home_page(
    chromium: Any, base_url: str, county: DemoCounty, role: str, steps: Steps
) -> None:
    page = chromium.new_page(locale="zh-CN")
    sign_in_staff(page, base_url, county, role)
    steps.shot(page, "home")
    if page.locator("main table a[href^='/app/patients/']").count():
        first_patient_of_home(page)
        steps.shot(page, "overview")
        card = page.inner_text(".patient-card")
        if role == "public-health-officer":
            assert not re.search(r"\d{4}\*+", card)  # statutory reading: full identifiers
    page.close()


def test_language_switch_and_keyboard(
    chromium: Any, base_url: str, county: DemoCounty, steps: Steps
) -> None:
    page = chromium.new_page(locale="zh-CN")
    sign_in_staff(page, base_url, county, "county-clinician")
    page.click("a[lang=en]")
    page.wait_for_selector("text=Welcome")
    assert page.inner_text("header nav").count("Patients") == 1
    steps.shot(page, "english")
    # keyboard: the first Tab reaches the skip link, which moves focus to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.click("a[lang=zh-CN]")
    page.wait_for_selector("text=您好")
    steps.shot(page, "chinese-again")
    page.close()


def test_pages_fit_a_phone_screen(
    chromium: Any, base_url: str, county: DemoCounty, steps: Steps
) -> None:
    context = chromium.new_context(viewport=PHONE_SCREEN, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    sign_in_staff(page, base_url, county, "village-doctor")
    steps.shot(page, "home-on-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]
    first_patient_of_home(page)
    steps.shot(page, "overview-on-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]
    context.close()


def test_observation_trends_are_drawn(
    chromium: Any, base_url: str, county: DemoCounty, county_store: Store, steps: Steps
) -> None:
    repo = county_store.repository(system_caller("tests"))
    found = repo.search(
        parse_search(("Observation",), [("code", "http://loinc.org|85354-9"), ("_count", "1000")])
    )
    counts: dict[str, int] = {}
    for stored in found.entries:
        pid = stored.resource["subject"]["reference"].split("/")[1]
        counts[pid] = counts.get(pid, 0) + 1
    pid = max(counts, key=lambda p: counts[p])
    assert counts[pid] >= 2, "the demo county has no repeated blood pressure"
    page = chromium.new_page(locale="zh-CN")
    sign_in_staff(page, base_url, county, "public-health-officer")
    page.goto(f"{base_url}/app/patients/{pid}")
    chart = page.locator("[data-chart]").first
    chart.wait_for()
    page.wait_for_selector("[data-chart][data-drawn] svg", state="attached")
    assert chart.locator("svg path").count() > 5  # axes, grid and the two series
    assert "血压" in (chart.get_attribute("aria-label") or "")
    steps.shot(page, "blood-pressure-trend")
    page.close()


def test_bureau_admin_runs_the_network(
    chromium: Any, base_url: str, county: DemoCounty, steps: Steps
) -> None:
    page = chromium.new_page(locale="zh-CN")
    sign_in_staff(page, base_url, county, "bureau-admin")
    steps.shot(page, "home")
    page.click("header nav a[href='/app/admin/organizations']")
    page.fill("input[name=q]", "卫生院")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("main table a[href^='/app/admin/organizations/']")
    steps.shot(page, "organisations-filtered")
    page.locator("main table a[href^='/app/admin/organizations/']").first.click()
    page.wait_for_selector("input[name=name]")  # the add-department form
    steps.shot(page, "organisation-and-departments")

    page.click("header nav a[href='/app/admin/users']")
    page.fill("input[name=username]", "dr.browser")
    page.fill("input[name=display_name]", "浏览器测试医生")
    page.select_option("select[name=role]", "township-clinician")
    page.fill("input[name=organization]", county.account("township-clinician")["organization"])
    page.click("form[action='/app/admin/users'] button[type=submit]")
    page.wait_for_selector("text=dr.browser")
    steps.shot(page, "user-created-password-shown-once")

    page.click("header nav a[href='/app/admin/roles']")
    page.wait_for_selector("main table")
    assert "user/*.rs" in page.inner_text("main")  # the scopes of the clinical roles
    steps.shot(page, "roles")
    page.click("header nav a[href='/app/admin/break-glass']")
    page.wait_for_selector("main h1")
    steps.shot(page, "break-glass-report")
    page.close()


def test_resident_on_a_phone_shares_and_sees_who_read(
    chromium: Any, base_url: str, county: DemoCounty, steps: Steps
) -> None:
    context = chromium.new_context(viewport=PHONE_SCREEN, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    request_code(page, base_url, county)
    enter_code(page)
    page.wait_for_selector("text=我和家人")
    steps.shot(page, "home")

    page.click("header nav a[href='/app/me/records']")
    page.wait_for_selector(".patient-card")
    steps.shot(page, "my-record")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]

    page.click("header nav a[href='/app/me/consents']")
    hospital = county.account("county-clinician")["organization"]
    page.select_option("select[name=grantee]", hospital)
    page.select_option("select[name=category]", "results")
    page.fill("input[name=days]", "30")
    steps.shot(page, "granting")
    page.click("form[action='/app/me/consents'] button[type=submit]")
    page.wait_for_selector("form[action$='/revoke'] button")
    steps.shot(page, "granted")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]

    page.click("header nav a[href='/app/me/access-log']")
    page.wait_for_selector("main h1")
    steps.shot(page, "who-read-my-record")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]

    page.click("header nav a[href='/app/me/consents']")
    page.click("form[action$='/revoke'] button")
    page.wait_for_selector("text=授权已撤销")
    steps.shot(page, "withdrawn")
    context.close()


def test_e_health_code_from_phone_to_desk(
    chromium: Any, base_url: str, county: DemoCounty, steps: Steps
) -> None:
    phone = chromium.new_context(viewport=PHONE_SCREEN, is_mobile=True, locale="zh-CN")
    mine = phone.new_page()
    request_code(mine, base_url, county, "/app/me/card")
    enter_code(mine)
    mine.wait_for_selector(".qr svg")
    steps.shot(mine, "code-on-phone")
    code = mine.evaluate("fetch('/app/me/card?format=json').then(r => r.json())")["code"]

    desk = chromium.new_page(locale="zh-CN")
    sign_in_staff(desk, base_url, county, "nurse")
    desk.click("header nav a[href='/app/patients']")
    desk.fill("input[name=q]", code)  # what a scanner types
    desk.press("input[name=q]", "Enter")
    desk.wait_for_selector("main table a[href^='/app/patients/']")
    assert desk.locator("main table a[href^='/app/patients/']").count() == 1
    steps.shot(desk, "scanned-at-the-desk")
    desk.close()
    phone.close()
