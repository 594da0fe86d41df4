"""The resident's routes (/api/me) end to end: a resident signed in by phone code grants a
doctor of another organisation access, the doctor reads, the resident sees each read in "who
read my record", revokes, and the doctor is refused again. And the bureau's break-glass report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.config import Settings
from countyhealth.security.roles import roles
from countyhealth.store import Repository, Store
from tests.conftest import make_settings
from tests.support.accounts import FAST_PASSWORDS, csrf_of, id_number, put_patient

PHONE = "13812345678"
OBS = "obs-mother"


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request, bulk_worker=False, **FAST_PASSWORDS)


@pytest.fixture
def app(settings: Settings, store: Store, repo: Repository) -> FastAPI:
    put_patient(repo, "mother", phone=PHONE, number=id_number(date(1990, 5, 1), 12))
    put_patient(repo, "stranger", name="赵六")
    repo.update(
        "Observation",
        OBS,
        {
            "resourceType": "Observation",
            "id": OBS,
            "meta": {
                "tag": [
                    {
                        "system": "https://countyhealth.example.org/fhir/CodeSystem/custodian",
                        "code": "org-township",
                    }
                ]
            },
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "subject": {"reference": "Patient/mother"},
            "valueQuantity": {"value": 150, "unit": "mmHg"},
        },
    )
    return create_app(settings, store)


def staff_token(settings: Settings, role: str, user: str, org: str) -> dict[str, str]:
    spec = roles()[role]
    token = issue_token(
        settings,
        user,
        spec.scopes,
        kind="user",
        extra={"roles": [role], "org": f"Organization/{org}", "display": user},
    )
    return {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}


@pytest.fixture
def resident(app: FastAPI) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A browser signed in as the resident by phone and code; and its CSRF header."""
    with TestClient(app, raise_server_exceptions=False) as web:
        token = csrf_of(web.get("/auth/login").text)
        page = web.post("/auth/otp", data={"phone": PHONE, "csrf_token": token})
        code = re.search(r"<code>(\d{6})</code>", page.text)
        assert code, page.text
        signed = web.post(
            "/auth/otp/verify",
            data={"phone": PHONE, "code": code.group(1), "csrf_token": token},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        yield web, {"X-CSRF-Token": web.get("/auth/me").json()["csrf_token"]}


def code_of(response: Any) -> str:
    return str(response.json()["issue"][0]["details"]["coding"][0]["code"])


def test_grant_read_see_revoke(
    app: FastAPI, settings: Settings, resident: tuple[TestClient, dict[str, str]]
) -> None:
    web, csrf = resident
    doctor = staff_token(settings, "county-clinician", "dr.zhou", "org-county")
    fhir = TestClient(app, raise_server_exceptions=False)

    assert web.get("/api/me/consents").json() == []
    assert fhir.get(f"/fhir/Observation/{OBS}", headers=doctor).status_code == 403

    grant = {"patient": "mother", "grantee": "Organization/org-county", "category": "results"}
    refused = web.post("/api/me/consents", json=grant)  # the cookie alone is not enough
    assert refused.status_code == 403 and code_of(refused) == "CH-4008"
    created = web.post("/api/me/consents", json=grant, headers=csrf)
    assert created.status_code == 201, created.text
    consent = created.json()
    assert consent["status"] == "active"
    assert consent["grantees"] == ["Organization/org-county"]
    assert "Observation" in consent["types"]
    assert [c["id"] for c in web.get("/api/me/consents").json()] == [consent["id"]]

    for _ in range(3):
        assert fhir.get(f"/fhir/Observation/{OBS}", headers=doctor).status_code == 200
    store: Store = app.state.store
    store.audit.flush()
    log = web.get("/api/me/access-log").json()
    doctor_lines = [line for line in log if line["who"] == "dr.zhou"]
    # every read is one line, and the refusal before the grant is there too
    reads = [line for line in doctor_lines if line["interaction"] == "read"]
    assert len(reads) == 4
    assert sorted(line["outcome"] for line in reads) == ["failure", "success", "success", "success"]
    assert all(line["organization"] == "Organization/org-county" for line in reads)
    assert all(line["what"].startswith(f"Observation/{OBS}") for line in reads)

    revoked = web.post(f"/api/me/consents/{consent['id']}/revoke", headers=csrf)
    assert revoked.status_code == 200 and revoked.json()["status"] == "inactive"
    again = fhir.get(f"/fhir/Observation/{OBS}", headers=doctor)
    assert again.status_code == 403 and code_of(again) == "CH-4004"
    twice = web.post(f"/api/me/consents/{consent['id']}/revoke", headers=csrf)
    assert twice.status_code == 400 and code_of(twice) == "CH-4012"


def test_a_resident_acts_only_for_their_own_record(
    app: FastAPI, settings: Settings, resident: tuple[TestClient, dict[str, str]]
) -> None:
    web, csrf = resident
    other = {"patient": "stranger", "grantee": "Organization/org-county"}
    r = web.post("/api/me/consents", json=other, headers=csrf)
    assert r.status_code == 403 and code_of(r) == "CH-4003"
    assert web.get("/api/me/access-log", params={"patient": "stranger"}).status_code == 403
    bad = web.post(
        "/api/me/consents",
        json={"patient": "mother", "grantee": "Organization/org-county", "category": "nope"},
        headers=csrf,
    )
    assert 400 <= bad.status_code < 500 and bad.json()["resourceType"] == "OperationOutcome"
    doctor = staff_token(settings, "county-clinician", "dr.zhou", "org-county")
    with TestClient(app, raise_server_exceptions=False) as fhir:
        staff = fhir.get("/api/me/consents", headers=doctor)
        assert staff.status_code == 403 and code_of(staff) == "CH-4013"
        anonymous = fhir.get("/api/me/access-log")
        assert anonymous.status_code == 401


def test_the_bureau_lists_break_glass_openings(app: FastAPI, settings: Settings) -> None:
    doctor = staff_token(settings, "county-clinician", "dr.zhou", "org-county")
    bureau = staff_token(settings, "bureau-admin", "admin.wu", "org-bureau")
    with TestClient(app, raise_server_exceptions=False) as c:
        opened = c.post(
            "/fhir/Patient/mother/$break-glass",
            headers={**doctor, "Content-Type": "application/fhir+json"},
            content=orjson.dumps(
                {
                    "resourceType": "Parameters",
                    "parameter": [{"name": "reason", "valueString": "unconscious on arrival"}],
                }
            ),
        )
        assert opened.status_code == 200, opened.text
        assert c.get(f"/fhir/Observation/{OBS}", headers=doctor).status_code == 200
        report = c.get("/api/reports/break-glass", headers=bureau)
        assert report.status_code == 200, report.text
        rows = report.json()
        assert len(rows) == 1 and rows[0]["reason"] == "unconscious on arrival"
        denied = c.get("/api/reports/break-glass", headers=doctor)
        assert denied.status_code == 403 and code_of(denied) == "CH-4013"
        bad = c.get("/api/reports/break-glass", headers=bureau, params={"since": "yesterday"})
        assert bad.status_code == 400 and code_of(bad) == "CH-1006"
