"""Accessibility of the pages, checked by axe-core (WCAG 2.1 A and AA rules: labels, names,
contrast, landmarks, ARIA) in Chromium, for a page of each kind and each role, in both
languages. axe-core comes from the npm registry with the other front-end packages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from countyhealth.app import create_app
from countyhealth.store import Store
from tests.browser.test_portals import enter_code, request_code, sign_in_staff
from tests.support.demo_county import DemoCounty
from tests.support.live_server import serving

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = {
    "county-clinician": ["/app", "/app/patients?q=wang", "OVERVIEW"],
    "bureau-admin": [
        "/app",
        "/app/admin/organizations",
        "/app/admin/organizations/org-h01",
        "/app/admin/users",
        "/app/admin/roles",
        "/app/admin/break-glass",
        "/app/reports/recognition",
    ],
    "public-health-officer": ["/app"],
}


@pytest.fixture(scope="module")
def base_url(county: DemoCounty, county_store: Store, chromium: Any) -> Iterator[str]:
    if not AXE.exists():
        reason = f"axe-core is not installed ({AXE}; make install runs npm ci)"
        if os.environ.get("COUNTYHEALTH_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with serving(create_app(county.settings, county_store)) as url:
        yield url


def violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in result["violations"]
    ]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("role", sorted(PAGES))
def test_pages_pass_axe(
    chromium: Any, base_url: str, county: DemoCounty, role: str, language: str
) -> None:
    context = chromium.new_context(bypass_csp=True, locale="zh-CN")  # axe is injected inline
    page = context.new_page()
    sign_in_staff(page, base_url, county, role)
    context.add_cookies([{"name": "ch_lang", "value": language, "url": base_url}])
    found: list[str] = []
    for path in PAGES[role]:
        if path == "OVERVIEW":
            page.goto(f"{base_url}/app")
            path = page.locator("main table a[href^='/app/patients/']").first.get_attribute("href")
        page.goto(f"{base_url}{path}")
        page.wait_for_selector("main")
        found += [f"{path}: {v}" for v in violations(page)]
    context.close()
    assert found == [], "\n".join(found)


def test_resident_pages_pass_axe_on_a_phone(
    chromium: Any, base_url: str, county: DemoCounty
) -> None:
    context = chromium.new_context(
        bypass_csp=True, viewport={"width": 375, "height": 780}, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(f"{base_url}/auth/login")
    found = violations(page)
    request_code(page, base_url, county)
    found += violations(page)
    enter_code(page)
    page.wait_for_selector("main h1")
    for path in [
        "/app",
        "/app/me/card",
        "/app/me/records",
        "/app/me/consents",
        "/app/me/access-log",
    ]:
        page.goto(f"{base_url}{path}")
        page.wait_for_selector("main")
        found += [f"{path}: {v}" for v in violations(page)]
    context.close()
    assert found == [], "\n".join(found)
