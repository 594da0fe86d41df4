"""OAuth2 client credentials (secret and SMART private_key_jwt), scope narrowing, revocation,
expiry, and what token claims make of the Caller."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from countyhealth.api.auth import TokenVerifier, issue_token
from countyhealth.app import create_app
from countyhealth.config import Settings
from countyhealth.errors import OperationOutcomeError
from countyhealth.security.clients import ASSERTION_TYPE, token_endpoint
from countyhealth.security.enrolment import add_client
from countyhealth.security.services import AuthServices
from countyhealth.store import Store
from tests.conftest import make_settings
from tests.support.accounts import FAST_PASSWORDS, client_assertion, es384_key

SECRET = "his-secret-0123456789"
SCOPE = "system/*.rs system/Observation.cru"
AUDIENCE = "http://127.0.0.1:8000/auth/token"


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request, **FAST_PASSWORDS)


@pytest.fixture
def app(settings: Settings, store: Store) -> FastAPI:
    return create_app(settings, store)


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def services(app: FastAPI) -> AuthServices:
    services: AuthServices = app.state.auth
    add_client(
        services.accounts,
        services.passwords,
        client_id="his-1",
        scope=SCOPE,
        organization="Organization/org-h01",
        secret=SECRET,
    )
    return services


@pytest.fixture
def es_key(services: AuthServices) -> Any:
    private, public = es384_key("es-1")
    add_client(
        services.accounts,
        services.passwords,
        client_id="bulk-1",
        scope="system/*.rs",
        jwks_text=json.dumps({"keys": [public]}),
    )
    return private


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _token(web: TestClient, data: dict[str, str], **kwargs: Any) -> Any:
    return web.post("/auth/token", data=data, **kwargs)


def test_client_secret_basic_and_post(web: TestClient, services: AuthServices) -> None:
    response = _token(web, {"grant_type": "client_credentials"}, headers=_basic("his-1", SECRET))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 300
    assert body["scope"] == SCOPE
    me = web.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["kind"] == "client" and me["id"] == "his-1"
    assert me["organization"] == "Organization/org-h01" and me["access"] == "consent"
    posted = _token(
        web,
        {"grant_type": "client_credentials", "client_id": "his-1", "client_secret": SECRET},
    )
    assert posted.status_code == 200


def test_wrong_client_credentials(web: TestClient, services: AuthServices) -> None:
    wrong = _token(web, {"grant_type": "client_credentials"}, headers=_basic("his-1", "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    for data in (
        {"grant_type": "client_credentials", "client_id": "his-1", "client_secret": "nope"},
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": SECRET},
        {"grant_type": "client_credentials"},
    ):
        response = _token(web, data)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_client_failures_are_throttled(web: TestClient, services: AuthServices) -> None:
    for _ in range(5):
        bad = _token(web, {"grant_type": "client_credentials"}, headers=_basic("his-1", "x"))
        assert bad.status_code == 401
    locked = _token(web, {"grant_type": "client_credentials"}, headers=_basic("his-1", SECRET))
    assert locked.status_code == 429 and "retry-after" in locked.headers
    services.clock.advance(15 * 60 + 1)
    ok = _token(web, {"grant_type": "client_credentials"}, headers=_basic("his-1", SECRET))
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "scope": "system/Encounter.c"}, 400, "invalid_scope"),
        ({"grant_type": "client_credentials", "scope": "system/Patient.sr"}, 400, "invalid_scope"),
        ({"grant_type": "client_credentials", "client_secret": "x"}, 400, "invalid_request"),
    ],
)
def test_request_errors_follow_rfc_6749(
    web: TestClient, services: AuthServices, data: dict[str, str], status: int, error: str
) -> None:
    response = _token(web, data, headers=_basic("his-1", SECRET))
    assert response.status_code == status
    assert response.json()["error"] == error and response.json()["error_description"]


def test_form_encoding_is_required(web: TestClient, services: AuthServices) -> None:
    as_json = web.post(
        "/auth/token", json={"grant_type": "client_credentials"}, headers=_basic("his-1", SECRET)
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    repeated = web.post(
        "/auth/token",
        content=b"grant_type=client_credentials&scope=system/*.rs&scope=system/*.rs",
        headers={**_basic("his-1", SECRET), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400 and "more than once" in repeated.json()["error_description"]


def test_scope_is_narrowed_to_the_registered_scope(web: TestClient, services: AuthServices) -> None:
    response = _token(
        web,
        {
            "grant_type": "client_credentials",
            "scope": "system/Observation.crud system/Patient.r system/Encounter.c openid",
        },
        headers=_basic("his-1", SECRET),
    )
    assert response.status_code == 200
    granted = response.json()["scope"]
    assert granted == "system/Observation.cru system/Patient.r"
    me = web.get("/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.json()["scope"] == granted


def test_smart_backend_services_with_an_es384_assertion(
    web: TestClient, services: AuthServices, es_key: Any
) -> None:
    assert token_endpoint(services.settings) == AUDIENCE
    discovery = web.get("/fhir/.well-known/smart-configuration").json()
    assert discovery["token_endpoint"] == AUDIENCE
    assert "private_key_jwt" in discovery["token_endpoint_auth_methods_supported"]
    assertion = client_assertion(es_key, "bulk-1", AUDIENCE, kid="es-1")
    data = {
        "grant_type": "client_credentials",
        "scope": "system/*.rs",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    response = _token(web, data)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = web.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["id"] == "bulk-1" and me["access"] == "all"  # a client of no organisation
    replayed = _token(web, data)
    assert replayed.status_code == 401 and "used before" in replayed.json()["error_description"]


def test_bad_assertions_are_refused(web: TestClient, services: AuthServices, es_key: Any) -> None:
    other, _ = es384_key("es-1")
    cases = {
        "wrong audience": client_assertion(es_key, "bulk-1", "https://other/token", kid="es-1"),
        "too long": client_assertion(es_key, "bulk-1", AUDIENCE, kid="es-1", lifetime=900),
        "expired": client_assertion(es_key, "bulk-1", AUDIENCE, kid="es-1", lifetime=-120),
        "unknown kid": client_assertion(es_key, "bulk-1", AUDIENCE, kid="es-2"),
        "other key": client_assertion(other, "bulk-1", AUDIENCE, kid="es-1"),
        "wrong alg": jwt.encode(
            {
                "iss": "bulk-1",
                "sub": "bulk-1",
                "aud": AUDIENCE,
                "exp": int(time.time()) + 60,
                "jti": "x1",
            },
            "a-shared-secret-of-thirty-two-bytes!",
            algorithm="HS256",
            headers={"kid": "es-1"},
        ),
        "iss is not sub": client_assertion(es_key, "bulk-1", AUDIENCE, kid="es-1", sub="x"),
        "no jti": jwt.encode(
            {"iss": "bulk-1", "sub": "bulk-1", "aud": AUDIENCE, "exp": int(time.time()) + 60},
            es_key,
            algorithm="ES384",
            headers={"kid": "es-1"},
        ),
        "not a JWT": "not-a-jwt",
    }
    for name, assertion in cases.items():
        services.clock.advance(15 * 60 + 1)  # past the throttle of the previous failures
        response = _token(
            web,
            {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            },
        )
        assert response.status_code == 401, name
        assert response.json()["error"] == "invalid_client", name
    wrong_type = _token(
        web,
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:other",
            "client_assertion": client_assertion(es_key, "bulk-1", AUDIENCE, kid="es-1"),
        },
    )
    assert wrong_type.status_code == 400


def test_rs384_assertions_work_too(web: TestClient, services: AuthServices) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    add_client(
        services.accounts,
        services.passwords,
        client_id="lab-1",
        scope="system/Observation.cru",
        organization="Organization/org-h01",
        access="all",
        jwks_text=json.dumps({"keys": [{**public, "kid": "rsa-1"}]}),
    )
    assertion = client_assertion(private, "lab-1", AUDIENCE, kid="rsa-1", alg="RS384")
    response = _token(
        web,
        {
            "grant_type": "client_credentials",
            "client_id": "lab-1",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    assert response.status_code == 200, response.text
    me = web.get("/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.json()["access"] == "all"  # the client's registered override


def test_revoked_tokens_fail_at_once_here_and_after_a_refresh_elsewhere(
    web: TestClient, services: AuthServices, settings: Settings, store: Store
) -> None:
    token = _token(web, {"grant_type": "client_credentials"}, headers=_basic("his-1", SECRET))
    access = token.json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    # Another server process on the same database, refreshing its revocation list at once.
    other_store = Store.open(
        settings.model_copy(update={"token_revocation_refresh_seconds": 0.001})
    )
    try:
        other = TestClient(create_app(other_store.settings, other_store))
        assert web.get("/auth/me", headers=bearer).status_code == 200
        assert other.get("/auth/me", headers=bearer).status_code == 200  # cached there
        foreign = _token(
            web,
            {"grant_type": "client_credentials"},
            headers=_basic("his-1", SECRET),
        )
        add_client(
            services.accounts,
            services.passwords,
            client_id="his-2",
            scope=SCOPE,
            organization="Organization/org-h02",
            secret=SECRET,
        )
        not_theirs = web.post(
            "/auth/revoke", data={"token": access}, headers=_basic("his-2", SECRET)
        )
        assert not_theirs.status_code == 400
        assert not_theirs.json()["error"] == "unauthorized_client"
        revoked = web.post("/auth/revoke", data={"token": access}, headers=_basic("his-1", SECRET))
        assert revoked.status_code == 200
        refused = web.get("/auth/me", headers=bearer)
        assert refused.status_code == 401 and "revoked" in refused.text
        assert other.get("/auth/me", headers=bearer).status_code == 401
        assert other.get("/fhir/Patient", headers=bearer).status_code == 401
        still = {"Authorization": f"Bearer {foreign.json()['access_token']}"}
        assert web.get("/auth/me", headers=still).status_code == 200
        garbage = web.post("/auth/revoke", data={"token": "x.y.z"}, headers=_basic("his-1", SECRET))
        assert garbage.status_code == 200  # RFC 7009 §2.2
        anonymous = web.post("/auth/revoke", data={"token": access})
        assert anonymous.status_code == 401
    finally:
        other_store.close()


def test_expired_tokens_answer_401(web: TestClient, settings: Settings) -> None:
    expired = issue_token(settings, "his-1", "system/*.rs", extra={"exp": int(time.time()) - 5})
    response = web.get("/fhir/Patient", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.json()["issue"][0]["diagnostics"]


def test_claims_reach_the_caller(settings: Settings) -> None:
    verifier = TokenVerifier(settings)

    def caller(**claims: Any) -> Any:
        kind = claims.pop("kind", "client")
        token = issue_token(
            settings, "who", claims.pop("scope", "system/*.rs"), kind=kind, extra=claims
        )
        return verifier.caller(f"Bearer {token}", "10.0.0.9")

    system = caller(kind="system")
    assert (system.access, system.network_address) == ("all", "10.0.0.9")
    assert caller(org="Organization/org-h01").access == "consent"
    assert caller().access == "all"
    assert caller(org="Organization/org-h01", access="all").access == "all"
    user = caller(
        kind="user",
        scope="user/Observation.rs user/Patient.cruds",
        roles=["nurse"],
        org="Organization/org-h01",
        actors=["PractitionerRole/role-0004"],
        name="杨思",
    )
    assert user.roles == ("nurse",) and user.access == "consent" and user.display == "杨思"
    assert user.actors == ("PractitionerRole/role-0004",)
    assert user.scopes.allows("Observation", "read")
    assert not user.scopes.allows("Patient", "create")  # narrowed to the role's scopes
    resident = caller(
        kind="user",
        scope="patient/*.rs",
        roles=["resident"],
        patients=["mother", "baby"],
        privileges=[],
    )
    assert resident.access == "compartment" and resident.patients == ("mother", "baby")
    assert caller(kind="user").access == "none"  # a user token without roles
    for bad in (
        {"access": "everything"},
        {"patients": "mother"},
        {"kind": "robot"},
        {"kind": "user", "roles": ["surgeon"]},
        {"org": 5},
    ):
        with pytest.raises(OperationOutcomeError) as caught:
            caller(**bad)
        assert caught.value.status == 401
