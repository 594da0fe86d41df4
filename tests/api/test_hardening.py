"""HTTP hardening (countyhealth/api/hardening.py): security headers, no-store, CORS, HSTS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.config import Settings
from countyhealth.store import Store
from tests.conftest import TEST_SECRET, make_settings

pytestmark = pytest.mark.sqlite

HIS = "https://his.county.example"


def app_client(settings: Settings) -> Iterator[TestClient]:
    store = Store.open(settings)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {issue_token(settings, 'hardening', 'system/*.*')}"
        yield c


@pytest.fixture
def plain(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    yield from app_client(make_settings("sqlite", tmp_path, request))


@pytest.fixture
def hardened(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    settings = make_settings(
        "sqlite", tmp_path, request, cors_origins=[HIS], behind_https=True, hsts_max_age_seconds=600
    )
    yield from app_client(settings)


def assert_security_headers(h: Mapping[str, str]) -> None:
    csp = h["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src" not in csp and "style-src" not in csp  # default-src 'self' governs
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    assert "camera=()" in h["permissions-policy"]


PATIENT = {"resourceType": "Patient", "id": "h1", "gender": "female"}


def test_every_kind_of_answer_carries_the_headers(plain: TestClient) -> None:
    assert plain.put("/fhir/Patient/h1", json=PATIENT).status_code == 201
    answers = [
        plain.get("/fhir/Patient/h1"),  # a FHIR read
        plain.get("/fhir/Patient?gender=female"),  # a search
        plain.get("/fhir/Patient/nope"),  # a FHIR 404
        plain.get("/fhir/Patient/h1", headers={"Authorization": ""}),  # 401
        plain.get("/no/such/route"),  # the framework's 404
        plain.get("/healthz"),
        plain.get("/fhir/metadata"),
        plain.get("/openapi.json"),
    ]
    for r in answers:
        assert_security_headers(r.headers)
        assert "strict-transport-security" not in r.headers  # not behind HTTPS by default
    assert answers[3].status_code == 401


def test_fhir_answers_are_not_stored_but_keep_their_validators(plain: TestClient) -> None:
    assert plain.put("/fhir/Patient/h1", json=PATIENT).status_code == 201
    r = plain.get("/fhir/Patient/h1")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert etag == 'W/"1"' and modified
    again = plain.get("/fhir/Patient/h1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    assert again.headers["cache-control"] == "no-store"
    since = plain.get("/fhir/Patient/h1", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    stale = plain.put("/fhir/Patient/h1", json=PATIENT, headers={"If-Match": 'W/"7"'})
    assert stale.status_code == 412
    for path in ("/fhir/Patient?gender=female", "/fhir/Patient/h1/_history", "/healthz"):
        assert plain.get(path).headers["cache-control"] == "no-store", path


def test_no_cors_by_default(plain: TestClient) -> None:
    r = plain.get("/fhir/metadata", headers={"Origin": HIS})
    assert r.status_code == 200
    assert not [k for k in r.headers if k.lower().startswith("access-control-")]
    preflight = plain.options(
        "/fhir/Patient",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code >= 400
    assert not [k for k in preflight.headers if k.lower().startswith("access-control-")]


def test_cors_only_for_the_configured_origin(hardened: TestClient) -> None:
    ok = hardened.get("/fhir/metadata", headers={"Origin": HIS})
    assert ok.headers["access-control-allow-origin"] == HIS
    assert "access-control-allow-credentials" not in ok.headers
    assert "etag" in ok.headers.get("access-control-expose-headers", "").lower()
    other = hardened.get("/fhir/metadata", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers

    preflight = hardened.options(
        "/fhir/Patient",
        headers={
            "Origin": HIS,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == HIS
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert_security_headers(preflight.headers)  # the preflight answer is hardened too
    refused = hardened.options(
        "/fhir/Patient",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


def test_hsts_only_behind_https(hardened: TestClient, plain: TestClient) -> None:
    assert hardened.get("/healthz").headers["strict-transport-security"] == "max-age=600"
    assert "strict-transport-security" not in plain.get("/healthz").headers


@pytest.mark.parametrize(
    "origins",
    [["*"], ["https://his.example/path"], ["his.example"], ["ftp://his.example"], ["https://"]],
)
def test_cors_origins_must_be_origins(origins: list[str]) -> None:
    with pytest.raises(ValidationError):
        Settings(environment="test", secret_key=TEST_SECRET, cors_origins=origins)


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTYHEALTH_CORS_ORIGINS", f'["{HIS}", "http://10.1.2.3:8080"]')
    settings = Settings(environment="test", secret_key=TEST_SECRET)
    assert settings.cors_origins == [HIS, "http://10.1.2.3:8080"]
