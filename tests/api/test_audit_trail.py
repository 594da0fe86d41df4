"""The audit trail through the REST API: every read of patient data is exactly one
AuditEvent, and the bureau (and only roles with AuditEvent scopes) can search the trail."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.consent import consent_resource
from countyhealth.security.roles import roles
from countyhealth.store import Repository, Store

N = 6


def bearer(settings: Settings, role: str, user: str, org: str | None) -> dict[str, str]:
    extra: dict[str, Any] = {"roles": [role], "display": user}
    if org:
        extra["org"] = f"Organization/{org}"
    token = issue_token(settings, user, roles()[role].scopes, kind="user", extra=extra)
    return {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}


def seed(repo: Repository) -> None:
    for i in range(N):
        pid = f"p{i}"
        repo.update("Patient", pid, {"resourceType": "Patient", "id": pid, "gender": "female"})
        repo.update(
            "Observation",
            f"o{i}",
            {
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "subject": {"reference": f"Patient/{pid}"},
                "valueQuantity": {"value": 120 + i, "unit": "mmHg"},
            },
        )


def events_by(client: TestClient, headers: dict[str, str], user: str) -> list[dict[str, Any]]:
    bundle = client.get(
        "/fhir/AuditEvent", params={"agent-name": user, "_count": "500"}, headers=headers
    ).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def test_every_read_is_exactly_one_audit_event(
    client: TestClient, settings: Settings, store: Store, repo: Repository
) -> None:
    seed(repo)
    reader = bearer(settings, "public-health-officer", "cdc.li", "org-cdc")
    bureau = bearer(settings, "bureau-admin", "admin.wu", "org-bureau")
    reads = [f"/fhir/Patient/p{i}" for i in range(N)] + [
        f"/fhir/Observation/o{i}" for i in range(N)
    ]
    reads += ["/fhir/Observation/o0/_history/1", "/fhir/Observation?subject=Patient/p1"]
    reads += ["/fhir/Patient/p2/_history"]
    for url in reads:
        r = client.get(url, headers=reader)
        assert r.status_code == 200, (url, r.text)
    store.audit.flush()
    events = [e for e in events_by(client, bureau, "cdc.li")]
    assert len(events) == len(reads)
    subtypes = sorted(e["subtype"][0]["code"] for e in events)
    assert subtypes == sorted(["read"] * (2 * N) + ["vread", "search-type", "history-instance"])
    assert all(e["agent"][0]["who"]["reference"] == "Organization/org-cdc" for e in events)
    assert all(e["source"]["site"] for e in events)  # the channel
    vreads = client.get(
        "/fhir/AuditEvent",
        params={"agent-name": "cdc.li", "subtype": "vread", "date": "ge2000-01-01"},
        headers=bureau,
    ).json()
    assert [e["resource"]["entity"][-1]["what"]["reference"] for e in vreads["entry"]] == [
        "Observation/o0/_history/1"
    ]
    # and the bureau's own searches of the trail did not add events about patients
    store.audit.flush()
    assert len(events_by(client, bureau, "cdc.li")) == len(reads)


def test_only_roles_with_audit_scopes_search_the_trail(
    client: TestClient, settings: Settings, repo: Repository
) -> None:
    seed(repo)
    doctor = bearer(settings, "county-clinician", "dr.zhou", "org-county")
    # county clinicians may search every type, but never see the trail, even of a patient
    # who consented to them reading the rest of the record
    repo.create(consent_resource("p1", "Organization/org-county"))
    assert client.get("/fhir/Observation/o1", headers=doctor).status_code == 200
    r = client.get("/fhir/AuditEvent", params={"patient": "Patient/p1"}, headers=doctor)
    assert r.status_code == 200, r.text
    found = [e for e in r.json().get("entry", []) if e["search"]["mode"] == "match"]
    assert found == []
    cashier = bearer(settings, "cashier", "cashier.he", "org-county")
    assert client.get("/fhir/AuditEvent", headers=cashier).status_code == 403
    bureau = bearer(settings, "bureau-admin", "admin.wu", "org-bureau")
    events = client.get("/fhir/AuditEvent", headers=bureau)
    assert events.status_code == 200
    first = events.json()["entry"][0]["resource"]["id"]
    for method in ("PUT", "DELETE"):
        refused = client.request(
            method,
            f"/fhir/AuditEvent/{first}",
            headers={**bureau, "Content-Type": "application/fhir+json"},
            json={"resourceType": "AuditEvent", "id": first} if method == "PUT" else None,
        )
        assert refused.status_code in (403, 405), refused.text
