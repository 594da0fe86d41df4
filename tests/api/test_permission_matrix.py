"""The permission matrix, generated over the real app: role × interaction × data owner.

Every platform role (countyhealth/security/data/roles.json) gets a token as the security layer
issues it. For each role the data set holds an Observation in five situations: recorded by the
caller's own organisation (for a resident: in the resident's own record), recorded elsewhere
with an active Consent for the caller, elsewhere without consent, elsewhere after the caller
opened the record by break-glass (refused to roles without the privilege), and elsewhere with
a Consent that was revoked. Each (role, interaction, situation) is one test case, and the
expected answer comes from the role's scopes and access mode — not from the code under test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.bulk import run_pending
from countyhealth.consent import consent_resource
from countyhealth.security.roles import roles
from countyhealth.store import Scopes, Store, system_caller
from tests.conftest import make_settings

OWNERS = ("own", "consent", "none", "break-glass", "revoked")
INTERACTIONS = ("read", "search", "history", "include", "everything", "export", "bundle", "write")
OTHER_ORG = "org-x"


@dataclass(frozen=True)
class Subject:
    role: str
    user: str
    organization: str | None
    patients: tuple[str, ...]

    @property
    def code(self) -> str:
        return self.role

    def patient(self, owner: str) -> str:
        if self.role == "resident" and owner == "own":
            return self.patients[0]
        return f"p-{self.role}-{owner}"


def subjects() -> list[Subject]:
    out = []
    for code, spec in roles().items():
        org = None if spec.access == "all" else f"org-{code}"
        patients = (f"p-{code}-self",) if spec.access == "compartment" else ()
        if spec.access == "compartment":
            org = None
        out.append(Subject(code, f"user-{code}", org, patients))
    return out


SUBJECTS = {s.role: s for s in subjects()}


def token_for(settings: Any, s: Subject) -> str:
    role = roles()[s.role]
    claims: dict[str, Any] = {
        "roles": [s.role],
        "access": role.access,
        "privileges": list(role.privileges),
        "patients": list(s.patients),
    }
    if s.organization:
        claims["org"] = f"Organization/{s.organization}"
        claims["actors"] = [f"PractitionerRole/pr-{s.role}"]
    return issue_token(settings, s.user, role.scopes, kind=role.kind, extra=claims)


def observation(pid: str, org: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"obs-{pid}",
        "meta": {
            "tag": [
                {
                    "system": "https://countyhealth.example.org/fhir/CodeSystem/custodian",
                    "code": org,
                }
            ]
        },
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "valueQuantity": {"value": 130, "unit": "mmHg"},
    }


@dataclass
class World:
    client: TestClient
    store: Store
    tokens: dict[str, str]
    glass: dict[str, int]
    exports: dict[str, set[str] | int]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", "Accept": "application/fhir+json"}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("matrix")
    settings = make_settings("sqlite", tmp, request, bulk_worker=False)
    store = Store.open(settings)
    repo = store.repository(system_caller("matrix"))
    for s in SUBJECTS.values():
        for owner in OWNERS:
            pid = s.patient(owner)
            repo.update("Patient", pid, {"resourceType": "Patient", "id": pid, "gender": "male"})
            recorder = s.organization if owner == "own" and s.organization else OTHER_ORG
            body = observation(pid, recorder)
            repo.update("Observation", body["id"], body)
            grantee = f"Organization/{s.organization or 'nobody'}"
            if owner in ("consent", "revoked"):
                consent = repo.create(consent_resource(pid, grantee))
                if owner == "revoked":
                    revoked = {**consent.resource, "status": "inactive"}
                    repo.update("Consent", consent.id, revoked)
    app = create_app(settings, store)
    with TestClient(app, raise_server_exceptions=False) as client:
        tokens = {s.role: token_for(settings, s) for s in SUBJECTS.values()}
        w = World(client, store, tokens, {}, {})
        for s in SUBJECTS.values():
            r = client.post(
                f"/fhir/Patient/{s.patient('break-glass')}/$break-glass",
                headers={**w.headers(s.role), "Content-Type": "application/fhir+json"},
                content=orjson.dumps(
                    {
                        "resourceType": "Parameters",
                        "parameter": [
                            {"name": "reason", "valueString": "patient collapsed in clinic"}
                        ],
                    }
                ),
            )
            w.glass[s.role] = r.status_code
        yield w
    store.close()


def expected(role: str, interaction: str, owner: str) -> bool:
    spec = roles()[role]
    scopes = Scopes.parse(spec.scopes)
    rows = {
        "all": True,
        "none": False,
        "compartment": owner == "own",
        "consent": owner in ("own", "consent")
        or (owner == "break-glass" and "break-glass" in spec.privileges),
    }[spec.access]
    needs = {
        "read": scopes.allows("Observation", "read"),
        "history": scopes.allows("Observation", "history-instance"),
        "bundle": scopes.allows("Observation", "read"),
        "search": scopes.allows("Observation", "search-type"),
        "export": scopes.allows("Observation", "search-type"),
        "include": scopes.allows("Patient", "search-type") and scopes.allows("Observation", "read"),
        "everything": scopes.allows("Patient", "read")
        and scopes.allows("Observation", "search-type"),
        "write": scopes.allows("Observation", "update"),
    }[interaction]
    return needs and rows


def outcome(world: World, role: str, interaction: str, owner: str) -> bool:
    """Did the caller get the Observation of ``owner``'s patient?"""
    s = SUBJECTS[role]
    pid = s.patient(owner)
    oid = f"obs-{pid}"
    c, h = world.client, world.headers(role)
    if interaction == "read":
        r = c.get(f"/fhir/Observation/{oid}", headers=h)
        assert r.status_code in (200, 403, 404), r.text
        return r.status_code == 200
    if interaction == "history":
        r = c.get(f"/fhir/Observation/{oid}/_history", headers=h)
        assert r.status_code in (200, 403, 404), r.text
        return r.status_code == 200 and _ids(r.json()) == {oid}
    if interaction == "search":
        r = c.get(f"/fhir/Observation?subject=Patient/{pid}", headers=h)
        assert r.status_code in (200, 403), r.text
        return r.status_code == 200 and oid in _ids(r.json())
    if interaction == "include":
        r = c.get(f"/fhir/Patient?_id={pid}&_revinclude=Observation:subject", headers=h)
        assert r.status_code in (200, 403), r.text
        return r.status_code == 200 and oid in _ids(r.json())
    if interaction == "everything":
        r = c.get(f"/fhir/Patient/{pid}/$everything", headers=h)
        assert r.status_code in (200, 403, 404), r.text
        return r.status_code == 200 and oid in _ids(r.json())
    if interaction == "bundle":
        batch = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": f"Observation/{oid}"}}],
        }
        r = c.post(
            "/fhir",
            headers={**h, "Content-Type": "application/fhir+json"},
            content=orjson.dumps(batch),
        )
        assert r.status_code == 200, r.text
        status = r.json()["entry"][0]["response"]["status"]
        return status.startswith("200")
    if interaction == "export":
        found = world.exports.get(role)
        if found is None:
            found = world.exports[role] = _export(world, role)
        return isinstance(found, set) and oid in found
    if interaction == "write":
        current = world.store.repository(system_caller()).read("Observation", oid).resource
        body = {**current, "status": "amended"}
        body.pop("meta")
        r = c.put(
            f"/fhir/Observation/{oid}",
            headers={**h, "Content-Type": "application/fhir+json"},
            content=orjson.dumps(body),
        )
        assert r.status_code in (200, 403, 404), r.text
        return r.status_code == 200
    raise AssertionError(interaction)


def _export(world: World, role: str) -> set[str] | int:
    h = world.headers(role)
    r = world.client.get(
        "/fhir/$export?_type=Observation", headers={**h, "Prefer": "respond-async"}
    )
    if r.status_code != 202:
        return r.status_code
    status = r.headers["content-location"].split("/fhir", 1)[1]
    run_pending(world.store)
    r = world.client.get(f"/fhir{status}", headers=h)
    assert r.status_code == 200, r.text
    found: set[str] = set()
    for item in r.json()["output"]:
        data = world.client.get("/fhir" + item["url"].split("/fhir", 1)[1], headers=h)
        found |= {orjson.loads(line)["id"] for line in data.content.splitlines()}
    return found


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if e.get("resource", {}).get("resourceType") == "Observation"
    }


CASES = list(itertools.product(sorted(SUBJECTS), INTERACTIONS, OWNERS))


def test_the_matrix_has_at_least_200_cases() -> None:
    assert len(CASES) >= 200


@pytest.mark.parametrize(("role", "interaction", "owner"), CASES)
def test_permission(world: World, role: str, interaction: str, owner: str) -> None:
    assert outcome(world, role, interaction, owner) is expected(role, interaction, owner)


def test_break_glass_is_refused_without_the_privilege(world: World) -> None:
    for role, status in world.glass.items():
        allowed = "break-glass" in roles()[role].privileges
        assert (status == 200) is allowed, (role, status)
