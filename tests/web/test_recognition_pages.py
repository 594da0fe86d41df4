"""The mutual-recognition pages on the demo county: a township clinician orders HbA1c from the
patient overview, sees the county hospital's HR-marked result and accepts it; a county
clinician re-tests for a national reason after being refused without one; the KPI page moves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from countyhealth.store import Store
from tests.support.accounts import csrf_of
from tests.support.demo_county import DemoCounty
from tests.support.recognition_case import RecognitionCase, plant_recognition_cases


@pytest.fixture(scope="module")
def cases(county: DemoCounty, county_store: Store) -> dict[str, RecognitionCase]:
    return plant_recognition_cases(county, county_store)


def _post(client: TestClient, url: str, data: dict[str, str], page: str) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def _kpis(bureau: TestClient) -> dict[str, Any]:
    answer = bureau.get("/app/reports/recognition?format=json")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _order(client: TestClient, patient: str) -> str:
    overview = client.get(f"/app/patients/{patient}")
    assert f'href="/app/patients/{patient}/orders"' in overview.text
    placed = _post(
        client,
        f"/app/patients/{patient}/orders",
        {"item": "ZJHR-HBA1C"},
        f"/app/patients/{patient}/orders",
    )
    assert placed.status_code == 303, placed.text
    return str(placed.headers["location"]).rsplit("/", 1)[1]


def test_accept_and_retest_from_the_pages(
    cases: dict[str, RecognitionCase], browser_as: Callable[[str], TestClient]
) -> None:
    bureau = browser_as("bureau-admin")
    before = _kpis(bureau)

    township = browser_as("township-clinician")
    case = cases["township"]
    order = _order(township, case.patient)
    page = township.get(f"/app/orders/{order}")
    assert "浙HR" in page.text and "7.4 %" in page.text
    shown = township.get(f"/app/orders/{order}?format=json").json()
    assert [s["report"] for s in shown["suggestions"]] == [case.report]
    assert shown["suggestions"][0]["ageDays"] == 21
    accepted = _post(
        township, f"/app/orders/{order}/recognise", {"result": case.report}, f"/app/orders/{order}"
    )
    assert accepted.status_code == 303
    done = township.get(f"/app/orders/{order}?format=json").json()
    assert (done["order"]["status"], done["order"]["outcome"]) == ("completed", "recognised")

    county = browser_as("county-clinician")
    other = cases["county"]
    order = _order(county, other.patient)
    refused = _post(county, f"/app/orders/{order}/retest", {"reason": ""}, f"/app/orders/{order}")
    assert refused.status_code == 422 and "CH-9202" in refused.text
    unknown = _post(
        county, f"/app/orders/{order}/retest", {"reason": "whim"}, f"/app/orders/{order}"
    )
    assert unknown.status_code == 422 and "CH-9202" in unknown.text
    retested = _post(
        county, f"/app/orders/{order}/retest", {"reason": "disease-change"}, f"/app/orders/{order}"
    )
    assert retested.status_code == 303
    state = county.get(f"/app/orders/{order}?format=json").json()["order"]
    assert (state["status"], state["outcome"], state["reason"]) == (
        "active",
        "retest",
        "disease-change",
    )

    after = _kpis(bureau)
    assert after["recognised"] == before["recognised"] + 1
    assert after["recognisable"] == before["recognisable"] + 2
    retests = {r["code"]: r["count"] for r in after["retests"]}
    assert (
        retests["disease-change"]
        == {r["code"]: r["count"] for r in before["retests"]}["disease-change"] + 1
    )
    assert "互认率" in bureau.get("/app/reports/recognition").text


def test_the_kpi_page_is_for_the_bureau(browser_as: Callable[[str], TestClient]) -> None:
    assert browser_as("township-clinician").get("/app/reports/recognition").status_code == 403
