"""SIGKILL of the server during 1,000 concurrent transactions.

1,000 transaction Bundles are POSTed by 32 concurrent clients to a real server (two worker
processes); each creates a Patient, an Encounter and two Observations linked by ``urn:uuid:``
references and marked with the transaction's own identifier. Part-way, with some transactions
answered and others in flight, the whole server is SIGKILLed. The database is then opened
directly through the Store, and the test checks that

* every transaction is all or nothing: its four resources are all stored, linked to each other,
  or none is;
* every transaction answered 200 is stored, with the ids its answer gave;
* every row of every index table belongs to a stored resource and is exactly what indexing the
  stored current version gives (index rows carry no version: they are replaced with each
  version, in the transaction that writes it).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Connection, select

from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.fhir.indexing import extract
from countyhealth.store import Store
from countyhealth.store.schema import INDEX_TABLES, resource, resource_history
from tests.support.server import ServerProcess

MARKER = "https://countyhealth.example.org/fhir/sid/crash-test-transaction"
TRANSACTIONS = 1000
CLIENTS = 32
RESOURCES = ("Patient", "Encounter", "Observation", "Observation")
#: Kill once this many transactions are answered (or after KILL_AFTER_S, whichever is first).
KILL_AT_ANSWERED = 250
KILL_AFTER_S = 20.0


def visit(n: int) -> dict[str, Any]:
    """Transaction ``n``: a patient, an encounter and two observations, all marked ``tx-n``."""
    marker = [{"system": MARKER, "value": f"tx-{n}"}]
    patient, encounter = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    observations = [
        {
            "resource": {
                "resourceType": "Observation",
                "identifier": marker,
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": patient},
                "encounter": {"reference": encounter},
                "valueQuantity": {
                    "value": value,
                    "unit": "mm[Hg]",
                    "system": "http://unitsofmeasure.org",
                    "code": "mm[Hg]",
                },
            },
            "request": {"method": "POST", "url": "Observation"},
        }
        for code, value in (("8480-6", 120 + n % 40), ("8462-4", 70 + n % 20))
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": marker,
                    "name": [{"text": f"崩溃测试 {n}"}],
                    "birthDate": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}",
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={MARKER}|tx-{n}",
                },
            },
            {
                "fullUrl": encounter,
                "resource": {
                    "resourceType": "Encounter",
                    "identifier": marker,
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "subject": {"reference": patient},
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
            *observations,
        ],
    }


class Run:
    """What the clients saw, per transaction."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answered: dict[int, list[str]] = {}  # 200: Type/id of each entry
        self.refused: dict[int, int] = {}  # another status
        self.lost: set[int] = set()  # no answer: the connection broke or was refused
        self.in_flight = 0
        self.in_flight_at_kill = 0

    def post(self, client: httpx.Client, n: int) -> None:
        body = orjson.dumps(visit(n))
        with self.lock:
            self.in_flight += 1
        try:
            r = client.post("/fhir/", content=body)
        except httpx.HTTPError:
            with self.lock:
                self.lost.add(n)
            return
        finally:
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            if r.status_code == 200:
                self.answered[n] = [
                    "/".join(e["response"]["location"].split("/")[-4:-2]) for e in r.json()["entry"]
                ]
            else:
                self.refused[n] = r.status_code


@pytest.mark.slow
def test_sigkill_during_concurrent_transactions(settings: Settings) -> None:
    server = ServerProcess(
        {
            "COUNTYHEALTH_ENVIRONMENT": "test",
            "COUNTYHEALTH_SECRET_KEY": settings.secret_key,
            "COUNTYHEALTH_DATABASE_URL": settings.database_url,
            "COUNTYHEALTH_AUDIT_SPOOL_DIR": settings.audit_spool_dir,
        },
        workers=2,
    )
    server.start()
    token = issue_token(settings, "crash-test", "system/*.*")
    run = Run()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    try:
        with (
            httpx.Client(base_url=server.base, headers=headers, timeout=60, limits=limits) as c,
            ThreadPoolExecutor(CLIENTS) as pool,
        ):
            futures = [pool.submit(run.post, c, n) for n in range(TRANSACTIONS)]
            started = time.monotonic()
            while time.monotonic() - started < KILL_AFTER_S:
                with run.lock:
                    if len(run.answered) >= KILL_AT_ANSWERED:
                        break
                time.sleep(0.005)
            with run.lock:
                run.in_flight_at_kill = run.in_flight
            server.kill()
            for f in futures:
                f.result()
    finally:
        server.kill()

    assert len(run.answered) + len(run.refused) + len(run.lost) == TRANSACTIONS
    assert run.answered, "no transaction was answered before the kill"
    assert run.lost, "the server finished every transaction before the kill"
    assert run.in_flight_at_kill > 0, "nothing was in flight at the kill"
    assert {s for s in run.refused.values() if s >= 500} == set(), run.refused

    store = Store.open(settings)
    try:
        with store.engines.read.connect() as conn:
            stored = marked_resources(conn)
            check_all_or_nothing(stored, run)
            rows = check_index_rows(conn)
        print(  # shown with -s: what the kill hit
            f"answered {len(run.answered)}, refused {len(run.refused)}, no answer "
            f"{len(run.lost)} ({run.in_flight_at_kill} in flight at the kill); stored "
            f"{len(stored)} whole, {len(set(stored) & run.lost)} of them unanswered; "
            f"{rows} index rows checked"
        )
    finally:
        store.close()


def marked_resources(conn: Connection) -> dict[int, list[dict[str, Any]]]:
    """Stored current versions by transaction number, read from ``resource`` (not the index)."""
    out: dict[int, list[dict[str, Any]]] = {}
    rows = conn.execute(
        select(resource.c.res_pk, resource.c.version_id, resource.c.content).where(
            resource.c.res_type.in_(set(RESOURCES))
        )
    )
    for res_pk, version, content in rows:
        assert content is not None, f"res_pk {res_pk}: nothing here deletes"
        assert version == 1
        doc = orjson.loads(content)
        markers = [i["value"] for i in doc.get("identifier", []) if i.get("system") == MARKER]
        assert len(markers) == 1, doc
        out.setdefault(int(markers[0].removeprefix("tx-")), []).append(doc)
    return out


def check_all_or_nothing(stored: dict[int, list[dict[str, Any]]], run: Run) -> None:
    for n, docs in stored.items():
        kinds = sorted(d["resourceType"] for d in docs)
        assert kinds == sorted(RESOURCES), f"transaction {n} is partly stored: {kinds}"
        patient = next(d["id"] for d in docs if d["resourceType"] == "Patient")
        encounter = next(d["id"] for d in docs if d["resourceType"] == "Encounter")
        for d in docs:
            if d["resourceType"] != "Patient":
                assert d["subject"]["reference"] == f"Patient/{patient}"
            if d["resourceType"] == "Observation":
                assert d["encounter"]["reference"] == f"Encounter/{encounter}"
    for n, references in run.answered.items():
        assert n in stored, f"transaction {n} was answered 200 but is not stored"
        assert sorted(references) == sorted(f"{d['resourceType']}/{d['id']}" for d in stored[n])
    assert not set(run.refused) & set(stored), "a refused transaction left resources behind"
    # some of the transactions that got no answer may have committed: that is allowed
    assert set(stored) <= set(run.answered) | run.lost


def check_index_rows(conn: Connection) -> int:
    """Each resource's index rows are exactly those of its stored current version; returns how
    many rows were checked."""
    current: dict[int, tuple[str, bytes | None]] = {
        int(pk): (rtype, content)
        for pk, rtype, content in conn.execute(
            select(resource.c.res_pk, resource.c.res_type, resource.c.content)
        )
    }
    history = set(conn.execute(select(resource_history.c.res_pk, resource_history.c.version_id)))
    versions = conn.execute(select(resource.c.res_pk, resource.c.version_id))
    assert all((pk, v) in history for pk, v in versions), "a current version has no history row"

    indexed: dict[int, Counter[tuple[Any, ...]]] = {}
    for kind, table in INDEX_TABLES.items():
        for row in conn.execute(select(table)):
            pk = int(row.res_pk)
            indexed.setdefault(pk, Counter())[(kind, *row[1:])] += 1
    orphans = sorted(set(indexed) - set(current))
    assert orphans == [], f"index rows of res_pk {orphans[:10]} that is not stored"
    mismatched = [
        pk
        for pk, (rtype, content) in current.items()
        if indexed.get(pk, Counter()) != expected_rows(rtype, content)
    ]
    assert mismatched == [], f"index rows differ from the stored version: res_pk {mismatched[:10]}"
    return sum(sum(c.values()) for c in indexed.values())


def expected_rows(rtype: str, content: bytes | None) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    if content is None:
        return out
    for kind, rows in extract(orjson.loads(content)).items():
        columns = [c.name for c in INDEX_TABLES[kind].columns][2:]  # after res_pk, res_type
        for row in rows:
            out[(kind, rtype, *(row.get(c) for c in columns))] += 1
    return out
