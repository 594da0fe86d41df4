"""Patient search, the overview as consent allows it, and break-glass, through the pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from countyhealth.fhir import systems
from countyhealth.fhir.search_request import parse_search
from countyhealth.store import Store, system_caller

JSON = {"Accept": "application/json"}


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def patients(store: Store, count: int = 400) -> list[dict[str, Any]]:
    repo = store.repository(system_caller("tests"))
    page = repo.search(parse_search(("Patient",), [("_count", str(count)), ("_sort", "_id")]))
    return [s.resource for s in page.entries]


def id_number(patient: dict[str, Any]) -> str:
    return next(i["value"] for i in patient["identifier"] if i["system"] == systems.ID_CARD)


def encounters_of(store: Store, pid: str) -> int:
    repo = store.repository(system_caller("tests"))
    page = repo.search(parse_search(("Encounter",), [("patient", pid), ("_count", "100")]))
    return len(page.entries)


def own_and_foreign(web: TestClient, store: Store) -> tuple[str, str]:
    """A patient with visits at the signed-in clinician's organisation, and one whose visits
    were all elsewhere (the clinician sees the card from the master index, not the visits)."""
    visits = web.get("/app", headers=JSON).json()["visits"]
    own = next(v["patient"] for v in visits if v["patient"])
    for patient in patients(store):
        if encounters_of(store, patient["id"]) == 0:
            continue
        twin = web.get(f"/app/patients/{patient['id']}", headers=JSON).json()
        if "encounters" in twin and not twin["encounters"]:
            return own, patient["id"]
    raise AssertionError("every visit is visible: the access rule is not applied")


def test_search_by_name_pinyin_and_id_number(
    browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    web = browser_as("county-clinician")
    target = next(p for p in patients(county_store) if p.get("identifier") and p.get("name"))
    name = target["name"][0]
    full_name = name.get("text") or name["family"] + "".join(name.get("given", []))

    by_name = web.get("/app/patients", params={"q": full_name}, headers=JSON).json()
    assert by_name["kind"] == "name"
    assert target["id"] in [p["id"] for p in by_name["patients"]]

    number = id_number(target)
    by_id = web.get("/app/patients", params={"q": number}, headers=JSON).json()
    assert by_id["kind"] == "id-number"
    assert [p["id"] for p in by_id["patients"]] == [target["id"]]
    shown = by_id["patients"][0]["idNumber"]
    assert shown != number and shown[:4] == number[:4] and "*" in shown  # masked on screen

    from countyhealth.fhir.pinyin import name_keys

    initials = min(name_keys(name), key=len)
    by_pinyin = web.get("/app/patients", params={"q": initials.upper()}, headers=JSON).json()
    assert by_pinyin["kind"] == "pinyin"
    assert target["id"] in [p["id"] for p in by_pinyin["patients"]]

    page = web.get("/app/patients", params={"q": full_name})
    assert page.status_code == 200 and f'href="/app/patients/{target["id"]}"' in page.text
    assert number not in page.text


def test_public_health_officer_sees_full_identifiers(
    browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    target = next(p for p in patients(county_store) if p.get("identifier"))
    number = id_number(target)
    found = browser_as("public-health-officer").get("/app/patients", params={"q": number}).text
    assert number in found


def test_search_text_too_long_is_a_readable_message(
    browser_as: Callable[[str], TestClient],
) -> None:
    web = browser_as("nurse")
    page = web.get("/app/patients", params={"q": "张" * 41})
    assert page.status_code == 400 and "CH-1006" in page.text and "<html" in page.text
    fragment = web.get("/app/patients", params={"q": "张" * 41}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.headers["hx-retarget"] == "#messages"
    assert "<html" not in fragment.text and "CH-1006" in fragment.text
    outcome = web.get("/app/patients", params={"q": "张" * 41}, headers=JSON)
    assert outcome.status_code == 400 and outcome.json()["resourceType"] == "OperationOutcome"


def test_overview_shows_the_record_the_clinician_may_see(
    browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    web = browser_as("county-clinician")
    own, _ = own_and_foreign(web, county_store)
    twin = web.get(f"/app/patients/{own}", headers=JSON).json()
    assert twin["page"] == "patients/overview" and twin["patient"]["id"] == own
    assert twin["encounters"], "the clinician's own organisation recorded a visit"
    assert twin["breakGlass"] is None
    for key in ("conditions", "medications", "observations", "reports", "trends"):
        assert key in twin
    page = web.get(f"/app/patients/{own}")
    assert page.status_code == 200 and twin["patient"]["name"] in page.text
    assert "/static/vendor/echarts.min.js" in page.text
    fragment = web.get(f"/app/patients/{own}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and twin["patient"]["name"] in fragment.text


def test_a_cashier_sees_only_the_sections_of_their_scopes(
    browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    web = browser_as("cashier")
    visits = web.get("/app", headers=JSON).json()["visits"]
    pid = next(v["patient"] for v in visits if v["patient"])
    twin = web.get(f"/app/patients/{pid}", headers=JSON).json()
    assert "encounters" in twin
    assert not {"conditions", "medications", "observations", "reports"} & set(twin)


def test_break_glass_opens_the_record_with_a_banner(
    browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    web = browser_as("township-clinician")
    _, foreign = own_and_foreign(web, county_store)
    before = web.get(f"/app/patients/{foreign}")
    assert before.status_code == 200 and 'name="reason"' in before.text
    assert web.get(f"/app/patients/{foreign}", headers=JSON).json()["restricted"] is True

    short = web.post(
        f"/app/patients/{foreign}/break-glass",
        data={"reason": "急", "csrf_token": csrf(before.text)},
    )
    assert short.status_code == 400 and 'role="alert"' in short.text
    assert "<details open>" in short.text  # the form stays open with the message
    assert web.get(f"/app/patients/{foreign}", headers=JSON).json()["encounters"] == []

    opened = web.post(
        f"/app/patients/{foreign}/break-glass",
        data={"reason": "患者昏迷送入急诊，需查既往病史", "csrf_token": csrf(before.text)},
        follow_redirects=False,
    )
    assert opened.status_code == 303 and opened.headers["location"] == f"/app/patients/{foreign}"
    page = web.get(f"/app/patients/{foreign}")
    assert page.status_code == 200 and 'class="banner-glass"' in page.text
    assert "患者昏迷送入急诊" in page.text
    twin = web.get(f"/app/patients/{foreign}", headers=JSON).json()
    assert twin["breakGlass"]["reason"] == "患者昏迷送入急诊，需查既往病史"
    assert twin["restricted"] is False
    assert len(twin["encounters"]) == min(encounters_of(county_store, foreign), 20)

    report = county_store.repository(system_caller("tests")).break_glass_openings(0)
    assert any(o.patient_id == foreign for o in report)


def test_break_glass_without_the_token_is_refused(
    browser_as: Callable[[str], TestClient], county_store: Store
) -> None:
    web = browser_as("village-doctor")
    _, foreign = own_and_foreign(web, county_store)
    answer = web.post(f"/app/patients/{foreign}/break-glass", data={"reason": "x" * 20})
    assert answer.status_code == 403 and "CH-4008" in answer.text
    assert web.get(f"/app/patients/{foreign}", headers=JSON).json()["breakGlass"] is None


@pytest.mark.parametrize("role", ["nurse", "cashier"])
def test_roles_without_break_glass_get_no_form(
    browser_as: Callable[[str], TestClient], county_store: Store, role: str
) -> None:
    web = browser_as(role)
    pid = patients(county_store)[0]["id"]
    twin = web.get(f"/app/patients/{pid}", headers=JSON).json()
    assert twin["restricted"] is True and twin["canBreakGlass"] is False
    assert 'name="reason"' not in web.get(f"/app/patients/{pid}").text


def test_unknown_patient_and_unknown_page(browser_as: Callable[[str], TestClient]) -> None:
    web = browser_as("county-clinician")
    missing = web.get("/app/patients/no-such-patient")
    assert missing.status_code == 404 and "CH-2001" in missing.text
    nowhere = web.get("/app/nowhere")
    assert nowhere.status_code == 404 and "CH-1008" in nowhere.text
