"""Resident sign-in by phone and one-time code: /auth/otp and /auth/otp/verify."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from countyhealth.app import create_app
from countyhealth.config import Settings
from countyhealth.security.services import AuthServices
from countyhealth.store import Repository, Store
from tests.conftest import make_settings
from tests.support.accounts import FAST_PASSWORDS, csrf_of, id_number, put_carer, put_patient

PHONE = "13812345678"


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request, **FAST_PASSWORDS)


@pytest.fixture
def family(repo: Repository) -> None:
    mother = id_number(date(1990, 5, 1), 12)
    put_patient(repo, "mother", phone=PHONE, number=mother)
    put_patient(repo, "baby", born=date(2024, 2, 3), name="王小宝")
    put_patient(repo, "adult-son", born=date(2000, 2, 3), name="王大宝")
    put_carer(repo, "rp-baby", "baby", mother)
    put_carer(repo, "rp-son", "adult-son", mother)


@pytest.fixture
def app(settings: Settings, store: Store, family: None) -> FastAPI:
    return create_app(settings, store)


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _ask(web: TestClient, phone: str = PHONE) -> tuple[str, str]:
    """Ask for a code; returns the page's CSRF token and the demo code it shows."""
    token = csrf_of(web.get("/auth/login").text)
    page = web.post("/auth/otp", data={"phone": phone, "csrf_token": token})
    assert page.status_code == 200, page.text
    found = re.search(r"演示用 / demo only: <code>(\d{6})</code>", page.text)
    assert found, "the demo code is shown in the test environment"
    return token, found.group(1)


def test_resident_signs_in_with_a_code_and_sees_own_and_minors_records(
    web: TestClient, app: FastAPI
) -> None:
    token, code = _ask(web, "+86 138 1234 5678")
    response = web.post(
        "/auth/otp/verify",
        data={"phone": PHONE, "code": code, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    me = web.get("/auth/me").json()
    assert me["id"] == "resident-mother" and me["roles"] == ["resident"]
    assert me["access"] == "compartment"
    assert me["patients"] == ["mother", "baby"]  # not the adult son
    assert me["organization"] is None and me["display"] == "李梅"
    services: AuthServices = app.state.auth
    account = services.accounts.user("resident-mother")
    assert account is not None and account.phone == PHONE and account.patient_id == "mother"
    # The used code is void; the account is found again the next time (another browser).
    again = web.post("/auth/otp/verify", data={"phone": PHONE, "code": code, "csrf_token": token})
    assert again.status_code == 401
    other = TestClient(app)
    token, code = _ask(other)
    json_login = other.post(
        "/auth/otp/verify",
        data={"phone": PHONE, "code": code, "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert json_login.status_code == 200 and json_login.json()["id"] == "resident-mother"


def test_three_wrong_codes_void_the_code(web: TestClient) -> None:
    token, code = _ask(web)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        page = web.post(
            "/auth/otp/verify", data={"phone": PHONE, "code": wrong, "csrf_token": token}
        )
        assert page.status_code == 401 and "验证码错误" in page.text
        assert 'name="code"' in page.text  # the code form again, with the message
    late = web.post("/auth/otp/verify", data={"phone": PHONE, "code": code, "csrf_token": token})
    assert late.status_code == 401


def test_an_expired_code_is_refused(web: TestClient, app: FastAPI) -> None:
    token, code = _ask(web)
    app.state.auth.clock.advance(5 * 60 + 1)
    expired = web.post("/auth/otp/verify", data={"phone": PHONE, "code": code, "csrf_token": token})
    assert expired.status_code == 401


def test_unknown_phones_get_a_code_but_no_account(web: TestClient, app: FastAPI) -> None:
    token, code = _ask(web, "13900000000")  # the same answer as for a known phone
    page = web.post(
        "/auth/otp/verify", data={"phone": "13900000000", "code": code, "csrf_token": token}
    )
    assert page.status_code == 401 and "未找到" in page.text
    assert app.state.auth.accounts.usernames("resident-") == []


def test_bad_phone_numbers_answer_400_with_the_form(web: TestClient) -> None:
    token = csrf_of(web.get("/auth/login").text)
    page = web.post("/auth/otp", data={"phone": "12345", "csrf_token": token})
    assert page.status_code == 400 and "11 位手机号码" in page.text
    as_json = web.post(
        "/auth/otp",
        data={"phone": "12345", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 400 and as_json.json()["resourceType"] == "OperationOutcome"


def test_json_clients_get_the_demo_code_in_the_test_environment(web: TestClient) -> None:
    token = csrf_of(web.get("/auth/login").text)
    sent = web.post(
        "/auth/otp",
        data={"phone": PHONE, "csrf_token": token},
        headers={"Accept": "application/json"},
    ).json()
    assert sent["phone"] == "138****5678" and sent["expires_in"] == 300
    assert re.fullmatch(r"\d{6}", sent["demo_code"]) and sent["demo_note"] == "演示用 / demo only"


def test_codes_are_never_shown_in_production(
    tmp_path: Path, request: pytest.FixtureRequest, family: None, store: Store
) -> None:
    settings = store.settings.model_copy(update={"environment": "production"})
    app = create_app(settings, store)
    with TestClient(app, base_url="https://testserver") as client:
        token = csrf_of(client.get("/auth/login").text)
        page = client.post("/auth/otp", data={"phone": PHONE, "csrf_token": token})
        assert page.status_code == 200 and "输入验证码" in page.text
        assert "demo only" not in page.text and "演示用" not in page.text
        as_json = client.post(
            "/auth/otp",
            data={"phone": PHONE, "csrf_token": token},
            headers={"Accept": "application/json"},
        ).json()
        assert "demo_code" not in as_json
    assert make_settings  # the production profile comes from the test one
