"""Staff sign-in, web sessions and CSRF over HTTP: /auth/login, /auth/logout, /auth/me."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from countyhealth.api.principal import caller_from_request, cookie_secure
from countyhealth.app import create_app
from countyhealth.config import Settings
from countyhealth.security import totp
from countyhealth.security.enrolment import add_user
from countyhealth.security.services import AuthServices
from countyhealth.store import Store
from tests.conftest import TEST_SECRET, make_settings
from tests.support.accounts import FAST_PASSWORDS, csrf_of, sign_in

PASSWORD = "青山 county hospital 2026"


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request, **FAST_PASSWORDS)


@pytest.fixture
def app(settings: Settings, store: Store) -> FastAPI:
    app = create_app(settings, store)

    @app.post("/probe", include_in_schema=False)
    def probe(request: Request) -> dict[str, str]:
        return {"caller": caller_from_request(request).key}

    return app


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def services(app: FastAPI) -> AuthServices:
    services: AuthServices = app.state.auth
    add_user(
        services.accounts,
        services.passwords,
        services.settings,
        username="dr.zhou",
        roles=["county-clinician"],
        organization="Organization/org-h01",
        actors=["Practitioner/prac-0001", "PractitionerRole/role-0001"],
        display_name="周医生",
        password=PASSWORD,
    )
    return services


def test_staff_sign_in_starts_a_session(web: TestClient, services: AuthServices) -> None:
    page = web.get("/auth/login")
    assert page.status_code == 200 and "工作人员登录" in page.text and 'lang="zh-CN"' in page.text
    web.cookies.set("ch_lang", "en")
    english = web.get("/auth/login")
    assert "Staff sign-in" in english.text and 'lang="en"' in english.text
    web.cookies.delete("ch_lang")
    response = sign_in(web, "dr.zhou", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/app"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("ch_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags  # test environment over plain HTTP
    me = web.get("/auth/me").json()
    assert me["id"] == "dr.zhou" and me["kind"] == "user" and me["channel"] == "web"
    assert me["roles"] == ["county-clinician"]
    assert me["organization"] == "Organization/org-h01"
    assert me["access"] == "consent"
    assert me["privileges"] == [
        "book-referral",
        "book-window",
        "break-glass",
        "call-queue",
        "check-in",
    ]
    assert me["actors"] == ["Practitioner/prac-0001", "PractitionerRole/role-0001"]
    assert "user/Observation.cru" in me["scope"].split()
    assert me["csrf_token"]
    signed_in = web.get("/auth/login")
    assert "周医生" in signed_in.text and me["csrf_token"] in signed_in.text
    stored = services.accounts.sessions.get(
        __import__("hashlib").sha256(web.cookies["ch_session"].encode()).hexdigest()
    )
    assert stored is not None  # the table keeps only the hash of the cookie value


def test_cookies_are_secure_outside_development_and_test(
    tmp_path: Path, request: pytest.FixtureRequest, store: Store
) -> None:
    assert cookie_secure(Settings(environment="production", secret_key=TEST_SECRET))
    assert not cookie_secure(Settings(environment="development"))
    assert not cookie_secure(
        Settings(environment="production", secret_key=TEST_SECRET, session_cookie_secure=False)
    )
    settings = store.settings.model_copy(update={"session_cookie_secure": True})
    app = create_app(settings, store)
    services: AuthServices = app.state.auth
    add_user(
        services.accounts,
        services.passwords,
        settings,
        username="nurse.li",
        roles=["nurse"],
        organization="Organization/org-h01",
        password=PASSWORD,
    )
    with TestClient(app, base_url="https://testserver") as client:
        response = sign_in(client, "nurse.li", PASSWORD)
        assert response.status_code == 303
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("ch_session=")
        )
        assert "secure" in cookie.lower()


def test_wrong_credentials_are_one_message(web: TestClient, services: AuthServices) -> None:
    wrong = sign_in(web, "dr.zhou", "not the password")
    unknown = sign_in(web, "dr.nobody", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "用户名或密码错误" in response.text and "CH-4006" in response.text
        assert "ch_session" not in response.headers.get("set-cookie", "")
    assert 'value="dr.zhou"' in wrong.text  # the user name is kept, never the password
    as_json = sign_in(web, "dr.zhou", "nope", headers={"Accept": "application/json"})
    assert as_json.status_code == 401
    body = as_json.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["details"]["coding"][0]["code"] == "CH-4006"
    assert web.get("/auth/me").status_code == 401


def test_sixth_attempt_is_throttled_and_allowed_after_the_window(
    web: TestClient, services: AuthServices
) -> None:
    for _ in range(5):
        assert sign_in(web, "dr.zhou", "guess").status_code == 401
    throttled = sign_in(web, "dr.zhou", PASSWORD)  # even the right password
    assert throttled.status_code == 429
    assert "CH-4007" in throttled.text and int(throttled.headers["retry-after"]) > 0
    services.clock.advance(15 * 60 + 1)
    assert sign_in(web, "dr.zhou", PASSWORD).status_code == 303


def test_totp_is_asked_for_when_enrolled(web: TestClient, services: AuthServices) -> None:
    secret = totp.new_secret()
    services.accounts.set_totp_secret("dr.zhou", secret)
    missing = sign_in(web, "dr.zhou", PASSWORD)
    assert missing.status_code == 401 and "authenticator" in missing.text
    code = totp.current_code(secret, services.clock.now_seconds())
    assert sign_in(web, "dr.zhou", PASSWORD, totp=code).status_code == 303


def test_an_old_hash_is_upgraded_at_sign_in(web: TestClient, services: AuthServices) -> None:
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(PASSWORD)
    services.accounts.set_password_hash("dr.zhou", old)
    assert sign_in(web, "dr.zhou", PASSWORD).status_code == 303
    user = services.accounts.user("dr.zhou")
    assert user is not None and user.password_hash != old
    assert "m=1024,t=1,p=1" in (user.password_hash or "")


def test_disabled_accounts_cannot_sign_in_and_lose_their_sessions(
    web: TestClient, services: AuthServices
) -> None:
    assert sign_in(web, "dr.zhou", PASSWORD).status_code == 303
    services.accounts.set_disabled("dr.zhou", True)
    assert web.get("/auth/me").status_code == 401
    assert sign_in(web, "dr.zhou", PASSWORD).status_code == 401


def test_sign_in_forms_need_their_own_csrf_token(web: TestClient, services: AuthServices) -> None:
    no_token = web.post("/auth/login", data={"username": "dr.zhou", "password": PASSWORD})
    assert no_token.status_code == 403 and "CH-4008" in no_token.text
    csrf_of(web.get("/auth/login").text)
    forged = web.post(
        "/auth/login",
        data={"username": "dr.zhou", "password": PASSWORD, "csrf_token": "x" * 43},
    )
    assert forged.status_code == 403
    assert web.get("/auth/me").status_code == 401


def test_unsafe_requests_with_the_cookie_need_the_csrf_token(
    web: TestClient, services: AuthServices
) -> None:
    assert sign_in(web, "dr.zhou", PASSWORD).status_code == 303
    token = web.get("/auth/me").json()["csrf_token"]
    refused = web.post("/probe")
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["details"]["coding"][0]["code"] == "CH-4008"
    assert web.post("/probe", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert web.post("/probe", headers={"X-CSRF-Token": token}).json() == {"caller": "user/dr.zhou"}
    assert web.post("/probe", data={"csrf_token": token}).status_code == 200
    assert web.post("/probe", data={"csrf_token": "wrong"}).status_code == 403
    multipart = web.post("/probe", files={"csrf_token": (None, token)})
    assert multipart.status_code == 200
    anonymous = TestClient(web.app, raise_server_exceptions=False)
    assert anonymous.post("/probe").status_code == 401
    assert anonymous.get("/auth/me").headers["www-authenticate"].startswith("Bearer")


def test_logout_ends_the_session(web: TestClient, services: AuthServices) -> None:
    assert sign_in(web, "dr.zhou", PASSWORD).status_code == 303
    cookie = web.cookies["ch_session"]
    token = web.get("/auth/me").json()["csrf_token"]
    assert web.post("/auth/logout").status_code == 403  # no CSRF token
    out = web.post("/auth/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/auth/login"
    assert 'ch_session=""' in out.headers["set-cookie"]
    replay = TestClient(web.app, cookies={"ch_session": cookie}, raise_server_exceptions=False)
    gone = replay.get("/auth/me")
    assert gone.status_code == 401 and "session has ended" in gone.text
    assert web.post("/auth/logout", headers={"Accept": "application/json"}).status_code == 401


def test_sessions_end_when_idle_and_after_the_absolute_lifetime(
    web: TestClient, services: AuthServices
) -> None:
    assert sign_in(web, "dr.zhou", PASSWORD).status_code == 303
    services.clock.advance(29 * 60)
    assert web.get("/auth/me").status_code == 200  # activity keeps it alive
    services.clock.advance(29 * 60)
    assert web.get("/auth/me").status_code == 200
    services.clock.advance(31 * 60)
    assert web.get("/auth/me").status_code == 401
    assert sign_in(web, "dr.zhou", PASSWORD).status_code == 303
    for _ in range(26):  # active all day long (26 × 29 min > 12 h)
        services.clock.advance(29 * 60)
        if web.get("/auth/me").status_code != 200:
            break
    assert web.get("/auth/me").status_code == 401  # 12 hours after sign-in


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/api/me/records", "/api/me/records"),
        ("//evil.example/x", "/app"),
        ("https://evil.example/", "/app"),
        ("/\\evil.example", "/app"),
    ],
)
def test_only_local_next_pages(
    web: TestClient, services: AuthServices, target: str, expected: str
) -> None:
    token = csrf_of(web.get("/auth/login").text)
    response = web.post(
        "/auth/login",
        data={"username": "dr.zhou", "password": PASSWORD, "csrf_token": token, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == expected


def test_malformed_bodies_never_answer_5xx(web: TestClient, services: AuthServices) -> None:
    token = csrf_of(web.get("/auth/login").text)
    bodies: list[dict[str, object]] = [
        {},
        {"content": b"", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {
            "content": b"\xff\xfe\x00garbage",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        {"content": b"%%%&&&===", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"content": b'{"username": "dr.zhou"}', "headers": {"Content-Type": "application/json"}},
        {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data"}},
        {
            "content": b"--x\r\nbroken",
            "headers": {"Content-Type": "multipart/form-data; boundary=x"},
        },
        {"files": {"username": ("a.txt", b"file", "text/plain")}},
        {"data": {"username": "x" * 100_000, "password": "y" * 100_000, "csrf_token": token}},
        {"data": {"phone": "1" * 5000, "code": "\u0000" * 10, "csrf_token": token}},
        {"data": {"username": "dr\u0000zhou", "password": "x", "csrf_token": token}},
        {
            "data": {
                "grant_type": "client_credentials",
                "client_id": "a\u0000",
                "client_secret": "x",
            }
        },
        {"data": {"username": ["a", "b"], "password": [PASSWORD, "x"], "csrf_token": token}},
        {"data": {"grant_type": "client_credentials", "scope": "system/*.zz"}},
        {
            "content": "grant_type=client_credentials&grant_type=x",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        {
            "headers": {"Authorization": "Basic !!!notbase64"},
            "data": {"grant_type": "client_credentials"},
        },
        {"headers": {"Authorization": "Basic Og=="}, "data": {"token": "a.b.c"}},
        {
            "data": {
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": "x.y.z",
            }
        },
    ]
    paths = [
        "/auth/login",
        "/auth/otp",
        "/auth/otp/verify",
        "/auth/logout",
        "/auth/token",
        "/auth/revoke",
    ]
    for path in paths:
        for body in bodies:
            for accept in ("text/html", "application/json"):
                headers = {**dict(body.get("headers") or {}), "Accept": accept}  # type: ignore[call-overload]
                kwargs = {k: v for k, v in body.items() if k != "headers"}
                response = web.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]
                assert response.status_code < 500, (path, body, response.text[:300])


def test_demo_accounts_are_listed_on_the_login_page_in_development_only(
    store: Store,
) -> None:
    import json

    from countyhealth.security.demo import demo_file

    demo = {
        "role": "nurse",
        "zh": "护士",
        "en": "Nurse",
        "username": "demo-nurse",
        "password": "pw-shown-in-development",
        "organization": "Organization/org-h01",
        "organization_name": "青山县人民医院",
        "actor": None,
        "display": "杨思",
        "phone": None,
        "kind": "user",
    }
    demo_file(store.settings).write_text(json.dumps([demo]), encoding="utf-8")
    development = store.settings.model_copy(update={"environment": "development"})
    with TestClient(create_app(development, store)) as client:
        page = client.get("/auth/login").text
        assert "演示用 / demo only" in page and "pw-shown-in-development" in page
    with TestClient(create_app(store.settings, store)) as client:
        assert "pw-shown-in-development" not in client.get("/auth/login").text
