"""The health bureau's administration pages, end to end through the web app: organisations and
their departments, staff accounts, roles and the break-glass report.

They run on the session's seeded demo county (tests/conftest.py ``county``), which other page
tests share: names made here are unique, and no demo account is ever disabled.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from countyhealth.administration import PROBLEM_KEYS
from countyhealth.fhir import systems
from countyhealth.fhir.instant import LOCAL_TZ
from countyhealth.fhir.search_request import parse_search
from countyhealth.security.enrolment import add_user
from countyhealth.security.passwords import Passwords
from countyhealth.security.roles import caller_for
from countyhealth.store import Store, system_caller
from countyhealth.web.i18n import messages
from tests.support.demo_county import DemoCounty

JSON = {"Accept": "application/json"}
HTMX = {"HX-Request": "true"}
ZH = messages("zh_CN")
EN = messages("en")
Browser = Callable[[str], TestClient]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def search(store: Store, rtype: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    repo = store.repository(system_caller("tests"))
    page = repo.search(parse_search((rtype,), [*params, ("_count", "1000")]))
    return [s.resource for s in page.entries]


def departments_of(store: Store, org_id: str) -> list[str]:
    found = search(store, "HealthcareService", [("organization", f"Organization/{org_id}")])
    return sorted(s["id"] for s in found)


def org_id_of(county: DemoCounty, role: str) -> str:
    return str(county.account(role)["organization"]).removeprefix("Organization/")


def main_text(page: str) -> str:
    """The text of the page's <main>, unescaped, without tags."""
    body = page.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def problem(language: str, key: str, **values: str) -> str:
    return messages(language)(f"admin.problem.{key}", **values)


# --------------------------------------------------------------------------- every page


def admin_pages(county: DemoCounty) -> list[tuple[str, str]]:
    return [
        ("/app/admin/organizations", "admin.organizations.title"),
        (
            f"/app/admin/organizations/{org_id_of(county, 'county-clinician')}",
            "admin.organization.facts",
        ),
        ("/app/admin/users", "admin.users.title"),
        ("/app/admin/roles", "admin.roles.title"),
        ("/app/admin/break-glass", "admin.break_glass.title"),
    ]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_admin_page_renders_in_both_languages(
    browser_as: Browser, county: DemoCounty, language: str
) -> None:
    web = browser_as("bureau-admin")
    web.cookies.set("ch_lang", language)
    text = messages(language)
    other = messages("en" if language == "zh_CN" else "zh_CN")
    for path, heading in admin_pages(county):
        page = web.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert f'<html lang="{text.html_lang}">' in page.text
        assert text(heading) in page.text, path
        assert text(heading) != other(heading)
        shown = main_text(page.text)
        raw = sorted({k for k in text.texts if k.startswith("admin.") and k in shown})
        assert raw == [], f"{path} shows message keys {raw}"
        fragment = web.get(path, headers=HTMX)
        assert fragment.status_code == 200 and "<html" not in fragment.text
        assert text(heading) in fragment.text


def test_admin_links_are_in_the_bureau_navigation(browser_as: Browser) -> None:
    page = browser_as("bureau-admin").get("/app/admin/roles").text
    for href in ("/app/admin/organizations", "/app/admin/users", "/app/admin/break-glass"):
        assert f'href="{href}"' in page
    assert 'href="/app/admin/roles" aria-current="page"' in page


# --------------------------------------------------------------------------- organisations


def test_organisation_list_twin_filters_and_pages(browser_as: Browser, county_store: Store) -> None:
    web = browser_as("bureau-admin")
    everything = search(county_store, "Organization", [])
    twin = web.get("/app/admin/organizations", headers=JSON).json()
    assert twin["page"] == "admin/organizations"
    assert twin["total"] == len(everything) > twin["pageSize"]
    assert len(twin["organizations"]) == twin["pageSize"]
    hospital = next(o for o in twin["organizations"] if o["facilityLevel"])
    assert set(hospital) >= {"id", "name", "facilityType", "facilityLevel", "parent", "active"}

    # Following the page links visits every organisation once, in pinyin order.
    seen: list[str] = []
    page = twin
    while True:
        seen += [o["id"] for o in page["organizations"]]
        if not page["next"]:
            break
        page = web.get(
            "/app/admin/organizations", params={"page": page["next"]}, headers=JSON
        ).json()
    assert sorted(seen) == sorted(o["id"] for o in everything)
    back = web.get("/app/admin/organizations", params={"page": page["previous"]}, headers=JSON)
    assert back.status_code == 200 and back.json()["organizations"]

    # Facility type: the filter offers the county's types and keeps to the chosen one.
    counts = {t["code"]: t["count"] for t in twin["facilityTypes"]}
    clinics = web.get(
        "/app/admin/organizations", params={"type": "village-clinic"}, headers=JSON
    ).json()
    assert (
        clinics["total"]
        == counts["village-clinic"]
        == len(
            search(
                county_store, "Organization", [("type", f"{systems.FACILITY_TYPE}|village-clinic")]
            )
        )
    )
    assert {o["facilityType"]["code"] for o in clinics["organizations"]} == {"village-clinic"}
    assert all(o["parent"] and o["parent"]["name"] for o in clinics["organizations"])

    # Name: part of the name, combined with the type.
    centres = web.get(
        "/app/admin/organizations", params={"q": "卫生院", "type": "health-centre"}, headers=JSON
    ).json()
    assert centres["organizations"] and centres["total"] <= counts["health-centre"]
    assert all("卫生院" in o["name"] for o in centres["organizations"])
    expected = [
        o
        for o in everything
        if "卫生院" in o["name"]
        and any(c["code"] == "health-centre" for t in o["type"] for c in t["coding"])
    ]
    assert centres["total"] == len(expected)
    nothing = web.get("/app/admin/organizations", params={"q": "没有这个机构"})
    assert nothing.status_code == 200 and ZH("admin.organizations.none") in nothing.text

    # Parent: the organisations under a township health centre.
    parent = clinics["organizations"][0]["parent"]["id"]
    under = web.get("/app/admin/organizations", params={"parent": parent}, headers=JSON).json()
    assert under["parent"]["id"] == parent and under["organizations"]
    assert {o["parent"]["id"] for o in under["organizations"]} == {parent}


def test_organisation_list_html_shows_the_filter_and_rows(browser_as: Browser) -> None:
    web = browser_as("bureau-admin")
    page = web.get("/app/admin/organizations", params={"type": "general"})
    assert page.status_code == 200
    assert '<option value="general" selected>' in page.text
    twin = web.get("/app/admin/organizations", params={"type": "general"}, headers=JSON).json()
    for org in twin["organizations"]:
        assert f'href="/app/admin/organizations/{org["id"]}"' in page.text
        assert html.escape(org["name"]) in page.text
        assert org["facilityLevel"]["display"] in page.text


def test_a_bad_page_link_or_filter_is_a_readable_message(browser_as: Browser) -> None:
    web = browser_as("bureau-admin")
    page = web.get("/app/admin/organizations", params={"page": "not-a-link"})
    assert page.status_code == 400 and "CH-6009" in page.text and "<html" in page.text
    bad = web.get("/app/admin/organizations", params={"type": "a b"}, headers=JSON)
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


def test_organisation_page_shows_facts_and_departments(
    browser_as: Browser, county: DemoCounty, county_store: Store
) -> None:
    web = browser_as("bureau-admin")
    org_id = org_id_of(county, "county-clinician")
    twin = web.get(f"/app/admin/organizations/{org_id}", headers=JSON).json()
    assert twin["page"] == "admin/organization" and twin["canEdit"] is True
    org = twin["organization"]
    assert org["id"] == org_id and org["facilityType"]["code"] == "general"
    assert org["licence"] and org["address"]
    assert sorted(d["id"] for d in twin["departments"]) == departments_of(county_store, org_id)
    codes = [d["department"]["code"] for d in twin["departments"]]
    assert codes == sorted(codes)
    assert {c["code"] for c in twin["departmentCodes"]} >= set(codes)

    page = web.get(f"/app/admin/organizations/{org_id}")
    assert html.escape(org["name"]) in page.text
    for department in twin["departments"]:
        assert html.escape(department["name"]) in page.text
    assert f'action="/app/admin/organizations/{org_id}/departments"' in page.text

    missing = web.get("/app/admin/organizations/no-such-org")
    assert missing.status_code == 404 and "CH-2001" in missing.text


def test_adding_deactivating_and_reactivating_a_department(
    browser_as: Browser, county: DemoCounty, county_store: Store
) -> None:
    web = browser_as("bureau-admin")
    org_id = org_id_of(county, "township-clinician")
    path = f"/app/admin/organizations/{org_id}"
    form = web.get(path).text
    name = unique("测试全科门诊 ")
    added = web.post(
        f"{path}/departments",
        data={
            "name": name,
            "code": "02",
            "code_display": "",
            "active": "true",
            "csrf_token": csrf(form),
        },
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"] == f"{path}?done=department-added"
    page = web.get(added.headers["location"])
    assert ZH("admin.done.department_added") in page.text and name in page.text

    # A real HealthcareService, provided by the organisation, with the county's display of 02.
    found = search(county_store, "HealthcareService", [("name", name)])
    assert len(found) == 1
    service = found[0]
    assert service["providedBy"]["reference"] == f"Organization/{org_id}"
    assert service["active"] is True
    assert service["type"][0]["coding"][0] == {
        "system": systems.DEPARTMENT,
        "code": "02",
        "display": "全科医疗科",
    }
    twin = web.get(path, headers=JSON).json()
    shown = next(d for d in twin["departments"] if d["id"] == service["id"])
    assert shown["active"] is True and shown["name"] == name

    toggle = f"{path}/departments/{service['id']}/active"
    off = web.post(
        toggle, data={"active": "false", "csrf_token": csrf(form)}, follow_redirects=False
    )
    assert (
        off.status_code == 303 and off.headers["location"] == f"{path}?done=department-deactivated"
    )
    repo = county_store.repository(system_caller("tests"))
    stored = repo.read("HealthcareService", service["id"])
    assert stored.resource["active"] is False and stored.version == 2
    page = web.get(off.headers["location"])
    assert ZH("admin.done.department_deactivated") in page.text
    assert ZH("admin.department.reactivate_named", name=name) in html.unescape(page.text)

    on = web.post(toggle, data={"active": "true", "csrf_token": csrf(form)}, headers=JSON)
    assert on.status_code == 200 and on.json()["flash"]["done"] == "department-reactivated"
    assert next(d for d in on.json()["departments"] if d["id"] == service["id"])["active"] is True
    assert repo.read("HealthcareService", service["id"]).version == 3


def test_department_form_problems_are_readable_and_write_nothing(
    browser_as: Browser, county: DemoCounty, county_store: Store
) -> None:
    web = browser_as("bureau-admin")
    org_id = org_id_of(county, "village-doctor")
    path = f"/app/admin/organizations/{org_id}"
    token = csrf(web.get(path).text)
    before = departments_of(county_store, org_id)

    empty = web.post(f"{path}/departments", data={"name": "  ", "code": "02", "csrf_token": token})
    assert empty.status_code == 400 and "<html" in empty.text
    assert problem("zh_CN", "name.required") in empty.text
    assert 'name="name" value=""' in empty.text and 'aria-invalid="true"' in empty.text

    web.cookies.set("ch_lang", "en")
    name = unique("New clinic ")
    unknown = web.post(
        f"{path}/departments", data={"name": name, "code": "99.99", "csrf_token": token}
    )
    assert unknown.status_code == 400
    assert html.escape(problem("en", "codeDisplay.required", code="99.99")) in unknown.text
    assert f'value="{name}"' in unknown.text  # what was typed is kept

    shape = web.post(
        f"{path}/departments", data={"name": name, "code": "0 2", "csrf_token": token}, headers=JSON
    )
    assert shape.status_code == 400
    assert [p["key"] for p in shape.json()["problems"]] == ["code.shape"]

    assert departments_of(county_store, org_id) == before

    missing = web.post(
        "/app/admin/organizations/no-such-org/departments",
        data={"name": name, "code": "02", "csrf_token": token},
    )
    assert missing.status_code == 404 and "CH-2001" in missing.text


def test_a_clinician_reads_organisations_but_cannot_add_departments(
    browser_as: Browser, county: DemoCounty, county_store: Store
) -> None:
    web = browser_as("county-clinician")
    org_id = org_id_of(county, "county-clinician")
    page = web.get(f"/app/admin/organizations/{org_id}")
    assert page.status_code == 200 and 'name="code"' not in page.text
    assert web.get(f"/app/admin/organizations/{org_id}", headers=JSON).json()["canEdit"] is False
    name = unique("Not allowed ")
    answer = web.post(
        f"/app/admin/organizations/{org_id}/departments",
        data={"name": name, "code": "02", "csrf_token": csrf(page.text)},
    )
    assert answer.status_code == 403 and "CH-4003" in answer.text
    assert search(county_store, "HealthcareService", [("name", name)]) == []


# --------------------------------------------------------------------------- staff accounts


def test_user_list_shows_staff_with_role_labels(
    browser_as: Browser, county: DemoCounty, county_store: Store
) -> None:
    web = browser_as("bureau-admin")
    twin = web.get("/app/admin/users", headers=JSON).json()
    rows = {u["username"]: u for u in twin["users"]}
    nurse = county.account("nurse")
    row = rows[nurse["username"]]
    assert row["roles"] == [{"code": "nurse", "zh": "护士", "en": "Nurse"}]
    assert row["organization"]["reference"] == nurse["organization"]
    assert row["organization"]["name"] == nurse["organization_name"]
    assert row["disabled"] is False
    assert rows[county.account("bureau-admin")["username"]]["self"] is True
    assert county.account("resident")["username"] not in rows  # residents are not staff
    assert "resident" not in {r["code"] for r in twin["roles"]}
    assert {"county-clinician", "bureau-admin"} <= {r["code"] for r in twin["roles"]}
    assert not re.search(r"argon2|password_?hash|totp_?secret", str(twin), re.I)

    zh = web.get("/app/admin/users").text
    assert "护士" in zh and nurse["organization_name"] in zh
    web.cookies.set("ch_lang", "en")
    en = web.get("/app/admin/users").text
    assert ">Nurse<" in en and "Health-bureau administrator" in en


def is_disabled(store: Store, username: str) -> bool:
    account = store.accounts.user(username)
    assert account is not None
    return account.disabled


def sign_in_with(web: TestClient, username: str, password: str) -> int:
    web.cookies.clear()
    token = csrf(web.get("/auth/login").text)
    answer = web.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return answer.status_code


def test_creating_a_user_who_then_signs_in_and_is_disabled(
    browser_as: Browser, county: DemoCounty, county_store: Store
) -> None:
    web = browser_as("bureau-admin")
    token = csrf(web.get("/app/admin/users").text)
    username = unique("t.nurse-")
    org = county.account("nurse")["organization"]
    created = web.post(
        "/app/admin/users",
        data={
            "username": username,
            "display_name": "测试护士 王芳",
            "role": "nurse",
            "organization": org,
            "csrf_token": token,
        },
    )
    assert created.status_code == 201, created.text
    found = re.search(r"<dd><code>([A-Za-z0-9_-]{16,})</code></dd>", created.text)
    assert found, "the initial password is on the page"
    password = found.group(1)
    assert ZH("admin.user_created.once") in created.text
    account = county_store.accounts.user(username)
    assert account is not None and account.roles == ("nurse",) and account.organization == org
    assert account.display_name == "测试护士 王芳" and account.password_hash
    assert password not in account.password_hash
    # Shown once: the list (page and twin) never shows it.
    assert password not in web.get("/app/admin/users").text
    assert password not in web.get("/app/admin/users", headers=JSON).text

    person = browser_as("nurse")
    assert sign_in_with(person, username, password) == 303
    home = person.get("/app", headers=JSON).json()
    assert home["roles"] == ["nurse"] and home["organization"] == org

    off = web.post(
        f"/app/admin/users/{username}/disabled",
        data={"disabled": "true", "csrf_token": token},
        follow_redirects=False,
    )
    assert off.status_code == 303
    listed = web.get(off.headers["location"])
    assert ZH("admin.done.user_disabled", username=username) in listed.text
    assert is_disabled(county_store, username)
    # The open session ended, and signing in again fails.
    assert person.get("/app", follow_redirects=False).status_code == 303
    assert sign_in_with(person, username, password) == 401

    on = web.post(
        f"/app/admin/users/{username}/disabled",
        data={"disabled": "false", "csrf_token": token},
        headers=JSON,
    )
    assert on.status_code == 200
    assert next(u for u in on.json()["users"] if u["username"] == username)["disabled"] is False
    assert sign_in_with(person, username, password) == 303


def test_a_bureau_account_needs_no_organisation(browser_as: Browser, county_store: Store) -> None:
    web = browser_as("bureau-admin")
    username = unique("t.officer-")
    created = web.post(
        "/app/admin/users",
        data={
            "username": username,
            "display_name": "Test Officer",
            "role": "public-health-officer",
            "csrf_token": csrf(web.get("/app/admin/users").text),
        },
        headers=JSON,
    )
    assert created.status_code == 201
    user = created.json()["user"]
    assert user["username"] == username and user["organization"] is None
    assert len(user["password"]) >= 16
    assert county_store.accounts.user(username) is not None


@pytest.mark.parametrize(
    ("fields", "key", "status"),
    [
        ({"username": "demo-nurse"}, "username.taken", 409),
        ({"organization": "Organization/no-such-org"}, "organization.unknown", 400),
        ({"organization": "org-h01 x"}, "organization.shape", 400),
        ({"organization": ""}, "organization.required", 400),
        ({"display_name": "   "}, "display.required", 400),
        ({"username": "has space"}, "username.shape", 400),
        ({"username": ""}, "username.required", 400),
        ({"role": "resident"}, "role.unknown", 400),
        ({"role": "integrator"}, "role.unknown", 400),
    ],
)
def test_user_form_problems_are_readable_and_store_nothing(
    browser_as: Browser,
    county: DemoCounty,
    county_store: Store,
    fields: dict[str, str],
    key: str,
    status: int,
) -> None:
    web = browser_as("bureau-admin")
    data = {
        "username": unique("t.bad-"),
        "display_name": "测试用户",
        "role": "county-clinician",
        "organization": county.account("county-clinician")["organization"],
        "csrf_token": csrf(web.get("/app/admin/users").text),
        **fields,
    }
    before = county_store.accounts.usernames()
    answer = web.post("/app/admin/users", data=data)
    assert answer.status_code == status, answer.text[:300]
    values = {"username": data["username"], "reference": data["organization"]}
    assert html.escape(problem("zh_CN", key, **values)) in answer.text
    assert "<html" in answer.text and 'role="alert"' in answer.text
    twin = web.post("/app/admin/users", data=data, headers=JSON)
    assert twin.status_code == status
    assert key in [p["key"] for p in twin.json()["problems"]]
    assert twin.json()["form"]["username"] == data["username"].strip()
    assert county_store.accounts.usernames() == before


def test_an_administrator_cannot_disable_their_own_account(
    browser_as: Browser, county: DemoCounty, county_store: Store
) -> None:
    web = browser_as("bureau-admin")
    me = county.account("bureau-admin")["username"]
    answer = web.post(
        f"/app/admin/users/{me}/disabled",
        data={"disabled": "true", "csrf_token": csrf(web.get("/app/admin/users").text)},
    )
    assert answer.status_code == 400 and problem("zh_CN", "account.self") in answer.text
    assert not is_disabled(county_store, me)
    unknown = web.post(
        "/app/admin/users/no-such-user/disabled",
        data={"disabled": "true", "csrf_token": csrf(web.get("/app/admin/users").text)},
    )
    assert unknown.status_code == 404


@pytest.mark.parametrize("role", ["county-clinician", "public-health-officer", "nurse"])
def test_only_manage_users_may_use_the_user_pages(
    browser_as: Browser, county: DemoCounty, county_store: Store, role: str
) -> None:
    web = browser_as(role)
    page = web.get("/app/admin/users")
    assert page.status_code == 403 and "CH-4013" in page.text and "<html" in page.text
    outcome = web.get("/app/admin/users", headers=JSON)
    assert outcome.status_code == 403
    assert outcome.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-4013"
    token = csrf(web.get("/app").text)
    username = unique("t.sneaky-")
    made = web.post(
        "/app/admin/users",
        data={
            "username": username,
            "display_name": "x",
            "role": "bureau-admin",
            "csrf_token": token,
        },
    )
    assert made.status_code == 403 and "CH-4013" in made.text
    assert county_store.accounts.user(username) is None
    victim = county.account("cashier")["username"]
    off = web.post(
        f"/app/admin/users/{victim}/disabled", data={"disabled": "true", "csrf_token": token}
    )
    assert off.status_code == 403
    assert not is_disabled(county_store, victim)


# --------------------------------------------------------------------------- roles


def test_roles_page_lists_every_role_with_its_reach(browser_as: Browser) -> None:
    from countyhealth.security.roles import roles

    web = browser_as("bureau-admin")
    twin = web.get("/app/admin/roles", headers=JSON).json()
    assert [r["code"] for r in twin["roles"]] == list(roles())
    bureau = next(r for r in twin["roles"] if r["code"] == "bureau-admin")
    assert bureau["access"] == "all" and "manage-users" in bureau["privileges"]
    assert "user/Organization.cruds" in bureau["scopes"]
    page = web.get("/app/admin/roles").text
    for mode in ("all", "consent", "compartment", "none"):
        assert ZH(f"admin.roles.access.{mode}.explain") in page
    assert "卫健局管理员" in page and "user/HealthcareService.cruds" in page
    assert ZH("admin.roles.privilege.break-glass") in page


# --------------------------------------------------------------------------- break-glass


def local_day(days: int = 0) -> str:
    return (datetime.now(LOCAL_TZ) + timedelta(days=days)).date().isoformat()


def test_break_glass_report_lists_openings_since_a_date(
    browser_as: Browser, county: DemoCounty, county_store: Store
) -> None:
    # A clinician of the county hospital opens a patient's record by break-glass.
    settings = county.settings
    username = unique("t.glass-")
    org = county.account("county-clinician")["organization"]
    add_user(
        county_store.accounts,
        Passwords(settings),
        settings,
        username=username,
        roles=["county-clinician"],
        organization=org,
        display_name="急诊 测试医生",
    )
    clinician = caller_for(
        kind="user", id=username, role_codes=("county-clinician",), organization=org
    )
    patient = search(county_store, "Patient", [("_sort", "-_id")])[0]["id"]
    reason = unique("患者昏迷送入急诊，需查既往病史 ")
    county_store.repository(clinician).break_glass(patient, reason)

    web = browser_as("bureau-admin")
    twin = web.get("/app/admin/break-glass", headers=JSON).json()
    assert twin["page"] == "admin/break_glass" and twin["since"] == local_day(-30)
    row = next(o for o in twin["openings"] if o["reason"] == reason)
    assert row["who"] == {"key": f"user/{username}", "name": "急诊 测试医生"}
    assert row["organization"]["reference"] == org
    assert row["organization"]["name"] == county.account("county-clinician")["organization_name"]
    assert row["patient"] == f"Patient/{patient}" and row["live"] is True
    assert row["started"] < row["expires"]

    page = web.get("/app/admin/break-glass", params={"since": local_day()})
    assert page.status_code == 200 and reason in page.text and "急诊 测试医生" in page.text
    later = web.get("/app/admin/break-glass", params={"since": local_day(1)}, headers=JSON).json()
    assert all(o["reason"] != reason for o in later["openings"])

    bad = web.get("/app/admin/break-glass", params={"since": "last week"})
    assert bad.status_code == 400
    assert html.escape(problem("zh_CN", "since.date", value="last week")) in bad.text


@pytest.mark.parametrize("role", ["county-clinician", "public-health-officer"])
def test_break_glass_report_needs_the_audit_privilege(browser_as: Browser, role: str) -> None:
    answer = browser_as(role).get("/app/admin/break-glass")
    assert answer.status_code == 403 and "CH-4013" in answer.text


# --------------------------------------------------------------------------- catalogues


def test_every_problem_and_role_text_is_translated() -> None:
    from countyhealth.security.roles import roles
    from countyhealth.store.context import ACCESS_MODES

    keys = {f"admin.problem.{k}" for k in PROBLEM_KEYS}
    keys |= {f"admin.roles.access.{m}" for m in ACCESS_MODES}
    keys |= {f"admin.roles.access.{m}.explain" for m in ACCESS_MODES}
    keys |= {f"admin.roles.kind.{r.kind}" for r in roles().values()}
    for r in roles().values():
        for p in r.privileges:
            keys |= {f"admin.roles.privilege.{p}", f"admin.roles.privilege.{p}.explain"}
    from countyhealth.web.views.admin_forms import NOTICES

    keys |= {key for _, key in NOTICES.values()}
    for language in ("zh_CN", "en"):
        assert sorted(keys - set(messages(language).texts)) == [], language
    assert ZH("admin.problem.heading") != EN("admin.problem.heading")
