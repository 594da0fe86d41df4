"""Ingest benchmark: import NDJSON through the validated, indexed path and compare it with
plain inserts of the same rows.

1. Generates the synthetic county (``--residents``) and writes it as one NDJSON file per
   resource type (not timed).
2. Imports the folder into a fresh database with ``countyhealth.ingest.import_paths``:
   parsing, validation, index extraction in ``--workers`` processes, chunked transactions
   (timed: ``seconds``, ``resources_per_s``).
3. Raw baseline, same run: the same stored JSON documents and the same index rows (computed
   beforehand, not timed) inserted into another fresh database with one plain
   ``executemany`` per table and chunk, in transactions of the same size
   (``raw_insert_per_s``; ``ratio_to_raw`` = import rate / raw rate).
4. ``validation_share``: the share of the preparation time (parse, validate, extract index
   rows, serialise) spent validating, measured in this process on the same resources.

Prints one JSON line. On PostgreSQL (``--database-url``) both runs use that database,
emptied before each.

    .venv/bin/python bench/ingest.py [--residents 5000] [--workers 2] [--chunk-size 2000]
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from countyhealth.config import Settings
from countyhealth.fhir.validation import check_resource
from countyhealth.ingest import import_paths
from countyhealth.store import Store, migrate, system_caller
from countyhealth.store.ingest_prepare import Prepared, prepare_chunk
from countyhealth.store.schema import INDEX_COLUMNS, INDEX_TABLES
from countyhealth.synthetic import SeedOptions
from countyhealth.synthetic.seed import generate_resources

_TABLES = ("resource", "resource_history", *(t.name for t in INDEX_TABLES.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (emptied!)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="countyhealth-ingest-"))
    try:
        resources = _write_ndjson(tmp / "ndjson", args.residents, args.seed)
        import_settings = _settings(tmp, "import", args.database_url)
        raw_settings = _settings(tmp, "raw", args.database_url)
        backend = "postgresql" if args.database_url else "sqlite"

        share = _validation_share(resources[:20000])
        prepared = _prepared(resources, args.chunk_size)
        del resources

        raw_seconds = _raw_insert(raw_settings, prepared, backend)
        import_seconds, stored = _import(import_settings, tmp / "ndjson", args)
        count = sum(len(c) for c in prepared)
        if stored != count:
            raise SystemExit(f"imported {stored} of {count} resources")
        rate = count / import_seconds
        raw_rate = count / raw_seconds
        print(
            json.dumps(
                {
                    "bench": "ingest",
                    "backend": backend,
                    "resources": count,
                    "workers": args.workers,
                    "chunk_size": args.chunk_size,
                    "seconds": round(import_seconds, 2),
                    "resources_per_s": round(rate),
                    "raw_insert_per_s": round(raw_rate),
                    "ratio_to_raw": round(rate / raw_rate, 2),
                    "validation_share": round(share, 2),
                }
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _settings(tmp: Path, name: str, database_url: str | None) -> Settings:
    settings = Settings(
        environment="test",
        secret_key=secrets.token_urlsafe(48),
        database_url=database_url or f"sqlite:///{tmp / (name + '.db')}",
        audit_spool_dir=str(tmp / f"spool-{name}"),
    )
    migrate(settings)
    return settings


def _write_ndjson(folder: Path, residents: int, seed: int) -> list[dict[str, Any]]:
    options = SeedOptions(residents=residents, seed=seed, start=date(2025, 1, 1), years=1)
    resources, _ = generate_resources(options)
    folder.mkdir(parents=True)
    files: dict[str, Any] = {}
    try:
        for r in resources:
            out = files.get(r["resourceType"])
            if out is None:
                out = files[r["resourceType"]] = (folder / f"{r['resourceType']}.ndjson").open("wb")
            out.write(orjson.dumps(r) + b"\n")
    finally:
        for out in files.values():
            out.close()
    return resources


def _validation_share(sample: list[dict[str, Any]]) -> float:
    lines = [orjson.dumps(r) for r in sample]
    started = time.perf_counter()
    prepare_chunk([(i, line) for i, line in enumerate(lines)], 0)
    total = time.perf_counter() - started
    started = time.perf_counter()
    for line in lines:
        check_resource(orjson.loads(line))
    return (time.perf_counter() - started) / total


def _prepared(resources: list[dict[str, Any]], size: int) -> list[list[Prepared]]:
    """Stored documents and index rows of every resource, in import chunks (not timed)."""
    chunks = []
    for start in range(0, len(resources), size):
        chunk = prepare_chunk([(None, r) for r in resources[start : start + size]], 1)
        chunks.append(chunk.prepared)
    return chunks


def _empty(settings: Settings) -> None:
    store = Store.open(settings)
    try:
        with store.engines.write.begin() as conn:
            for table in _TABLES:
                conn.exec_driver_sql(f"DELETE FROM {table}")
    finally:
        store.close()


def _raw_insert(settings: Settings, chunks: list[list[Prepared]], backend: str) -> float:
    """Plain executemany of the same rows, explicit keys, one transaction per chunk."""
    _empty(settings)
    store = Store.open(settings)
    mark = "?" if backend == "sqlite" else "%s"

    def sql(table: str, columns: tuple[str, ...]) -> str:
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"

    resource_sql = sql(
        "resource",
        ("res_pk", "res_type", "res_id", "version_id", "last_updated_us", "deleted", "content"),
    )
    history_sql = sql(
        "resource_history",
        ("res_pk", "version_id", "res_type", "res_id", "last_updated_us", "method", "content"),
    )
    index_sql = {
        kind: sql(table.name, ("res_pk", "res_type", *INDEX_COLUMNS[kind]))
        for kind, table in INDEX_TABLES.items()
    }
    try:
        started = time.perf_counter()
        pk = 0
        for chunk in chunks:
            with store.engines.write.begin() as conn:
                first = pk + 1
                pk += len(chunk)
                keys = range(first, pk + 1)
                conn.exec_driver_sql(
                    resource_sql,
                    [
                        (k, p.rtype, p.rid, 1, 1, False, p.content)
                        for k, p in zip(keys, chunk, strict=True)
                    ],
                )
                conn.exec_driver_sql(
                    history_sql,
                    [
                        (k, 1, p.rtype, p.rid, 1, "POST", p.content)
                        for k, p in zip(keys, chunk, strict=True)
                    ],
                )
                rows: dict[str, list[tuple[Any, ...]]] = {}
                for k, p in zip(keys, chunk, strict=True):
                    for kind, values in p.index.items():
                        rows.setdefault(kind, []).extend((k, p.rtype, *v) for v in values)
                for kind, batch in rows.items():
                    conn.exec_driver_sql(index_sql[kind], batch)
        return time.perf_counter() - started
    finally:
        store.close()


def _import(settings: Settings, folder: Path, args: argparse.Namespace) -> tuple[float, int]:
    _empty(settings)
    store = Store.open(settings)
    try:
        report = import_paths(
            store.repository(system_caller("bench")),
            [folder],
            workers=args.workers,
            chunk_size=args.chunk_size,
        )
        if report.rejected:
            raise SystemExit(f"{report.rejected} resources rejected")
        return report.seconds, report.stored
    finally:
        store.close()


if __name__ == "__main__":
    main()
