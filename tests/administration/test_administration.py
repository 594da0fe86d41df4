"""The administration domain without the web: its layering, the account listing, forms and
their problems, staff accounts and departments on both backends."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from countyhealth.administration import (
    DepartmentForm,
    FormInvalid,
    OrganizationQuery,
    Problem,
    StaffAccounts,
    UserForm,
    add_department,
    list_organizations,
    organization_detail,
    set_department_active,
)
from countyhealth.administration.break_glass_report import default_since, since_of
from countyhealth.config import Settings
from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.fhir.instant import parse_period
from countyhealth.security.passwords import Passwords
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store, UserAccount, system_caller
from tests.conftest import make_settings
from tests.support.accounts import FAST_PASSWORDS

PACKAGE = Path(__file__).resolve().parents[2] / "countyhealth" / "administration"


def test_the_domain_imports_no_framework() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = ["." * node.level + node.module]
            for name in names:
                assert not name.startswith(("fastapi", "starlette", "sqlalchemy")), (path, name)
                assert "web" not in name.lstrip(".").split("."), (path, name)


@pytest.fixture
def fast_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request, **FAST_PASSWORDS)


@pytest.fixture
def county(fast_settings: Settings) -> Iterator[Store]:
    """A store with a township health centre, a village clinic under it, and a clinic
    department."""
    store = Store.open(fast_settings)
    repo = store.repository(system_caller("tests"))
    for oid, name, kind, parent in (
        ("org-thc-01", "长乐镇中心卫生院", "health-centre", None),
        ("org-vc-001", "上堰村卫生室", "village-clinic", "org-thc-01"),
        ("org-ins-1", "Silk Road Insurance", "insurer", None),
    ):
        body = {
            "resourceType": "Organization",
            "id": oid,
            "active": True,
            "name": name,
            "type": [
                {"coding": [{"system": systems.FACILITY_TYPE, "code": kind, "display": kind}]},
                {"coding": [{"system": systems.FACILITY_LEVEL, "code": "primary"}]},
            ],
        }
        if parent:
            body["partOf"] = {"reference": f"Organization/{parent}"}
        repo.update("Organization", oid, body)
    repo.update(
        "HealthcareService",
        "hs-thc-01-02",
        {
            "resourceType": "HealthcareService",
            "id": "hs-thc-01-02",
            "active": True,
            "providedBy": {"reference": "Organization/org-thc-01"},
            "type": [
                {"coding": [{"system": systems.DEPARTMENT, "code": "02", "display": "全科医疗科"}]}
            ],
            "name": "长乐镇中心卫生院 全科医疗科",
        },
    )
    yield store
    store.close()


def bureau(store: Store, name: str = "boss") -> Repository:
    return store.repository(caller_for(kind="user", id=name, role_codes=("bureau-admin",)))


def staff_of(store: Store, settings: Settings, repo: Repository) -> StaffAccounts:
    return StaffAccounts(repo, store.accounts, Passwords(settings), settings)


def test_account_listing_pages_staff_in_name_order(county: Store) -> None:
    accounts = county.accounts
    for name in ("zhang", "li", "wang", "chen"):
        accounts.add_user(UserAccount(name, name, ("nurse",), "Organization/org-thc-01"))
    accounts.add_user(UserAccount("resident-pat-1", "居民", ("resident",), patient_id="pat-1"))
    assert [u.username for u in accounts.users()] == ["chen", "li", "wang", "zhang"]
    assert [u.username for u in accounts.users(1, 2)] == ["li", "wang"]
    assert accounts.users(4, 10) == []
    everyone = [u.username for u in accounts.users(staff=False)]
    assert everyone == ["chen", "li", "resident-pat-1", "wang", "zhang"]


def test_organisations_filter_by_name_type_and_parent(county: Store) -> None:
    repo = bureau(county)
    everything = list_organizations(repo, OrganizationQuery())
    assert everything["total"] == 3
    assert [t["code"] for t in everything["facilityTypes"]] == [
        "health-centre",
        "insurer",
        "village-clinic",
    ]
    clinic = list_organizations(repo, OrganizationQuery(text="村卫生"))["organizations"]
    assert [o["id"] for o in clinic] == ["org-vc-001"]
    assert clinic[0]["parent"] == {"id": "org-thc-01", "name": "长乐镇中心卫生院"}
    assert clinic[0]["facilityLevel"] == {"code": "primary", "display": "primary"}
    typed = list_organizations(repo, OrganizationQuery(facility_type="insurer"))
    assert [o["id"] for o in typed["organizations"]] == ["org-ins-1"]
    under = list_organizations(repo, OrganizationQuery(parent="org-thc-01"))
    assert [o["id"] for o in under["organizations"]] == ["org-vc-001"]
    # FHIR's reserved characters in the name are searched for, not interpreted.
    assert list_organizations(repo, OrganizationQuery(text="a,b|c$"))["total"] == 0
    with pytest.raises(FormInvalid):
        list_organizations(repo, OrganizationQuery(parent="a/b"))
    paged = list_organizations(repo, OrganizationQuery(), page_size=2)
    rest = list_organizations(repo, OrganizationQuery(page=paged["next"]), page_size=2)
    ids = [o["id"] for o in paged["organizations"] + rest["organizations"]]
    assert sorted(ids) == ["org-ins-1", "org-thc-01", "org-vc-001"] and rest["next"] is None


def test_departments_are_added_and_deactivated_through_the_repository(county: Store) -> None:
    repo = bureau(county)
    detail = organization_detail(repo, "org-thc-01")
    assert detail["organization"]["members"] == 1 and detail["canEdit"] is True
    assert [d["id"] for d in detail["departments"]] == ["hs-thc-01-02"]

    added = add_department(repo, "org-thc-01", DepartmentForm.of(" 第二 全科 ", "02"))
    stored = repo.read("HealthcareService", added["id"]).resource
    assert stored["name"] == "第二 全科" and stored["active"] is True
    assert stored["providedBy"] == {
        "reference": "Organization/org-thc-01",
        "display": "长乐镇中心卫生院",
    }
    assert stored["type"][0]["coding"][0]["display"] == "全科医疗科"  # the county's display

    off = set_department_active(repo, "org-thc-01", added["id"], False)
    assert off["active"] is False and off["version"] == 2
    assert set_department_active(repo, "org-thc-01", added["id"], False)["version"] == 2
    with pytest.raises(OperationOutcomeError) as other:
        set_department_active(repo, "org-vc-001", added["id"], True)
    assert other.value.code == "CH-2001"

    with pytest.raises(FormInvalid) as bad:
        add_department(repo, "org-thc-01", DepartmentForm.of("", "9 9", "x" * 101))
    assert [p.key for p in bad.value.problems] == [
        "name.required",
        "code.shape",
        "codeDisplay.long",
    ]
    assert bad.value.status == 400
    with pytest.raises(FormInvalid) as unknown:
        add_department(repo, "org-thc-01", DepartmentForm.of("新科室", "77"))
    assert [p.to_json() for p in unknown.value.problems] == [
        {
            "field": "codeDisplay",
            "reason": "required",
            "key": "codeDisplay.required",
            "values": {"code": "77"},
        }
    ]
    with pytest.raises(OperationOutcomeError) as missing:
        add_department(repo, "org-nowhere", DepartmentForm.of("新科室", "02"))
    assert missing.value.code == "CH-2001"


def test_staff_accounts_need_the_privilege(county: Store, fast_settings: Settings) -> None:
    nurse = county.repository(
        caller_for(
            kind="user", id="n", role_codes=("nurse",), organization="Organization/org-thc-01"
        )
    )
    with pytest.raises(OperationOutcomeError) as refused:
        staff_of(county, fast_settings, nurse)
    assert refused.value.code == "CH-4013" and refused.value.status == 403


def test_staff_accounts_create_check_and_disable(county: Store, fast_settings: Settings) -> None:
    admin = staff_of(county, fast_settings, bureau(county))
    form = UserForm.of(" wang.fang ", " 王  芳 ", "village-doctor", "org-vc-001")
    assert form.organization == "Organization/org-vc-001" and form.display_name == "王 芳"
    made = admin.create(form)
    assert made["organization"] == {
        "reference": "Organization/org-vc-001",
        "id": "org-vc-001",
        "name": "上堰村卫生室",
    }
    stored = county.accounts.user("wang.fang")
    assert stored is not None and stored.password_hash
    assert Passwords(fast_settings).check(stored.password_hash, made["password"]).ok
    assert "password" not in admin.page()["users"][0]

    with pytest.raises(FormInvalid) as again:
        admin.create(form)
    assert [p.key for p in again.value.problems] == ["username.taken"]
    assert again.value.status == 409

    with pytest.raises(FormInvalid) as many:
        admin.create(UserForm.of("", "", "integrator", "Organization/nowhere"))
    assert [p.key for p in many.value.problems] == [
        "username.required",
        "display.required",
        "role.unknown",
        "organization.unknown",
    ]

    assert admin.set_disabled("wang.fang", True)["disabled"] is True
    assert getattr(county.accounts.user("wang.fang"), "disabled", None) is True
    assert admin.set_disabled("wang.fang", False)["disabled"] is False
    county.accounts.add_user(UserAccount("boss", "局长", ("bureau-admin",)))
    with pytest.raises(FormInvalid) as own:
        admin.set_disabled("boss", True)
    assert [p.key for p in own.value.problems] == ["account.self"]
    with pytest.raises(OperationOutcomeError) as nobody:
        admin.set_disabled("nobody", True)
    assert nobody.value.code == "CH-2001"


def test_break_glass_since_dates() -> None:
    now = parse_period("2026-11-23T10:00:00+08:00")[0]
    assert default_since(now) == "2026-10-24"
    assert since_of("2026-10-24") == parse_period("2026-10-24")[0]
    with pytest.raises(FormInvalid) as bad:
        since_of("yesterday")
    assert bad.value.problems == [Problem("since", "date", {"value": "yesterday"})]
