"""Signing in with a real browser: a county clinician with username and password, a resident
on a phone-sized screen with a one-time code, and a wrong password shown as a message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from countyhealth.app import create_app
from countyhealth.security.enrolment import add_user
from countyhealth.security.services import AuthServices
from countyhealth.store import Store, system_caller
from tests.browser.conftest import Steps
from tests.conftest import make_settings
from tests.support.accounts import FAST_PASSWORDS, id_number, put_patient
from tests.support.live_server import serving

PASSWORD = "青山 county hospital 2026"
PHONE = "13812345678"


@pytest.fixture
def base_url(tmp_path: Path, request: pytest.FixtureRequest, chromium: Any) -> Iterator[str]:
    settings = make_settings("sqlite", tmp_path, request, bulk_worker=False, **FAST_PASSWORDS)
    store = Store.open(settings)
    put_patient(
        store.repository(system_caller("tests")),
        "mother",
        phone=PHONE,
        number=id_number(date(1990, 5, 1), 12),
    )
    app = create_app(settings, store)
    services: AuthServices = app.state.auth
    add_user(
        services.accounts,
        services.passwords,
        services.settings,
        username="dr.zhou",
        roles=["county-clinician"],
        organization="Organization/org-h01",
        actors=["Practitioner/prac-0001"],
        display_name="周医生",
        password=PASSWORD,
    )
    with serving(app) as url:
        yield url


def test_a_clinician_signs_in_and_out(chromium: Any, base_url: str, steps: Steps) -> None:
    page = chromium.new_page(locale="zh-CN")
    page.goto(f"{base_url}/auth/login")
    steps.shot(page, "login-page")
    page.fill("input[name=username]", "dr.zhou")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/auth/login'] button[type=submit]")
    page.wait_for_selector("text=您好")
    steps.shot(page, "signed-in")
    assert page.url.endswith("/app")
    assert "周医生" in page.inner_text("header")
    page.click("form[action='/auth/logout'] button[type=submit]")
    page.wait_for_selector("input[name=username]")
    steps.shot(page, "signed-out")
    page.close()


def test_a_wrong_password_is_a_message_not_an_error_page(
    chromium: Any, base_url: str, steps: Steps
) -> None:
    page = chromium.new_page(locale="zh-CN")
    page.goto(f"{base_url}/auth/login")
    page.fill("input[name=username]", "dr.zhou")
    page.fill("input[name=password]", "not the password")
    page.click("form[action='/auth/login'] button[type=submit]")
    page.wait_for_selector("text=用户名或密码错误")
    steps.shot(page, "wrong-password")
    assert page.locator("input[name=username]").input_value() == "dr.zhou"
    page.close()


def test_a_resident_signs_in_with_a_code_on_a_phone(
    chromium: Any, base_url: str, steps: Steps
) -> None:
    context = chromium.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(f"{base_url}/auth/login")
    page.fill("input[name=phone]", PHONE)
    steps.shot(page, "phone-entered")
    page.click("form[action='/auth/otp'] button[type=submit]")
    page.wait_for_selector("input[name=code]")
    steps.shot(page, "code-shown")
    shown = re.search(r"demo only: (\d{6})", page.inner_text("body").replace("\n", " "))
    assert shown, page.inner_text("body")
    page.fill("input[name=code]", shown.group(1))
    page.click("form[action='/auth/otp/verify'] button[type=submit]")
    page.wait_for_selector("text=您好")
    steps.shot(page, "signed-in")
    assert "李梅" in page.content()
    # usable at 375 px: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
