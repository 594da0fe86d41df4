"""Bulk Data $export (https://hl7.org/fhir/uv/bulkdata/export.html): kick-off, status, files.

Jobs are run with ``run_pending`` (the background worker is off in these settings), except in
the restart test, which lets the worker thread of a freshly started app pick up the job.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.bulk import run_pending
from countyhealth.bulk.worker import run_job, runner_name
from countyhealth.config import Settings
from countyhealth.store import Store
from countyhealth.store.schema import bulk_job
from tests.conftest import make_settings

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    # tiny pages and files, so that every export reads several pages and splits its files
    return make_settings(
        backend, tmp_path, request, bulk_worker=False, bulk_page_size=2, bulk_max_lines_per_file=3
    )


def outcome_code(response: Any) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return str(body["issue"][0]["details"]["coding"][0]["code"])


def local(url: str) -> str:
    """The path of an absolute URL under the configured base (the test client's host differs)."""
    return "/fhir" + url.split("/fhir", 1)[1]


def token(settings: Settings, subject: str, scope: str = "system/*.*") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, subject, scope)}"}


def observation(oid: str, patient: str | None, code: str = "bp") -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
    }
    if patient:
        body["subject"] = {"reference": f"Patient/{patient}"}
    return body


def put(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.put(f"/fhir/{body['resourceType']}/{body['id']}", json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def load(client: TestClient) -> None:
    for pid in ("p1", "p2", "p3"):
        put(client, {"resourceType": "Patient", "id": pid, "gender": "female"})
    for i in range(7):
        put(client, observation(f"o{i}", f"p{1 + i % 3}", "bp" if i % 2 else "hr"))
    put(client, observation("orphan", None))  # in no patient's compartment
    put(client, {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}})
    put(client, {"resourceType": "Organization", "id": "org1", "name": "县医院"})
    put(client, observation("gone", "p1"))
    assert client.delete("/fhir/Observation/gone").status_code == 200
    put(client, {"resourceType": "Patient", "id": "p2", "gender": "male"})  # version 2


def kick_off(client: TestClient, url: str, **kwargs: Any) -> str:
    """Start an export; returns the status path."""
    headers = {**ASYNC, **kwargs.pop("headers", {})}
    r = client.request(kwargs.pop("method", "GET"), url, headers=headers, **kwargs)
    assert r.status_code == 202, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    return local(r.headers["content-location"])


def complete(client: TestClient, store: Store, status: str, **kwargs: Any) -> dict[str, Any]:
    r = client.get(status, **kwargs)
    assert r.status_code == 202
    assert r.headers["retry-after"].isdigit() and r.headers["x-progress"]
    assert run_pending(store) >= 1
    r = client.get(status, **kwargs)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return dict(r.json())


def download(client: TestClient, manifest: dict[str, Any], **kwargs: Any) -> dict[str, list]:
    """Every output file, by type; checks the counts and the one-type-per-file rule."""
    by_type: dict[str, list] = {}
    for item in manifest["output"]:
        r = client.get(local(item["url"]), **kwargs)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/fhir+ndjson")
        lines = r.content.decode().splitlines()
        assert len(lines) == item["count"] > 0
        for line in lines:
            resource = orjson.loads(line)
            assert resource["resourceType"] == item["type"]
            by_type.setdefault(item["type"], []).append(resource)
    return by_type


def ids(by_type: dict[str, list], rtype: str) -> set[str]:
    return {r["id"] for r in by_type.get(rtype, [])}


def stored_ids(client: TestClient, rtype: str) -> set[str]:
    bundle = client.get(f"/fhir/{rtype}?_count=1000").json()
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


def test_system_export_round_trip(client: TestClient, store: Store, settings: Settings) -> None:
    load(client)
    status = kick_off(client, "/fhir/$export")
    manifest = complete(client, store, status)
    assert manifest["request"] == f"{settings.base_url}/$export"
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["transactionTime"].endswith("Z")
    exported = download(client, manifest)
    assert set(exported) == {"Patient", "Observation", "Condition", "Organization"}
    for rtype, resources in exported.items():
        assert ids(exported, rtype) == stored_ids(client, rtype)
        assert len(resources) == len(ids(exported, rtype))  # no resource twice
        for resource in resources:  # the current version, exactly as the server holds it
            assert resource == client.get(f"/fhir/{rtype}/{resource['id']}").json()
    assert "gone" not in ids(exported, "Observation")
    assert next(p for p in exported["Patient"] if p["id"] == "p2")["gender"] == "male"
    # 8 Observations at 3 lines per file: three files, in the manifest with their counts
    files = [o for o in manifest["output"] if o["type"] == "Observation"]
    assert [o["count"] for o in files] == [3, 3, 2]
    # the audit trail is not exported unless asked for
    assert "AuditEvent" not in exported


def test_type_since_and_type_filter(client: TestClient, store: Store) -> None:
    load(client)
    since = put(client, observation("o3", "p1", "hr"))["meta"]["lastUpdated"]
    put(client, observation("late1", "p2", "hr"))
    put(client, observation("late2", "p3", "bp"))
    put(client, {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p3"}})

    status = kick_off(client, "/fhir/$export?_type=Observation,Condition&_outputFormat=ndjson")
    exported = download(client, complete(client, store, status))
    assert set(exported) == {"Observation", "Condition"}

    status = kick_off(client, "/fhir/$export", params={"_type": "Observation", "_since": since})
    exported = download(client, complete(client, store, status))
    assert ids(exported, "Observation") == {"late1", "late2"}  # strictly after _since

    # two searches on one type are ORed (no resource twice); Condition is taken unfiltered
    filters = "Observation?code=bp,Observation?subject=Patient/p3"
    params = {"_type": "Observation,Condition", "_typeFilter": filters}
    status = kick_off(client, "/fhir/$export", params=params)
    exported = download(client, complete(client, store, status))
    bp = {"o1", "o5", "late2", "orphan"}  # o3 is hr now
    of_p3 = {"o2", "o5", "late2"}
    assert ids(exported, "Observation") == bp | of_p3
    assert len(exported["Observation"]) == len(bp | of_p3)
    assert ids(exported, "Condition") == {"c1", "c2"}

    # POST with a Parameters body; without _type the _typeFilter names the types
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "_typeFilter", "valueString": "Observation?code=hr"},
            {"name": "_outputFormat", "valueString": "application/fhir+ndjson"},
        ],
    }
    status = kick_off(client, "/fhir/$export", method="POST", json=body)
    exported = download(client, complete(client, store, status))
    assert set(exported) == {"Observation"}
    assert ids(exported, "Observation") == {"o0", "o2", "o3", "o4", "o6", "late1"}


def test_patient_and_group_level(client: TestClient, store: Store) -> None:
    load(client)
    status = kick_off(client, "/fhir/Patient/$export")
    exported = download(client, complete(client, store, status))
    assert "Organization" not in exported  # not in the Patient compartment
    assert ids(exported, "Patient") == {"p1", "p2", "p3"}
    assert ids(exported, "Observation") == {f"o{i}" for i in range(7)}  # not the orphan

    group = {
        "resourceType": "Group",
        "id": "screening",
        "type": "person",
        "actual": True,
        "member": [
            {"entity": {"reference": "Patient/p1"}},
            {"entity": {"reference": "Patient/p2"}},
            {"entity": {"reference": "Patient/p3"}, "inactive": True},
        ],
    }
    put(client, group)
    status = kick_off(
        client, "/fhir/Group/screening/$export", params={"_type": "Patient,Observation"}
    )
    manifest = complete(client, store, status)
    assert manifest["request"].endswith("/Group/screening/$export?_type=Patient%2CObservation")
    exported = download(client, manifest)
    assert ids(exported, "Patient") == {"p1", "p2"}
    assert ids(exported, "Observation") == {"o0", "o1", "o3", "o4", "o6"}

    # POST patient= narrows a Group export to some members
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "valueReference": {"reference": "Patient/p2"}},
            {"name": "_type", "valueString": "Observation"},
        ],
    }
    status = kick_off(client, "/fhir/Group/screening/$export", method="POST", json=body)
    exported = download(client, complete(client, store, status))
    assert ids(exported, "Observation") == {"o1", "o4"}
    body["parameter"][0] = {"name": "patient", "valueReference": {"reference": "Patient/p3"}}
    r = client.post("/fhir/Group/screening/$export", json=body, headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-1006"  # not an active member

    r = client.get("/fhir/Group/nobody/$export", headers=ASYNC)
    assert r.status_code == 404 and outcome_code(r) == "CH-2001"
    r = client.get("/fhir/Patient/$export?_type=Organization", headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-1006"
    r = client.get("/fhir/Observation/$export", headers=ASYNC)
    assert r.status_code == 404 and outcome_code(r) == "CH-2014"


def test_kick_off_errors(client: TestClient, store: Store) -> None:
    r = client.get("/fhir/$export")
    assert r.status_code == 400 and outcome_code(r) == "CH-8002"
    r = client.get("/fhir/$export?_outputFormat=text/csv", headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-8003"
    r = client.get("/fhir/$export?_type=Patient,Nonsense", headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-2004"
    r = client.get("/fhir/$export?_since=yesterday", headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-1006"
    r = client.get("/fhir/$export?_typeFilter=Observation%3Fnope%3D1", headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-6001"
    r = client.get("/fhir/$export?_typeFilter=Observation%3F_sort%3Ddate", headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-8004"
    r = client.get("/fhir/$export?_type=Patient&_typeFilter=Observation%3Fcode%3Dbp", headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-8004"
    r = client.get("/fhir/$export?_elements=id", headers=ASYNC)
    assert r.status_code == 400 and outcome_code(r) == "CH-8007"
    r = client.post("/fhir/$export", json={"resourceType": "Patient"}, headers=ASYNC)
    assert r.status_code == 400
    assert store.jobs.count("accepted") == 0  # nothing was queued by a refused request

    # lenient handling: the parameter is ignored and reported in the error file
    put(client, {"resourceType": "Patient", "id": "p1"})
    status = kick_off(
        client,
        "/fhir/$export?_type=Patient&_elements=id",
        headers={"Prefer": "respond-async, handling=lenient"},
    )
    manifest = complete(client, store, status)
    [item] = manifest["error"]
    assert item["type"] == "OperationOutcome" and item["count"] == 1
    outcome = orjson.loads(client.get(local(item["url"])).content)
    assert outcome["issue"][0]["severity"] == "warning"
    assert "_elements" in outcome["issue"][0]["diagnostics"]


def test_only_the_owner_sees_a_job(client: TestClient, store: Store, settings: Settings) -> None:
    load(client)
    status = kick_off(client, "/fhir/$export?_type=Patient")
    manifest = complete(client, store, status)
    file_url = local(manifest["output"][0]["url"])
    job_id = status.rsplit("/", 1)[1]

    other = token(settings, "another-client")
    for method, url in (("GET", status), ("DELETE", status), ("GET", file_url)):
        r = client.request(method, url, headers=other)
        assert r.status_code == 404, (method, url)
        assert outcome_code(r) in ("CH-8001", "CH-8006")
    no_token = {"Authorization": ""}
    for method, url in (("GET", status), ("DELETE", status), ("GET", file_url)):
        r = client.request(method, url, headers=no_token)
        assert r.status_code == 401 and outcome_code(r) == "CH-4001"
    r = client.get("/fhir/$export", headers={**ASYNC, **no_token})
    assert r.status_code == 401
    assert client.get(f"/fhir/bulkstatus/{'0' * 32}").status_code == 404
    assert client.get(f"{status}x").status_code == 404
    r = client.get(f"/fhir/bulkfiles/{job_id}/Patient.9.ndjson")
    assert r.status_code == 404 and outcome_code(r) == "CH-8006"
    assert client.get(f"/fhir/bulkfiles/{job_id}/settings.json").status_code == 404

    # the owner deletes the job: later requests answer 404 and the files are gone
    folder = Path(settings.bulk_dir) / job_id
    assert any(folder.iterdir())
    r = client.delete(status)
    assert r.status_code == 202
    assert client.get(status).status_code == 404
    assert client.get(file_url).status_code == 404
    assert client.delete(status).status_code == 404
    assert not folder.exists()


def test_the_job_runs_with_the_callers_scopes(
    client: TestClient, store: Store, settings: Settings
) -> None:
    load(client)
    patients_only = token(settings, "registry", "system/Patient.rs")
    status = kick_off(client, "/fhir/$export", headers=patients_only)
    exported = download(
        client, complete(client, store, status, headers=patients_only), headers=patients_only
    )
    assert set(exported) == {"Patient"}
    r = client.get("/fhir/$export?_type=Observation", headers={**ASYNC, **patients_only})
    assert r.status_code == 403 and outcome_code(r) == "CH-4003"
    # the job's reads are audited as the caller who started it
    store.audit.flush()
    audit = client.get("/fhir/AuditEvent?_count=1000").json()
    agents = {
        a["who"]["identifier"]["value"]
        for e in audit["entry"]
        for a in e["resource"]["agent"]
        if e["resource"]["subtype"][0]["code"] == "operation"
    }
    assert agents == {"registry"}


def test_cancelling_a_running_job_removes_its_files(
    client: TestClient, store: Store, settings: Settings
) -> None:
    load(client)
    status = kick_off(client, "/fhir/$export")
    job_id = status.rsplit("/", 1)[1]
    runner = runner_name()
    job = store.jobs.claim_next(runner, ["export"])
    assert job is not None and job.status == "in-progress"
    assert client.get(status).headers["x-progress"] == "started"
    assert client.delete(status).status_code == 202
    run_job(store, job, runner, threading.Event())  # notices the cancellation at the end
    assert not (Path(settings.bulk_dir) / job_id).exists()
    assert client.get(status).status_code == 404
    assert store.jobs.count("completed") == 0


def test_a_job_interrupted_by_a_crash_runs_again_after_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = make_settings(backend, tmp_path, request, bulk_worker=False)
    first = Store.open(settings)
    with TestClient(create_app(settings, first)) as client:
        client.headers.update(token(settings, "test-client"))
        load(client)
        status = kick_off(client, "/fhir/$export?_type=Patient,Observation")
        # a worker takes the job, then its process dies: the job stays in-progress
        job = first.jobs.claim_next("crashed-host:1:dead", ["export"])
        assert job is not None
        assert client.get(status).status_code == 202
        with first.engines.write.begin() as conn:  # its last heartbeat is long gone
            stale = job.updated_us - 10 * 60 * 1_000_000
            conn.execute(update(bulk_job).values(updated_us=stale))

    restarted = settings.model_copy(update={"bulk_worker": True, "bulk_poll_seconds": 0.05})
    with TestClient(create_app(restarted, Store.open(restarted))) as client:
        client.headers.update(token(settings, "test-client"))
        deadline = time.monotonic() + 30
        r = client.get(status)
        while r.status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.05)
            r = client.get(status)
        assert r.status_code == 200, r.text
        exported = download(client, r.json())
        assert ids(exported, "Patient") == {"p1", "p2", "p3"}
        assert ids(exported, "Observation") == stored_ids(client, "Observation")
        job_now = client.app.state.store.jobs.get(job.id)  # type: ignore[attr-defined]
        assert job_now.attempts == 2 and job_now.status == "completed"


def test_a_job_interrupted_again_and_again_fails(client: TestClient, store: Store) -> None:
    status = kick_off(client, "/fhir/$export?_type=Patient")
    for attempt in (1, 2, 3):
        job = store.jobs.claim_next(f"host:{attempt}:dead", ["export"])
        assert job is not None and job.attempts == attempt
        requeued = store.jobs.requeue_stale(store.clock.now_us() + 1)  # every heartbeat is old
        assert requeued == ([job.id] if attempt < 3 else [])
    r = client.get(status)
    assert r.status_code == 500 and outcome_code(r) == "CH-8005"
    assert "interrupted 3 times" in r.json()["issue"][0]["diagnostics"]
    assert run_pending(store) == 0


def test_capability_statement_lists_export(client: TestClient) -> None:
    cs = client.get("/fhir/metadata").json()
    rest = cs["rest"][0]
    base = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition"
    assert {"name": "export", "definition": f"{base}/export"} in rest["operation"]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {"name": "export", "definition": f"{base}/patient-export"} in by_type["Patient"][
        "operation"
    ]
    assert {"name": "export", "definition": f"{base}/group-export"} in by_type["Group"]["operation"]
    assert not any(op["name"] == "export" for op in by_type["Observation"].get("operation", []))
