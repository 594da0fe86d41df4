"""Importing NDJSON, Bundles and folders (countyhealth.ingest): validated, indexed, resumable."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir.identifiers.gb11643 import build
from countyhealth.fhir.indexing import extract
from countyhealth.fhir.search_request import parse_search
from countyhealth.ingest import import_paths
from countyhealth.store import Caller, Repository, Scopes, Store
from countyhealth.store.schema import INDEX_COLUMNS, INDEX_TABLES, resource

SYSTEM = "urn:oid:2.16.156.10011.1.3"


def id_number(i: int) -> str:
    return build("110105", date(1980, 1, 1), i)


def patient(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": f"p{i}",
        "identifier": [{"system": SYSTEM, "value": id_number(i)}],
        "name": [{"family": "王", "given": [f"小{i}"]}],
        "gender": "female" if i % 2 else "male",
        **extra,
    }


def glucose(i: int, pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-03-01T08:00:00+08:00",
        "valueQuantity": {
            "value": 5 + i / 10,
            "unit": "mmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/L",
        },
    }


def write_ndjson(path: Path, items: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"".join((x if isinstance(x, bytes) else orjson.dumps(x)) + b"\n" for x in items)
    )
    return path


def total(repo: Repository, rtype: str, *params: tuple[str, str]) -> int:
    page = repo.search(parse_search([rtype], [*params, ("_total", "accurate")]))
    return page.total or 0


def index_rows(store: Store) -> set[tuple[Any, ...]]:
    """Every index row in the database, keyed by resource type and id instead of res_pk."""
    out: set[tuple[Any, ...]] = set()
    with store.engines.read.connect() as conn:
        ids = dict(conn.execute(select(resource.c.res_pk, resource.c.res_id)).all())
        for kind, table in INDEX_TABLES.items():
            for row in conn.execute(select(table)).mappings():
                if row["res_type"] == "AuditEvent":
                    continue
                values = tuple(row[c] for c in INDEX_COLUMNS[kind])
                out.add((kind, row["res_type"], ids[row["res_pk"]], *values))
    return out


def expected_rows(store: Store) -> set[tuple[Any, ...]]:
    """The index rows a fresh extraction of every stored resource gives."""
    out: set[tuple[Any, ...]] = set()
    with store.engines.read.connect() as conn:
        for rtype, rid, content in conn.execute(
            select(resource.c.res_type, resource.c.res_id, resource.c.content)
        ):
            if rtype == "AuditEvent" or content is None:
                continue
            for kind, rows in extract(orjson.loads(content)).items():
                for row in rows:
                    out.add((kind, rtype, rid, *(row.get(c) for c in INDEX_COLUMNS[kind])))
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    write_ndjson(root / "Patient.ndjson", [patient(i) for i in range(30)])
    write_ndjson(
        root / "Observation.ndjson",
        [glucose(i, f"p{i % 30}") for i in range(60)]
        + [
            {"resourceType": "Observation", "id": "bad", "status": "maybe"},  # not in value set
            b"{this is not json",
            {"resourceType": "Nonsense", "id": "x"},
        ],
    )
    return root


@pytest.mark.parametrize("workers", [0, 1])
def test_ndjson_folder_is_validated_indexed_and_rejects_reported(
    repo: Repository, store: Store, folder: Path, tmp_path: Path, workers: int
) -> None:
    rejects = tmp_path / "rejects.ndjson"
    report = import_paths(repo, [folder], workers=workers, chunk_size=25, rejects_path=rejects)
    assert (report.created, report.rejected, report.sources) == (90, 3, 2)
    assert total(repo, "Patient") == 30
    assert total(repo, "Observation", ("code", "http://loinc.org|2345-7")) == 60
    assert total(repo, "Observation", ("subject", "Patient/p3")) == 2
    assert (
        total(repo, "Observation", ("value-quantity", "gt10|http://unitsofmeasure.org|mmol/L"))
        == 9  # 5.1 … 10.9 mmol/L; 10.0 is not above 10
    )
    assert total(repo, "Patient", ("identifier", f"{SYSTEM}|{id_number(7)}")) == 1
    assert repo.read("Patient", "p7").version == 1
    # the index rows are those a fresh extraction of the stored content gives
    assert index_rows(store) == expected_rows(store)
    outcomes = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    where = [o["issue"][0]["location"][0] for o in outcomes]
    assert where == [f"{folder.name}/Observation.ndjson:{n}" for n in (61, 62, 63)]
    codes = [o["issue"][0]["details"]["coding"][0]["code"] for o in outcomes]
    assert codes[1] == "CH-1001"
    assert all(c.startswith("CH-") for c in codes)


def test_import_matches_single_writes(repo: Repository, store: Store, tmp_path: Path) -> None:
    """A resource imported in a worker gets exactly the index rows of a single PUT."""
    imported = [patient(i) for i in range(5)] + [glucose(i, "p1") for i in range(5)]
    write_ndjson(tmp_path / "a.ndjson", imported)
    import_paths(repo, [tmp_path / "a.ndjson"], workers=1)
    by_import = index_rows(store)
    for body in imported:
        repo.delete(body["resourceType"], body["id"])
    for body in imported:
        repo.update(body["resourceType"], body["id"], body)
    assert index_rows(store) == by_import


def test_interrupted_import_resumes_without_duplicates(
    repo: Repository, folder: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    calls = []

    def stop_after_two_chunks(done: int, done_bytes: int, total_bytes: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_paths(
            repo, [folder], chunk_size=20, state_path=state, progress=stop_after_two_chunks
        )
    partial = total(repo, "Observation") + total(repo, "Patient")
    assert partial == 40
    second = import_paths(repo, [folder], chunk_size=20, state_path=state)
    assert second.resumed
    assert (second.created, second.unchanged, second.rejected) == (50, 0, 3)
    assert total(repo, "Observation") + total(repo, "Patient") == 90
    assert all(
        e.version == 1 for e in repo.search(parse_search(["Patient"], [("_count", "100")])).entries
    )
    third = import_paths(repo, [folder], state_path=state)
    assert third.already_complete and third.created == 0


def test_reimport_keeps_unchanged_resources_and_versions_changed_ones(
    repo: Repository, tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "p.ndjson", [patient(i) for i in range(10)])
    import_paths(repo, [path])
    write_ndjson(path, [patient(i, active=(i == 3)) if i == 3 else patient(i) for i in range(10)])
    report = import_paths(repo, [path])
    assert (report.created, report.updated, report.unchanged) == (0, 1, 9)
    assert repo.read("Patient", "p3").version == 2
    assert repo.read("Patient", "p4").version == 1
    assert total(repo, "Patient", ("active", "true")) == 1


def test_repeated_resource_in_one_chunk_becomes_a_new_version(
    repo: Repository, tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "p.ndjson", [patient(1), patient(1, gender="other")])
    report = import_paths(repo, [path])
    assert (report.created, report.updated) == (1, 1)
    current = repo.read("Patient", "p1")
    assert current.version == 2 and orjson.loads(current.content)["gender"] == "other"


def test_bundles_transaction_collection_and_single_resource(
    repo: Repository, tmp_path: Path
) -> None:
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-2222-3333-4444-555555555555",
                "resource": {"resourceType": "Patient", "gender": "male"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": {"reference": "urn:uuid:11111111-2222-3333-4444-555555555555"},
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
        ],
    }
    failing = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": "never"},
                "request": {"method": "PUT", "url": "Patient/never"},
            },
            {
                "resource": {"resourceType": "Patient", "gender": "robot"},
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient(i)} for i in range(3)],
    }
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "1-transaction.json").write_bytes(orjson.dumps(transaction))
    (tmp_path / "in" / "2-failing.json").write_bytes(orjson.dumps(failing))
    (tmp_path / "in" / "3-collection.json").write_bytes(orjson.dumps(collection))
    (tmp_path / "in" / "4-single.json").write_bytes(orjson.dumps(patient(9)))
    (tmp_path / "in" / "notes.txt").write_text("not imported")
    rejects = tmp_path / "rejects.ndjson"
    report = import_paths(repo, [tmp_path / "in"], rejects_path=rejects)
    assert (report.bundles, report.rejected, report.sources) == (1, 1, 4)
    assert report.created == 2 + 3 + 1
    encounter = repo.search(parse_search(["Encounter"], [])).entries[0]
    pid = orjson.loads(encounter.content)["subject"]["reference"]
    assert pid.startswith("Patient/") and repo.read("Patient", pid.split("/")[1])
    with pytest.raises(OperationOutcomeError):
        repo.read("Patient", "never")
    [outcome] = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert outcome["issue"][0]["location"] == ["in/2-failing.json:0"]
    assert "Bundle.entry[1]" in orjson.dumps(outcome).decode()


def test_scopes_apply_to_imports(store: Store, tmp_path: Path) -> None:
    limited = store.repository(
        Caller("client", "lab", Scopes.parse("system/Patient.cu"), channel="test")
    )
    path = write_ndjson(tmp_path / "o.ndjson", [patient(1), glucose(1, "p1")])
    with pytest.raises(OperationOutcomeError) as failure:
        import_paths(limited, [path])
    assert failure.value.status == 403
    assert (
        total(store.repository(Caller("system", "t", Scopes.parse("system/*.cruds"))), "Patient")
        == 0
    )
