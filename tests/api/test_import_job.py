"""$import (asynchronous NDJSON import) and the $export → $import round trip.

Jobs run with ``run_pending`` (the background worker is off in these settings). The round trip
seeds a synthetic county, exports it, imports the files into an empty database and compares
what both databases hold, per type: the number of resources and a hash of their content
without ``meta``.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.bulk import run_pending
from countyhealth.config import Settings
from countyhealth.store import HistoryQuery, Repository, Store, system_caller
from countyhealth.synthetic import SeedOptions, content_hash, seed_county
from tests.conftest import make_settings

NDJSON = {"Prefer": "respond-async", "Content-Type": "application/fhir+ndjson"}


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(
        backend,
        tmp_path,
        request,
        bulk_worker=False,
        bulk_import_workers=0,
        bulk_import_chunk_size=2,
        bulk_page_size=50,
    )


def local(url: str) -> str:
    return "/fhir" + url.split("/fhir", 1)[1]


def ndjson(resources: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in resources)


def outcome_code(response: Any) -> str:
    return str(response.json()["issue"][0]["details"]["coding"][0]["code"])


def start_import(client: TestClient, body: bytes, **headers: str) -> str:
    r = client.post("/fhir/$import", content=body, headers={**NDJSON, **headers})
    assert r.status_code == 202, r.text
    return local(r.headers["content-location"])


def finish(client: TestClient, store: Store, status: str) -> dict[str, Any]:
    assert client.get(status).status_code == 202
    assert run_pending(store) == 1
    r = client.get(status)
    assert r.status_code == 200, r.text
    return dict(r.json())


def patient(pid: str, family: str = "王") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family}]}


def test_import_stores_indexes_and_reports_rejects(client: TestClient, store: Store) -> None:
    body = (
        ndjson(
            [
                patient("im1"),
                {"resourceType": "Observation", "id": "imo1", "status": "final"},  # code missing
                {
                    "resourceType": "Observation",
                    "id": "imo2",
                    "status": "final",
                    "code": {"text": "血压"},
                    "subject": {"reference": "Patient/im1"},
                },
            ]
        )
        + b"{not json\n"
    )
    manifest = finish(client, store, start_import(client, body))
    assert manifest["extension"] == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "bundles": 0,
    }
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"] == f"{store.settings.base_url.rstrip('/')}/$import"
    [error_file] = manifest["error"]
    lines = client.get(local(error_file["url"])).text.splitlines()
    assert error_file["count"] == len(lines) == 2
    rejects = [orjson.loads(line) for line in lines]
    where = [r["issue"][0]["location"][0] for r in rejects]
    assert where == ["input/upload.ndjson:2", "input/upload.ndjson:4"]
    assert "/tmp" not in lines[0] and str(store.settings.bulk_dir) not in lines[0]
    # stored and indexed: a search by the reference finds the observation
    found = client.get("/fhir/Observation?subject=Patient/im1").json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["imo2"]
    summary = client.get(local(manifest["output"][0]["url"])).json()
    assert summary["issue"][0]["diagnostics"].startswith("2 created")


def test_import_takes_gzip_and_repeats_are_unchanged(client: TestClient, store: Store) -> None:
    body = gzip.compress(ndjson([patient("gz1"), patient("gz2")]))
    first = finish(client, store, start_import(client, body, **{"Content-Encoding": "gzip"}))
    assert first["extension"]["created"] == 2
    again = finish(client, store, start_import(client, ndjson([patient("gz1", "李")])))
    assert again["extension"]["updated"] == 1
    assert client.get("/fhir/Patient/gz1").json()["meta"]["versionId"] == "2"


def test_import_kick_off_errors(client: TestClient, store: Store, settings: Settings) -> None:
    body = ndjson([patient("e1")])
    r = client.post("/fhir/$import", content=body, headers={"Content-Type": NDJSON["Content-Type"]})
    assert (r.status_code, outcome_code(r)) == (400, "CH-8002")
    r = client.post("/fhir/$import", content=body, headers={**NDJSON, "Content-Type": "text/csv"})
    assert (r.status_code, outcome_code(r)) == (415, "CH-1003")
    r = client.post("/fhir/$import", content=b"", headers=NDJSON)
    assert (r.status_code, outcome_code(r)) == (400, "CH-1006")
    reader = {"Authorization": f"Bearer {issue_token(settings, 'reader', 'system/*.rs')}"}
    r = client.post("/fhir/$import", content=body, headers={**NDJSON, **reader})
    assert (r.status_code, outcome_code(r)) == (403, "CH-4003")
    r = client.post("/fhir/$import", content=body, headers={**NDJSON, "Authorization": ""})
    assert r.status_code == 401
    # nothing was queued and no upload was left behind
    assert run_pending(store) == 0
    bulk = Path(settings.bulk_dir)
    assert not bulk.exists() or list(bulk.iterdir()) == []


def test_import_body_over_the_limit_is_refused_and_discarded(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = make_settings(
        backend, tmp_path, request, bulk_worker=False, bulk_import_max_bytes=100
    )
    store = Store.open(settings)
    try:
        with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
            client.headers["Authorization"] = f"Bearer {issue_token(settings, 'c', 'system/*.*')}"
            body = ndjson([patient(f"big{i}") for i in range(10)])
            r = client.post("/fhir/$import", content=body, headers=NDJSON)
            assert (r.status_code, outcome_code(r)) == (413, "CH-1004")
        assert run_pending(store) == 0
        assert list(Path(settings.bulk_dir).iterdir()) == []
    finally:
        store.close()


def test_an_import_job_is_only_its_owners(
    client: TestClient, store: Store, settings: Settings
) -> None:
    status = start_import(client, ndjson([patient("own1")]))
    other = {"Authorization": f"Bearer {issue_token(settings, 'someone-else', 'system/*.*')}"}
    assert client.get(status, headers=other).status_code == 404
    manifest = finish(client, store, status)
    assert client.get(local(manifest["output"][0]["url"]), headers=other).status_code == 404


def test_an_interrupted_import_job_resumes_after_its_last_chunk(
    client: TestClient, store: Store
) -> None:
    """The worker stops (its server shuts down) after the first chunk: the job is queued again
    and the next run starts after what was committed."""
    from countyhealth.bulk import worker

    status = start_import(client, ndjson([patient(f"r{i}") for i in range(5)]))
    original = worker.JobControl.progress
    calls = {"n": 0}

    def stop_after_first_chunk(self: worker.JobControl, text: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # "started", then the first committed chunk
            self._stopping.set()
        original(self, text)

    worker.JobControl.progress = stop_after_first_chunk  # type: ignore[method-assign]
    try:
        runner = worker.runner_name()
        job = store.jobs.claim_next(runner, worker.RUNNERS)
        assert job is not None
        stopping = threading.Event()
        worker.run_job(store, job, runner, stopping)
    finally:
        worker.JobControl.progress = original  # type: ignore[method-assign]
    assert client.get("/fhir/Patient?_summary=count").json()["total"] == 2
    assert client.get(status).status_code == 202  # queued again
    manifest = finish(client, store, status)
    assert manifest["extension"]["created"] == 5
    assert client.get("/fhir/Patient?_summary=count").json()["total"] == 5


def _current(repo: Repository, types: list[str]) -> list[dict[str, Any]]:
    out = []
    for rtype in types:
        page = repo.history(HistoryQuery(type=rtype, count=1_000_000))
        latest: dict[str, Any] = {}
        for s in page.entries:
            if s.content is not None and s.id not in latest:  # newest first
                latest[s.id] = orjson.loads(s.content)
        out.extend(latest.values())
    return out


def test_export_then_import_into_an_empty_database_reproduces_the_county(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    def open_app(name: str) -> tuple[Settings, Store]:
        folder = tmp_path / name
        folder.mkdir()
        settings = make_settings(backend, folder, request, bulk_worker=False, bulk_import_workers=0)
        return settings, Store.open(settings)

    source_settings, source = open_app("source")
    target_settings, target = open_app("target")
    try:
        residents = 25 if backend == "postgres" else 60
        report = seed_county(
            source.repository(system_caller("tests")),
            SeedOptions(residents=residents, seed=3, years=1),
            parallel=False,
        )
        with (
            TestClient(create_app(source_settings, source)) as a,
            TestClient(create_app(target_settings, target)) as b,
        ):
            # exports mask identity and phone numbers unless the caller may see them in full
            full = {"privileges": ["full-identifiers"]}
            a.headers["Authorization"] = (
                f"Bearer {issue_token(source_settings, 'p', 'system/*.*', extra=full)}"
            )
            b.headers["Authorization"] = f"Bearer {issue_token(target_settings, 'p', 'system/*.*')}"
            r = a.get("/fhir/$export", headers={"Prefer": "respond-async"})
            assert r.status_code == 202, r.text
            manifest = finish(a, source, local(r.headers["content-location"]))
            body = b"".join(a.get(local(item["url"])).content for item in manifest["output"])
            imported = finish(b, target, start_import(b, body))
        assert imported["extension"]["rejected"] == 0
        assert imported["extension"]["created"] == sum(report.by_type.values())
        types = sorted(report.by_type)
        before = _current(source.repository(system_caller("tests")), types)
        after = _current(target.repository(system_caller("tests")), types)
        assert Counter(r["resourceType"] for r in after) == Counter(report.by_type)
        assert content_hash(after) == content_hash(before) == report.hashes
    finally:
        source.close()
        target.close()
