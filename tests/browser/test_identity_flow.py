"""The master patient index in a real browser: a county hospital clerk registers a man who is
already on file (no card this time, 光远 written 光源); the check shows his record, the
registration opens a duplicate review; the identity steward compares the two records side by
side and merges the new one into the old, then undoes it. One screenshot per step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from countyhealth.app import create_app
from countyhealth.identity import build
from countyhealth.store import Store, system_caller
from tests.browser.conftest import Steps
from tests.browser.test_portals import sign_in_staff
from tests.identity.mpi.people import patient
from tests.support.demo_county import DemoCounty
from tests.support.live_server import serving


@pytest.fixture(scope="module")
def resident(county: DemoCounty, county_store: Store) -> str:
    """A man registered at the clerk's hospital with his identity card."""
    organization = county.account("county-clinician")["organization"]
    record = patient(
        "东方",
        "光远",
        "1962-09-08",
        "male",
        id_number=build("339001", date(1962, 9, 8), 31),
        phone="13566667777",
    )
    record["managingOrganization"] = {"reference": organization}
    return county_store.repository(system_caller("tests")).create(record).id


@pytest.fixture(scope="module")
def base_url(
    county: DemoCounty, county_store: Store, chromium: Any, resident: str
) -> Iterator[str]:
    with serving(create_app(county.settings, county_store)) as url:
        yield url


def test_register_review_merge_and_undo(
    chromium: Any, base_url: str, county: DemoCounty, resident: str, steps: Steps
) -> None:
    clerk = chromium.new_page(locale="zh-CN")
    sign_in_staff(clerk, base_url, county, "county-clinician")
    clerk.goto(f"{base_url}/app/register")
    clerk.fill("input[name=family]", "东方")
    clerk.fill("input[name=given]", "光源")
    clerk.select_option("select[name=sex]", "male")
    clerk.fill("input[name=birth_date]", "1962-09-08")
    clerk.fill("input[name=phone]", "13566667777")
    clerk.fill("input[name=township]", "佛堂镇")
    clerk.fill("input[name=village]", "塔山村")
    steps.shot(clerk, "register-form")
    clerk.click("#action-check")
    found = clerk.wait_for_selector(f"#register-candidates li[data-patient='{resident}']")
    assert found is not None and "东方光远" in found.inner_text()
    steps.shot(clerk, "checked")
    clerk.click("#action-register")
    clerk.wait_for_selector("main h1")
    assert "/app/patients/" in clerk.url and not clerk.url.endswith(resident)
    new_id = clerk.url.rsplit("/", 1)[1]
    steps.shot(clerk, "registered")

    steward = chromium.new_page(locale="zh-CN")
    sign_in_staff(steward, base_url, county, "identity-steward")
    steward.goto(f"{base_url}/app/identity/reviews")
    row = steward.locator("#reviews-open tr", has_text=f"Patient/{new_id}")
    assert f"Patient/{resident}" in row.inner_text()
    steps.shot(steward, "worklist")
    row.locator("a").click()
    steward.wait_for_selector("#side-by-side")
    assert steward.get_attribute("#comparison tr[data-field=name]", "data-field") == "name"
    steps.shot(steward, "side-by-side")
    steward.click("#merge-into-2")  # keep the record with the identity number
    steward.wait_for_selector("#review-state[data-decision=merged]")
    steps.shot(steward, "merged")
    steward.click("#action-unmerge")
    steward.wait_for_selector("#review-state[data-decision=unmerged]")
    steps.shot(steward, "unmerged")
