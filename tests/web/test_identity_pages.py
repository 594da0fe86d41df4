"""The identity steward's pages on the demo county: the worklist, a review side by side,
merge and its undo, the other decisions, readable errors and who may not come in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient

from countyhealth.identity import build
from countyhealth.identity.review import open_review
from countyhealth.store import Store, system_caller
from tests.identity.mpi.people import patient
from tests.support.accounts import csrf_of
from tests.support.demo_county import DemoCounty


def _pair(store: Store, tag: str) -> tuple[str, str, str]:
    """Two records of one (made-up) resident and the review Task between them."""
    repo = store.repository(system_caller("tests"))
    a = repo.create(patient("欧阳", f"明{tag}", "1971-02-03", "male", phone="13811112222")).id
    b = repo.create(patient("欧阳", f"鸣{tag}", "1971-02-03", "male", phone="13811112222")).id
    enc = repo.create(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{b}"},
        }
    ).id
    task = open_review(
        repo,
        f"Patient/{b}",
        f"Patient/{a}",
        probability=0.98,
        grade="probable",
        levels={"name": "homophone", "birth_date": "exact"},
        origin="create",
    )
    assert task is not None
    return task, f"Patient/{a}", enc


def _post(client: TestClient, url: str, page: str, data: dict[str, str]) -> object:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_merge_from_the_worklist_and_undo(
    county_store: Store, browser_as: Callable[[str], TestClient]
) -> None:
    task, kept, encounter = _pair(county_store, "甲")
    steward = browser_as("identity-steward")
    listing = steward.get("/app/identity/reviews?format=json").json()
    assert task in [r["id"] for r in listing["open"]]
    page = f"/app/identity/reviews/{task}"
    html = steward.get(page).text
    assert 'id="side-by-side"' in html and "欧阳明甲" in html and "欧阳鸣甲" in html
    done = _post(steward, f"{page}/decide", page, {"decision": "merged", "survivor": kept})
    assert done.status_code == 303  # type: ignore[attr-defined]
    view = steward.get(f"{page}?format=json").json()
    assert view["review"]["decision"] == "merged" and view["provenance"]
    repo = county_store.repository(system_caller("tests"))
    assert repo.read("Encounter", encounter).resource["subject"]["reference"] == kept
    again = _post(steward, f"{page}/decide", page, {"decision": "distinct"})
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "CH-9505" in again.text  # type: ignore[attr-defined]
    undone = _post(steward, f"{page}/unmerge", page, {"note": "核实为两人"})
    assert undone.status_code == 303  # type: ignore[attr-defined]
    assert repo.read("Encounter", encounter).resource["subject"]["reference"] != kept
    assert steward.get(f"{page}?format=json").json()["review"]["decision"] == "unmerged"
    twice = _post(steward, f"{page}/unmerge", page, {})
    assert twice.status_code == 409 and "CH-9503" in twice.text  # type: ignore[attr-defined]


@pytest.mark.parametrize("decision", ["linked", "distinct"])
def test_link_and_distinct(
    county_store: Store, browser_as: Callable[[str], TestClient], decision: str
) -> None:
    task, _, _ = _pair(county_store, decision[:1])
    steward = browser_as("identity-steward")
    page = f"/app/identity/reviews/{task}"
    assert _post(steward, f"{page}/decide", page, {"decision": decision}).status_code == 303  # type: ignore[attr-defined]
    assert steward.get(f"{page}?format=json").json()["review"]["decision"] == decision


def test_a_bad_decision_is_a_readable_error(
    county_store: Store, browser_as: Callable[[str], TestClient]
) -> None:
    task, _, _ = _pair(county_store, "乙")
    steward = browser_as("identity-steward")
    page = f"/app/identity/reviews/{task}"
    answer = _post(steward, f"{page}/decide", page, {"decision": "merged", "survivor": "Patient/x"})
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert 'id="review-problem"' in answer.text and "CH-9502" in answer.text  # type: ignore[attr-defined]


def test_only_the_steward_reviews(browser_as: Callable[[str], TestClient]) -> None:
    doctor = browser_as("county-clinician")
    assert doctor.get("/app/identity/reviews").status_code == 403


def _register(client: TestClient, form: dict[str, str]) -> object:
    return _post(client, "/app/register", "/app/register", form)


def test_desk_registration_checks_the_index(
    county: DemoCounty, county_store: Store, browser_as: Callable[[str], TestClient]
) -> None:
    organization = county.account("county-clinician")["organization"]
    repo = county_store.repository(system_caller("tests"))
    number = build("339001", date(1959, 7, 14), 27)
    existing = patient("司马", "光远", "1959-07-14", "male", id_number=number, phone="13655556666")
    existing["managingOrganization"] = {"reference": organization}
    kept = repo.create(existing).id
    desk = browser_as("county-clinician")
    form = {
        "family": "司马",
        "given": "光远",
        "sex": "male",
        "birth_date": "1959-07-14",
        "id_number": number,
        "phone": "13655556666",
        "township": "佛堂镇",
        "village": "塔山村",
    }
    checked = _register(desk, {**form, "step": "check"})
    assert checked.status_code == 200  # type: ignore[attr-defined]
    assert f'data-patient="{kept}" data-grade="certain"' in checked.text  # type: ignore[attr-defined]
    refused = _register(desk, {**form, "step": "register"})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "CH-9501" in refused.text and kept in refused.text  # type: ignore[attr-defined]

    slipped = _register(desk, {**form, "birth_date": "1959-07-15", "step": "check"})
    assert slipped.status_code == 400  # type: ignore[attr-defined]
    assert "1959-07-14" in slipped.text  # type: ignore[attr-defined]  (what the number says)

    # the same man again without his card, 光远 written 光源 (guāng yuǎn / guāng yuán)
    second = {**form, "given": "光源", "id_number": "", "step": "register"}
    made = _register(desk, second)
    assert made.status_code == 303  # type: ignore[attr-defined]
    new_id = made.headers["location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    steward = browser_as("identity-steward")
    listing = steward.get("/app/identity/reviews?format=json").json()
    assert any(
        r["patient"] == f"Patient/{new_id}" and r["candidate"] == f"Patient/{kept}"
        for r in listing["open"]
    )
