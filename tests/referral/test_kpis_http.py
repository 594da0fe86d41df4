"""The referral KPIs over HTTP on the seeded demo county: ``$referral-kpis`` (GET and POST) as a
MeasureReport, the bureau's page and its JSON twin, both in agreement with
:func:`referral_kpis`; a bad period, a role without county-wide reach and a missing token are
refused as OperationOutcomes with their codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

# registers $referral-kpis (the operations registry imports it as well)
import countyhealth.operations.referral_kpis  # noqa: F401
from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.referral.kpis import ReferralKpis, referral_kpis
from countyhealth.security.roles import roles
from countyhealth.store import Store, system_caller
from tests.support.demo_county import DemoCounty, sign_in

YEAR = {"start": "2025-01-01", "end": "2025-12-31"}


@pytest.fixture
def app(county: DemoCounty, county_store: Store) -> Iterator[Any]:
    yield create_app(county.settings, county_store)


@pytest.fixture
def api(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _bearer(county: DemoCounty, role: str, org: str) -> dict[str, str]:
    token = issue_token(
        county.settings,
        f"{role}-{org}",
        roles()[role].scopes,
        kind="user",
        extra={"roles": [role], "org": f"Organization/{org}"},
    )
    return {"Authorization": f"Bearer {token}"}


def _code(answer: Any) -> str:
    return str(answer.json()["issue"][0]["details"]["coding"][0]["code"])


def _expected(county_store: Store, organization: str | None = None) -> ReferralKpis:
    repo = county_store.repository(system_caller("tests"))
    return referral_kpis(repo, date(2025, 1, 1), date(2025, 12, 31), organization)


def _groups(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["code"]["coding"][0]["code"]: g for g in report["group"]}


def _counts(group: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}


def test_the_operation_answers_a_measure_report(
    api: TestClient, county: DemoCounty, county_store: Store
) -> None:
    bureau = _bearer(county, "bureau-admin", "org-bureau")
    expected = _expected(county_store)
    assert expected.made > 0
    answer = api.get("/fhir/$referral-kpis", params=YEAR, headers=bureau)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["resourceType"], report["type"], report["period"]) == (
        "MeasureReport",
        "summary",
        {"start": "2025-01-01", "end": "2025-12-31"},
    )
    groups = _groups(report)
    assert _counts(groups["referrals"]) == {"initial-population": expected.made}
    assert _counts(groups["up-referrals"]) == {"initial-population": expected.up.made}
    assert _counts(groups["acceptance-rate"]) == {
        "numerator": expected.accepted,
        "denominator": expected.decided,
    }
    assert groups["acceptance-rate"]["measureScore"]["value"] == expected.acceptance_rate
    assert groups["time-to-acceptance"]["measureScore"]["value"] == expected.median_hours
    assert _counts(groups["follow-up-rate"]) == {
        "numerator": expected.follow_up.done,
        "denominator": expected.follow_up.due,
    }
    # POST with Parameters, for one institution
    org = expected.facilities[0].organization
    posted = api.post(
        "/fhir/$referral-kpis",
        headers={**bureau, "Content-Type": "application/fhir+json"},
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "start", "valueDate": YEAR["start"]},
                {"name": "end", "valueDate": YEAR["end"]},
                {"name": "organization", "valueReference": {"reference": org}},
            ],
        },
    )
    assert posted.status_code == 200, posted.text
    one = _expected(county_store, org)
    assert posted.json()["reporter"] == {"reference": org}
    assert _counts(_groups(posted.json())["referrals"]) == {"initial-population": one.made}


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2025-03-02", "end": "2025-03-01"},
        {"start": "2024-01-01", "end": "2025-12-31"},
        {"start": "2025-13-01", "end": "2025-12-31"},
        {"end": "2025-12-31"},
    ],
)
def test_a_bad_period_is_a_400(api: TestClient, county: DemoCounty, params: dict[str, str]) -> None:
    answer = api.get(
        "/fhir/$referral-kpis", params=params, headers=_bearer(county, "bureau-admin", "org-bureau")
    )
    assert answer.status_code == 400 and _code(answer) == "CH-9302", answer.text


def test_only_roles_with_county_wide_reach_and_a_token(api: TestClient, county: DemoCounty) -> None:
    township = _bearer(county, "township-clinician", "org-thc-01")
    refused = api.get("/fhir/$referral-kpis", params=YEAR, headers=township)
    assert refused.status_code == 403 and _code(refused) == "CH-4003", refused.text
    anonymous = api.get("/fhir/$referral-kpis", params=YEAR)
    assert anonymous.status_code == 401


def test_the_bureau_page_and_its_json_twin(
    app: Any, county: DemoCounty, county_store: Store
) -> None:
    expected = _expected(county_store)
    with TestClient(app, raise_server_exceptions=False) as web:
        sign_in(web, county, "bureau-admin")
        page = web.get("/app/reports/referrals", params=YEAR)
        assert page.status_code == 200, page.text
        assert "双向转诊指标" in page.text and 'data-kpi="follow-up-rate"' in page.text
        assert "data-chart=" in page.text and "echarts" in page.text
        twin = web.get("/app/reports/referrals", params={**YEAR, "format": "json"})
        assert twin.status_code == 200, twin.text
        data = twin.json()
        assert data["page"] == "reports/referrals"
        kpis = {k["id"]: k for k in data["kpis"]}
        assert (kpis["referrals"]["value"], kpis["referrals"]["reference"]) == (
            expected.made,
            36000,
        )
        assert kpis["acceptance-rate"]["value"] == expected.acceptance_rate
        assert kpis["time-to-acceptance"]["value"] == expected.median_hours
        assert (kpis["follow-up-rate"]["numerator"], kpis["follow-up-rate"]["denominator"]) == (
            expected.follow_up.done,
            expected.follow_up.due,
        )
        assert (kpis["year-on-year"]["value"], kpis["year-on-year"]["reference"]) == (
            expected.change,
            27.93,
        )
        assert sum(s["up"] + s["down"] for s in data["statuses"]) == expected.made
        assert sum(f["upSent"] + f["downSent"] for f in data["facilities"]) == expected.made
        assert sum(n for _, n in data["series"]["up"]) == expected.up.made
        assert len(data["series"]["up"]) == 12  # month by month over a year
        web.cookies.set("ch_lang", "en")
        assert "Two-way referral KPIs" in web.get("/app/reports/referrals", params=YEAR).text
        bad = web.get("/app/reports/referrals", params={"start": "2025-02-30", "format": "json"})
        assert bad.status_code == 400 and _code(bad) == "CH-9302"
    with TestClient(app, raise_server_exceptions=False) as township:
        sign_in(township, county, "township-clinician")
        assert township.get("/app/reports/referrals").status_code == 403
