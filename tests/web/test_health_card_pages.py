"""The e-health card pages: a desk scans the resident's codes for each step of the visit, a
clinician issues a card, and the resident sees every use with its channel in her access log."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from httpx import Response

from tests.support.demo_county import DemoCounty

JSON = {"Accept": "application/json"}


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def scan(desk: TestClient, code: str, channel: str, pin: str = "", json: bool = True) -> Response:
    token = csrf(desk.get("/app/cards/scan").text)
    form = {"code": code, "channel": channel, "pin": pin, "csrf_token": token}
    return desk.post("/app/cards/scan", data=form, headers=JSON if json else {})


def card_lines(resident: TestClient, patient: str) -> list[tuple[str, str]]:
    log = resident.get(
        "/app/me/access-log", params={"patient": patient, "family": "true"}, headers=JSON
    ).json()
    return [(line["cardChannel"], line["outcome"]) for line in log["lines"] if line["cardChannel"]]


def test_the_phone_code_is_scanned_for_payment_and_the_resident_sees_it(
    browser_as: Callable[[str], TestClient], county: DemoCounty
) -> None:
    resident = browser_as("resident")
    card = resident.get("/app/me/card", headers=JSON).json()
    me = card["patientId"]
    cashier = browser_as("cashier")
    page = cashier.get("/app/cards/scan")
    assert page.status_code == 200 and 'name="channel"' in page.text
    found = scan(cashier, card["code"], "payment")
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["resolved"] and [p["id"] for p in body["patients"]] == [me]
    html = scan(cashier, card["code"], "registration", json=False)
    assert 'id="card-holder"' in html.text and card["code"] not in html.text

    assert card_lines(resident, me)[:2] == [("registration", "success"), ("payment", "success")]
    log = resident.get("/app/me/access-log", params={"patient": me})
    assert "使用电子健康卡：缴费" in log.text and "使用电子健康卡：挂号" in log.text
    resident.cookies.set("ch_lang", "en")
    assert "E-health card used: payment" in resident.get("/app/me/access-log").text

    refused = scan(cashier, card["code"][:-8] + "AAAAAAAA", "payment", json=False)
    assert refused.status_code == 400 and "CH-9001" in refused.text
    assert scan(cashier, "张三", "payment").status_code == 400
    assert resident.get("/app/cards/scan").status_code == 403
    assert browser_as("bureau-admin").get("/app/cards/scan").status_code == 403


def test_a_clinician_issues_a_card_and_its_printed_code_needs_the_pin(
    browser_as: Callable[[str], TestClient],
) -> None:
    resident = browser_as("resident")
    people = resident.get("/app/me/card", headers=JSON).json()["people"]
    child = people[1]["id"]

    clinician = browser_as("township-clinician")
    overview = clinician.get(f"/app/patients/{child}")
    assert f'href="/app/cards/issue?patient={child}"' in overview.text
    form = clinician.get("/app/cards/issue", params={"patient": child})
    assert form.status_code == 200 and 'name="pin_again"' in form.text
    token = csrf(form.text)
    differ = {"patient": child, "pin": "482916", "pin_again": "482917", "csrf_token": token}
    mismatch = clinician.post("/app/cards/issue", data=differ)
    assert mismatch.status_code == 400 and "CH-9007" in mismatch.text
    same = {**differ, "pin_again": "482916"}
    shown = clinician.post("/app/cards/issue", data=same)
    assert shown.status_code == 201 and 'id="issued-card"' in shown.text and "<svg" in shown.text
    first = _static_code_on(shown.text)
    again = {**same, "pin": "135246", "pin_again": "135246"}
    issued = clinician.post("/app/cards/issue", data=again, headers=JSON)
    assert issued.status_code == 201, issued.text
    printed = issued.json()["issued"]["staticCode"]
    assert issued.json()["issued"]["revoked"] == [first.split(".")[1]]

    nurse = browser_as("nurse")
    assert 'id="issue-card"' not in nurse.get(f"/app/patients/{child}").text
    nurse_form = nurse.get("/app/cards/issue", params={"patient": child})
    denied = nurse.post("/app/cards/issue", data={**same, "csrf_token": csrf(nurse_form.text)})
    assert denied.status_code == 403 and "CH-4013" in denied.text

    # the first card was revoked by the second issuance
    old = scan(nurse, first, "registration", pin="482916", json=False)
    assert old.status_code == 410 and "CH-9006" in old.text
    no_pin = scan(nurse, printed, "registration", json=False)
    assert no_pin.status_code == 400 and "CH-9004" in no_pin.text
    assert "autofocus" in no_pin.text.split('id="pin"')[1][:200]
    wrong = scan(nurse, printed, "registration", pin="000000")
    assert wrong.status_code == 403
    right = scan(nurse, printed, "records", pin="135246")
    assert right.status_code == 200
    assert right.json()["patients"][0]["id"] == child

    # check-in at the clinic desk with the printed code and its PIN is logged as check-in
    clinic = nurse.get("/app/clinic")
    data = {"code": printed, "pin": "135246", "csrf_token": csrf(clinic.text)}
    checked = nurse.post("/app/clinic/check-in", data=data)
    assert checked.status_code in (200, 404), checked.text[:300]

    lines = card_lines(resident, child)
    assert ("check-in", "success") in lines
    assert ("records", "success") in lines and ("registration", "failure") in lines


def _static_code_on(issued_page: str) -> str:
    """The static code of the card shown on the issuance page (drawn as a QR there; rebuilt
    here from the card number shown in full to the issuing desk)."""
    from countyhealth.identity.static_code import static_code
    from tests.support.demo_county import TEST_SECRET

    number = re.search(r"<code>([0-9a-f]{32})</code>", issued_page)
    assert number, "the card number is shown in full to the issuing desk"
    return static_code(TEST_SECRET, number.group(1))
