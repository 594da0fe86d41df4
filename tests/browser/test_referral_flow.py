"""Two-way referral in a real browser: a village doctor refers a hypertensive patient up (the
rule suggests it from today's 186/114), the county hospital accepts and the held slot is
booked, the patient is discharged with a down-referral, the family doctor records the
follow-up, and the bureau's referral KPI page changes. One screenshot per step."""

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
from tests.support.referral_case import ReferralCase, plant_referral_case


@pytest.fixture(scope="module")
def case(county: DemoCounty, county_store: Store) -> ReferralCase:
    return plant_referral_case(county, county_store, "ref-browser")


@pytest.fixture(scope="module")
def base_url(
    county: DemoCounty, county_store: Store, chromium: Any, case: ReferralCase
) -> Iterator[str]:
    with serving(create_app(county.settings, county_store)) as url:
        yield url


def _kpi(page: Any, kpi: str) -> str:
    return str(page.inner_text(f"tr[data-kpi='{kpi}'] td:nth-child(2)")).strip()


def test_refer_up_accept_discharge_follow_up_kpis(
    chromium: Any, base_url: str, county: DemoCounty, case: ReferralCase, steps: Steps
) -> None:
    bureau = chromium.new_page(locale="zh-CN")
    sign_in_staff(bureau, base_url, county, "bureau-admin")
    bureau.goto(f"{base_url}/app/reports/referrals")
    before = (_kpi(bureau, "up-referrals"), _kpi(bureau, "down-referrals"))
    steps.shot(bureau, "kpis-before")

    village = chromium.new_page(locale="zh-CN")
    sign_in_staff(village, base_url, county, "village-doctor")
    village.goto(f"{base_url}/app/patients/{case.patient}")
    village.click("#refer-up")
    suggestion = village.wait_for_selector("#suggestions [data-urgency=urgent]")
    assert suggestion is not None and "186" in suggestion.inner_text()
    assert village.is_checked("#urgent")  # the rule's urgency is preselected
    village.select_option("#destination", case.destination)
    village.fill("#note", "今日血压 186/114 mmHg，头痛")
    steps.shot(village, "refer-form")
    village.click("#refer-form button[type=submit]")
    village.wait_for_selector("#referral-state[data-status=requested]")
    assert village.get_attribute("#referral-appointment", "data-status") == "pending"
    referral_url = village.url
    steps.shot(village, "referred")

    county_doctor = chromium.new_page(locale="zh-CN")
    sign_in_staff(county_doctor, base_url, county, "county-clinician")
    county_doctor.goto(f"{base_url}/app/referrals")
    row = county_doctor.locator(f"#incoming tr[data-referral='{referral_url.rsplit('/', 1)[1]}']")
    assert "紧急" in row.inner_text()
    steps.shot(county_doctor, "worklist")
    row.locator("a").click()
    county_doctor.click("#action-accept")
    county_doctor.wait_for_selector("#referral-state[data-status=accepted]")
    assert county_doctor.get_attribute("#referral-appointment", "data-status") == "booked"
    steps.shot(county_doctor, "accepted")

    county_doctor.click("#action-discharge")
    county_doctor.wait_for_selector("#down-form")
    county_doctor.select_option("#receiver", case.centre)
    county_doctor.fill("#summary", "住院5天，血压降至 134/86 mmHg，出院。")
    county_doctor.fill("#rehabilitation", "低盐饮食，每日步行 30 分钟")
    county_doctor.fill("#follow_up", "两周内复测血压")
    county_doctor.fill("#medication", "氨氯地平 5 mg 每日一次")
    steps.shot(county_doctor, "discharge-form")
    county_doctor.click("#down-form button[type=submit]")
    county_doctor.wait_for_selector("#referral-state[data-direction=down][data-status=requested]")
    down_url = county_doctor.url
    steps.shot(county_doctor, "referred-down")

    family = chromium.new_page(locale="zh-CN")
    sign_in_staff(family, base_url, county, "family-doctor")
    family.goto(f"{base_url}/app/referrals")
    family.locator(f"#incoming tr[data-referral='{down_url.rsplit('/', 1)[1]}'] a").click()
    family.fill("#systolic", "132")
    family.fill("#diastolic", "84")
    family.fill("#follow-note", "血压平稳，继续服药")
    family.click("#action-follow-up")
    family.wait_for_selector("#referral-state[data-status=completed]")
    steps.shot(family, "followed-up")

    bureau.reload()
    after = (_kpi(bureau, "up-referrals"), _kpi(bureau, "down-referrals"))
    assert after != before
    steps.shot(bureau, "kpis-after")
