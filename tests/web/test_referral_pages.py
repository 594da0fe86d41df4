"""The referral pages on the demo county: the rule's suggestion, refer, worklists, accept,
discharge with a down-referral, the follow-up, the printed form and readable errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from countyhealth.store import Store
from tests.support.accounts import csrf_of
from tests.support.demo_county import DemoCounty
from tests.support.referral_case import ReferralCase, plant_referral_case


@pytest.fixture(scope="module")
def case(county: DemoCounty, county_store: Store) -> ReferralCase:
    return plant_referral_case(county, county_store, "ref-pages")


def _post(client: TestClient, url: str, data: dict[str, str], page: str) -> object:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_refer_accept_discharge_follow_up(
    case: ReferralCase, browser_as: Callable[[str], TestClient]
) -> None:
    village = browser_as("village-doctor")
    form = village.get(f"/app/patients/{case.patient}/refer?format=json").json()
    [suggestion] = form["suggestions"]
    assert suggestion["urgency"] == "urgent" and suggestion["code"] == "I10"
    assert form["form"]["urgent"] is True
    assert any(d["value"] == case.destination for d in form["destinations"])
    html = village.get(f"/app/patients/{case.patient}/refer").text
    assert 'data-urgency="urgent"' in html

    page = f"/app/patients/{case.patient}/refer"
    made = _post(
        village,
        page,
        {
            "destination": case.destination,
            "reason": "I10",
            "display": "原发性高血压",
            "urgent": "on",
            "note": "血压 186/114",
            "rule": suggestion["rule"],
        },
        page,
    )
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    location = made.headers["location"]  # type: ignore[attr-defined]
    referral = location.rsplit("/", 1)[1]
    view = village.get(f"{location}?format=json").json()["referral"]
    assert view["status"] == "requested" and view["appointment"]["status"] == "pending"
    assert "cancel" in view["actions"] and "accept" not in view["actions"]

    county = browser_as("county-clinician")
    incoming = county.get("/app/referrals?format=json").json()["incoming"]
    assert referral in [i["id"] for i in incoming]
    assert "超时升级" in county.get("/app/referrals").text  # urgent: escalated at once
    accepted = _post(county, f"{location}/accept", {}, location)
    assert accepted.status_code == 303  # type: ignore[attr-defined]
    view = county.get(f"{location}?format=json").json()["referral"]
    assert view["status"] == "accepted" and view["appointment"]["status"] == "booked"
    twice = _post(county, f"{location}/accept", {}, location)
    assert twice.status_code == 409 and "CH-9301" in twice.text  # type: ignore[attr-defined]

    pdf = county.get(f"{location}/form.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"

    down_page = f"/app/patients/{case.patient}/refer-down?answers={referral}"
    down_form = county.get(f"{down_page}&format=json").json()
    assert down_form["reason"]["code"] == "I10"
    missing = _post(
        county,
        f"/app/patients/{case.patient}/refer-down",
        {"reason": "I10", "summary": "出院", "answers": referral},
        down_page,
    )
    assert missing.status_code == 422 and "CH-9304" in missing.text  # type: ignore[attr-defined]
    down = _post(
        county,
        f"/app/patients/{case.patient}/refer-down",
        {
            "receiver": case.centre,
            "reason": "I10",
            "display": "原发性高血压",
            "summary": "住院5天，血压 134/86 mmHg 出院",
            "rehabilitation": "低盐饮食",
            "follow_up": "两周内测血压",
            "medication": "氨氯地平 5mg qd",
            "answers": referral,
        },
        down_page,
    )
    assert down.status_code == 303, down.text  # type: ignore[attr-defined]
    down_location = down.headers["location"]  # type: ignore[attr-defined]
    assert county.get(f"{location}?format=json").json()["referral"]["status"] == "completed"

    family = browser_as("family-doctor")
    mine = family.get("/app/referrals?format=json").json()["incoming"]
    assert down_location.rsplit("/", 1)[1] in [i["id"] for i in mine]
    bad = _post(family, f"{down_location}/follow-up", {"systolic": "abc"}, down_location)
    assert bad.status_code == 400 and "CH-9302" in bad.text  # type: ignore[attr-defined]
    done = _post(
        family,
        f"{down_location}/follow-up",
        {"systolic": "132", "diastolic": "84", "note": "平稳"},
        down_location,
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    closed = family.get(f"{down_location}?format=json").json()["referral"]
    assert closed["status"] == "completed" and closed["actions"] == []


def test_refer_form_errors_are_readable(
    case: ReferralCase, browser_as: Callable[[str], TestClient]
) -> None:
    village = browser_as("village-doctor")
    page = f"/app/patients/{case.patient}/refer"
    wrong = _post(
        village,
        page,
        {"destination": "Organization/nowhere|HealthcareService/x", "reason": "I10"},
        page,
    )
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    assert 'id="refer-problem"' in wrong.text and "CH-9303" in wrong.text  # type: ignore[attr-defined]
    unknown = village.get("/app/referrals/no-such-referral")
    assert unknown.status_code == 404


def test_cashier_sees_no_refer_buttons(
    case: ReferralCase, browser_as: Callable[[str], TestClient]
) -> None:
    cashier = browser_as("cashier")
    data = cashier.get(f"/app/patients/{case.patient}?format=json").json()
    assert data.get("referUrl") is None
