"""The resident's pages end to end: her record and her child's, sharing with a county hospital
(the clinician then sees her visits), "who read my record", withdrawing, and bad input."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from countyhealth.fhir.search_request import parse_search
from countyhealth.store import Store, system_caller
from tests.support.demo_county import DemoCounty

JSON = {"Accept": "application/json"}


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def visits_of(store: Store, pid: str) -> int:
    repo = store.repository(system_caller("tests"))
    return len(repo.search(parse_search(("Encounter",), [("patient", pid)])).entries)


def test_records_of_herself_and_her_child_not_a_stranger(
    browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    web = browser_as("resident")
    own = web.get("/app/me/records", headers=JSON).json()
    people = own["people"]
    assert people[0]["self"] and people[0]["current"] and len(people) >= 2, "a mother and child"
    assert own["patient"]["id"] == people[0]["id"]
    assert own["restricted"] is False  # her whole record, from every institution
    assert len(own["encounters"]) == min(visits_of(county_store, people[0]["id"]), 20)

    child = people[1]["id"]
    theirs = web.get("/app/me/records", params={"patient": child}, headers=JSON).json()
    assert theirs["patient"]["id"] == child
    page = web.get("/app/me/records", params={"patient": child})
    assert page.status_code == 200 and 'aria-current="page"' in page.text

    repo = county_store.repository(system_caller("tests"))
    stranger = next(
        s.id
        for s in repo.search(parse_search(("Patient",), [("_count", "50")])).entries
        if s.id not in {p["id"] for p in people}
    )
    refused = web.get("/app/me/records", params={"patient": stranger})
    assert refused.status_code == 403 and "CH-4003" in refused.text


def test_sharing_with_a_hospital_then_withdrawing(
    browser_as: Callable[[str], TestClient], county: DemoCounty, county_store: Store
) -> None:
    resident, doctor = browser_as("resident"), browser_as("county-clinician")
    me = resident.get("/app/me/records", headers=JSON).json()["patient"]["id"]
    hospital = county.account("county-clinician")["organization"]
    before = doctor.get(f"/app/patients/{me}", headers=JSON).json()
    seen_before = len(before["encounters"])

    page = resident.get("/app/me/consents")
    assert page.status_code == 200 and f'value="{hospital}"' in page.text
    granted = resident.post(
        "/app/me/consents",
        data={
            "patient": me,
            "grantee": hospital,
            "category": "all",
            "days": "30",
            "csrf_token": csrf(page.text),
        },
        follow_redirects=False,
    )
    assert granted.status_code == 303
    listed = resident.get("/app/me/consents", headers=JSON).json()["consents"]
    active = [
        c for c in listed if c["status"] == "active" and c["grantees"][0]["reference"] == hospital
    ]
    assert active and active[0]["category"] == "all"
    assert active[0]["grantees"][0]["name"] != hospital  # shown by name

    during = doctor.get(f"/app/patients/{me}", headers=JSON).json()
    assert len(during["encounters"]) == min(visits_of(county_store, me), 20) > seen_before

    log = resident.get("/app/me/access-log", headers=JSON).json()["lines"]
    doctor_name = county.account("county-clinician")["display"]
    assert any(line["who"] == doctor_name and line["outcome"] == "success" for line in log)
    assert doctor_name in resident.get("/app/me/access-log").text
    assert all(line["role"] != "resident" for line in log)  # her own readings on request
    family = resident.get("/app/me/access-log?family=true", headers=JSON).json()["lines"]
    assert any(line["role"] == "resident" for line in family)

    page = resident.get("/app/me/consents")
    revoked = resident.post(
        f"/app/me/consents/{active[0]['id']}/revoke",
        data={"csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    after = doctor.get(f"/app/patients/{me}", headers=JSON).json()
    assert len(after["encounters"]) == seen_before
    statuses = {
        c["id"]: c["status"]
        for c in resident.get("/app/me/consents", headers=JSON).json()["consents"]
    }
    assert statuses[active[0]["id"]] == "inactive"


def test_break_glass_shows_in_her_log_with_the_reason(
    browser_as: Callable[[str], TestClient], county: DemoCounty
) -> None:
    resident, doctor = browser_as("resident"), browser_as("village-doctor")
    me = resident.get("/app/me/records", headers=JSON).json()["patient"]["id"]
    page = doctor.get(f"/app/patients/{me}")
    opened = doctor.post(
        f"/app/patients/{me}/break-glass",
        data={"reason": "村卫生室急救：胸痛，需查既往用药", "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    doctor.get(f"/app/patients/{me}")
    lines = resident.get("/app/me/access-log", headers=JSON).json()["lines"]
    glass = [line for line in lines if line["breakGlass"]]
    assert len(glass) >= 2  # the opening and the reads under it
    assert "村卫生室急救：胸痛，需查既往用药" in [line["reason"] for line in glass]
    shown = resident.get("/app/me/access-log").text
    assert 'class="glass"' in shown and "村卫生室急救" in shown


def test_bad_input_is_a_readable_message(browser_as: Callable[[str], TestClient]) -> None:
    web = browser_as("resident")
    page = web.get("/app/me/consents")
    token = csrf(page.text)
    cases = [
        ({"grantee": "Organization/no-such-org", "days": "30"}, 404),
        ({"grantee": "Organization/org-h01", "days": "0"}, 400),
        ({"grantee": "Organization/org-h01", "days": "abc"}, 400),
        ({"grantee": "Practitioner/x", "days": "30"}, 400),
        ({"grantee": "Organization/org-h01", "days": "30", "category": "everything"}, 400),
    ]
    for fields, status in cases:
        answer = web.post("/app/me/consents", data={**fields, "csrf_token": token})
        assert answer.status_code == status, (fields, answer.text[:300])
        assert 'class="message error"' in answer.text and "<html" in answer.text
    foreign = web.post("/app/me/consents/not-mine/revoke", data={"csrf_token": token})
    assert foreign.status_code in (403, 404) and "CH-" in foreign.text
    staff = browser_as("nurse").get("/app/me/records")
    assert staff.status_code == 403 and "CH-4013" in staff.text


def test_pages_in_english(browser_as: Callable[[str], TestClient]) -> None:
    web = browser_as("resident")
    web.cookies.set("ch_lang", "en")
    assert "Who read my record" in web.get("/app/me/access-log").text
    assert "Give a permission" in web.get("/app/me/consents").text
    assert "My health record" in web.get("/app/me/records").text


def test_e_health_code_shown_to_the_resident_is_scanned_at_the_desk(
    browser_as: Callable[[str], TestClient], county: DemoCounty, county_store: Store
) -> None:
    from countyhealth.identity.health_code import issue_code

    resident = browser_as("resident")
    card = resident.get("/app/me/card", headers=JSON).json()
    me = card["patientId"]
    page = resident.get("/app/me/card")
    assert page.status_code == 200 and "<svg" in page.text and 'hx-trigger="every' in page.text
    assert me not in card["code"]

    desk = browser_as("township-clinician")
    found = desk.get("/app/patients", params={"q": card["code"]}, headers=JSON).json()
    assert found["kind"] == "health-card"
    assert [p["id"] for p in found["patients"]] == [me]
    assert card["code"] not in desk.get("/app/patients", params={"q": card["code"]}).text

    stale = issue_code(county.settings.secret_key, me, None, now=1_000_000)
    refused = desk.get("/app/patients", params={"q": stale})
    assert refused.status_code == 400 and "CH-9002" in refused.text
    forged = desk.get("/app/patients", params={"q": card["code"][:-8] + "AAAAAAAA"})
    assert forged.status_code == 400 and "CH-9001" in forged.text

    log = resident.get("/app/me/access-log", headers=JSON).json()["lines"]
    assert any(line["who"] == county.account("township-clinician")["display"] for line in log)


def test_a_single_use_code_is_refused_when_scanned_again(
    browser_as: Callable[[str], TestClient], county: DemoCounty
) -> None:
    from countyhealth.app import create_app
    from tests.support.demo_county import sign_in

    code = browser_as("resident").get("/app/me/card", headers=JSON).json()["code"]
    strict = county.settings.model_copy(update={"health_code_single_use": True})
    store = Store.open(strict)
    try:
        with TestClient(create_app(strict, store), raise_server_exceptions=False) as desk:
            sign_in(desk, county, "nurse")
            first = desk.get("/app/patients", params={"q": code}, headers=JSON)
            assert first.status_code == 200 and len(first.json()["patients"]) == 1
            again = desk.get("/app/patients", params={"q": code})
            assert again.status_code == 409 and "CH-9003" in again.text
    finally:
        store.close()
    # with the setting off (the default) the same code still works until it expires
    lenient = browser_as("nurse").get("/app/patients", params={"q": code}, headers=JSON)
    assert lenient.status_code == 200


def test_pages_in_chinese_by_default_and_as_htmx_fragments(
    browser_as: Callable[[str], TestClient],
) -> None:
    web = browser_as("resident")
    titles = {
        "/app/me/records": "我的健康档案",
        "/app/me/consents": "授权管理",
        "/app/me/access-log": "谁看过我的档案",
    }
    for path, title in titles.items():
        full = web.get(path)
        assert full.status_code == 200 and "<html" in full.text and title in full.text, path
        fragment = web.get(path, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and title in fragment.text, path
        assert "<html" not in fragment.text, path


def test_older_readings_page_by_before(browser_as: Callable[[str], TestClient]) -> None:
    web = browser_as("resident")
    for _ in range(3):  # each view of her record adds readings of her own
        web.get("/app/me/records")
    first = web.get("/app/me/access-log", params={"family": "true"}, headers=JSON).json()
    assert len(first["lines"]) == 50 and first["older"] == first["lines"][-1]["cursor"]
    assert "before=" in web.get("/app/me/access-log", params={"family": "true"}).text
    older = web.get(
        "/app/me/access-log",
        params={"family": "true", "before": first["older"]},
        headers=JSON,
    ).json()["lines"]
    assert older and all(line["recorded"] <= first["lines"][-1]["recorded"] for line in older)
    bad = web.get("/app/me/access-log", params={"before": "yesterday"})
    assert bad.status_code == 400 and "CH-1006" in bad.text


def test_paging_the_log_neither_skips_nor_repeats(
    browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    """Audit events are stored in batches that share one timestamp; the cursor pages exactly."""
    web = browser_as("resident")
    for _ in range(4):
        web.get("/app/me/records")
    pid = web.get("/app/me/records", headers=JSON).json()["patient"]["id"]
    paged: list[str] = []
    before: str | None = None
    while True:
        params = {"family": "true", **({"before": before} if before else {})}
        page = web.get("/app/me/access-log", params=params, headers=JSON).json()
        paged += [line["cursor"] for line in page["lines"]]
        before = page["older"]
        if before is None:
            break
    # the whole log, read 1,000 lines at a time (the store's largest page): the session's other
    # tests read this resident too, so it may pass 1,000 lines
    platform = county_store.repository(system_caller("tests"))
    everything = []
    cursor: str | None = None
    while True:
        chunk = platform.access_log(pid, limit=1000, before=cursor)
        everything += chunk
        if len(chunk) < 1000:
            break
        cursor = chunk[-1].cursor
    assert len(paged) == len(set(paged)) > 20
    # the reads of the pages themselves come later than the first page; all older ones match
    assert paged == [line.cursor for line in everything][-len(paged) :]


def test_others_readings_are_found_behind_the_familys_own(
    browser_as: Callable[[str], TestClient], county: DemoCounty
) -> None:
    resident, doctor = browser_as("resident"), browser_as("public-health-officer")
    me = resident.get("/app/me/records", headers=JSON).json()["patient"]["id"]
    doctor.get(f"/app/patients/{me}")
    for _ in range(15):  # more than one page of the log of her own readings
        resident.get("/app/me/records")
    log = resident.get("/app/me/access-log", headers=JSON).json()
    assert any(
        line["who"] == county.account("public-health-officer")["display"] for line in log["lines"]
    )
