"""SIGKILL of the server during a stream of writes loses no acknowledged write."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import func, select

from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.store import Store, system_caller
from countyhealth.store.schema import INDEX_TABLES, resource, resource_history
from tests.support.server import ServerProcess


@pytest.mark.slow
def test_sigkill_during_writes_keeps_every_acknowledged_write(settings: Settings) -> None:
    env = {
        "COUNTYHEALTH_ENVIRONMENT": "test",
        "COUNTYHEALTH_SECRET_KEY": settings.secret_key,
        "COUNTYHEALTH_DATABASE_URL": settings.database_url,
        "COUNTYHEALTH_AUDIT_SPOOL_DIR": settings.audit_spool_dir,
    }
    server = ServerProcess(env, workers=2)
    server.start()
    token = issue_token(settings, "crash-test", "system/*.*")
    acknowledged: dict[str, int] = {}
    reads_answered = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(
            base_url=server.base,
            timeout=5,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        ) as c:
            i = 0
            while not stop.is_set():
                rid = f"w{n}-{i % 5}"
                body = {
                    "resourceType": "Patient",
                    "id": rid,
                    "birthDate": "2001-01-01",
                    "name": [{"text": f"writer {n} round {i}"}],
                }
                try:
                    r = c.put(f"/fhir/Patient/{rid}", json=body)
                except httpx.HTTPError:
                    return
                if r.status_code in (200, 201):
                    with lock:
                        acknowledged[rid] = max(
                            acknowledged.get(rid, 0), int(r.json()["meta"]["versionId"])
                        )
                    try:
                        read = c.get(f"/fhir/Patient/{rid}")
                    except httpx.HTTPError:
                        return
                    if read.status_code == 200:
                        with lock:
                            reads_answered[0] += 1
                i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    server.kill()
    stop.set()
    for t in threads:
        t.join()
    assert acknowledged, "no write was acknowledged before the kill"

    store = Store.open(settings)  # ingests the audit spools of the killed workers
    try:
        repo = store.repository(system_caller())
        with store.engines.read.connect() as conn:
            audited_reads = sum(
                1
                for (content,) in conn.execute(
                    select(resource.c.content).where(resource.c.res_type == "AuditEvent")
                )
                if b'"code":"read"' in content
            )
        assert audited_reads >= reads_answered[0] > 0
        for rid, version in acknowledged.items():
            assert repo.read("Patient", rid).version >= version
        with store.engines.read.connect() as conn:
            # every current row has its history row, and versions are gap-free
            for res_pk, version in conn.execute(select(resource.c.res_pk, resource.c.version_id)):
                versions = (
                    conn.execute(
                        select(resource_history.c.version_id)
                        .where(resource_history.c.res_pk == res_pk)
                        .order_by(resource_history.c.version_id)
                    )
                    .scalars()
                    .all()
                )
                assert versions == list(range(1, version + 1))
            # no index row points at a resource that is not there
            for table in INDEX_TABLES.values():
                orphans = conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(~table.c.res_pk.in_(select(resource.c.res_pk)))
                ).scalar()
                assert orphans == 0
    finally:
        store.close()
