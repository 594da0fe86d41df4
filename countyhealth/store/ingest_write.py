"""Writing prepared chunks: plain multi-row inserts, one database transaction per chunk.

The rows come ready from :mod:`.ingest_prepare`, so writing is binding tuples to one
``executemany`` per table. Semantics per resource are those of update-as-create
(https://hl7.org/fhir/R4/http.html#upsert): a new id becomes version 1, a known one a new
version — unless its content equals the stored one apart from ``meta.versionId`` and
``meta.lastUpdated``, which makes replaying a chunk (an interrupted import resumed)
harmless. Scopes are checked per resource type and interaction, and the chunk is audited
like any write of patient data, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import Connection, select

from ..errors import error
from ..fhir.instant import format_instant
from .dialect import insert_rows, reserve_resource_keys
from .ingest_prepare import Prepared, PreparedChunk
from .meta import with_meta
from .rows import delete_index_rows, insert_index_tuples
from .schema import resource

if TYPE_CHECKING:
    from .repository import Repository


@dataclass(slots=True)
class ChunkCounts:
    """What writing one chunk did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, other: ChunkCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected


@dataclass(frozen=True, slots=True)
class _Current:
    res_pk: int
    version_id: int
    deleted: bool
    content: bytes | None


def write_chunk(repo: Repository, chunk: PreparedChunk) -> ChunkCounts:
    """Store the prepared resources of ``chunk`` in one transaction (rejected ones are only
    counted: the caller reports them)."""
    prepared = chunk.prepared
    for rtype in {p.rtype for p in prepared}:
        repo.check_type(rtype)
    backend = repo.store.engines.backend

    def work(conn: Connection) -> ChunkCounts:
        counts = ChunkCounts(rejected=len(chunk.items) - len(prepared))
        for batch in _without_repeats(prepared):
            counts.add(_write_batch(repo, conn, backend, batch, chunk.last_updated_us))
        patients = sorted({pid for p in prepared for pid in p.patients})
        if patients:
            event = repo.audit_event(
                "update", 200, None, patients, query=f"import of {len(prepared)} resources"
            )
            repo.store.audit.write_now(conn, [event])
        return counts

    counts = repo.write(work)
    if any(p.rtype == "SearchParameter" for p in prepared):
        repo.store.search_state.sync()  # the search registry changed
    return counts


def _without_repeats(items: list[Prepared]) -> list[list[Prepared]]:
    """Split so that no batch holds one resource twice: a repeat is a later version."""
    if len({(p.rtype, p.rid) for p in items}) == len(items):
        return [items]
    batches: list[list[Prepared]] = []
    seen: list[set[tuple[str, str]]] = []
    for p in items:
        key = (p.rtype, p.rid)
        level = next((i for i, keys in enumerate(seen) if key not in keys), len(seen))
        if level == len(seen):
            batches.append([])
            seen.append(set())
        batches[level].append(p)
        seen[level].add(key)
    return batches


def _write_batch(
    repo: Repository, conn: Connection, backend: str, items: list[Prepared], stamp_us: int
) -> ChunkCounts:
    counts = ChunkCounts()
    existing = _current(conn, [(p.rtype, p.rid) for p in items])
    fresh: list[Prepared] = []
    changed: list[tuple[_Current, Prepared]] = []
    for p in items:
        row = existing.get((p.rtype, p.rid))
        if row is None:
            fresh.append(p)
        elif not row.deleted and _same_content(row.content, p.content):
            counts.unchanged += 1
        else:
            changed.append((row, p))
    for rtype in {p.rtype for p in fresh}:
        repo.require(rtype, "create")
    for rtype in {p.rtype for _, p in changed}:
        repo.require(rtype, "update")
    keys = reserve_resource_keys(conn, len(fresh), backend)
    versions: list[tuple[int, int, Prepared, bytes, str]] = [
        (pk, 1, p, p.content, "POST") for pk, p in zip(keys, fresh, strict=True)
    ]
    if fresh:
        insert_rows(
            conn,
            "resource",
            _RESOURCE_COLUMNS,
            [(pk, p.rtype, p.rid, 1, stamp_us, False, p.content) for pk, _, p, _, _ in versions],
            backend,
        )
    if changed:
        stamp = format_instant(stamp_us)
        for row, p in changed:
            version = row.version_id + 1
            content = orjson.dumps(with_meta(orjson.loads(p.content), p.rid, version, stamp))
            versions.append((row.res_pk, version, p, content, "PUT"))
            result = conn.exec_driver_sql(
                _update_statement(backend),
                (version, stamp_us, False, content, row.res_pk, row.version_id),
            )
            if result.rowcount != 1:
                raise error("CH-2009", f"{p.rtype}/{p.rid} changed during the import; retry")
        delete_index_rows(conn, [row.res_pk for row, _ in changed])
    if not versions:
        return counts
    insert_rows(
        conn,
        "resource_history",
        _HISTORY_COLUMNS,
        [
            (pk, version, p.rtype, p.rid, stamp_us, method, content)
            for pk, version, p, content, method in versions
        ],
        backend,
    )
    insert_index_tuples(conn, [(pk, p.rtype, p.index) for pk, _, p, _, _ in versions])
    counts.created += len(fresh)
    counts.updated += len(changed)
    return counts


def _same_content(stored: bytes | None, new: bytes) -> bool:
    """Equal apart from the server-owned ``meta.versionId`` and ``meta.lastUpdated``."""
    if stored is None:
        return False
    a, b = orjson.loads(stored), orjson.loads(new)
    for doc in (a, b):
        meta = doc.get("meta") or {}
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            doc.pop("meta", None)
    return bool(a == b)


def _current(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], _Current]:
    """The stored state of ``keys``, one indexed ``res_type = ? AND res_id IN (…)`` per type
    (row-value IN lists are not answered from the unique index on SQLite)."""
    by_type: dict[str, list[str]] = {}
    for rtype, rid in keys:
        by_type.setdefault(rtype, []).append(rid)
    found: dict[tuple[str, str], _Current] = {}
    for rtype, ids in by_type.items():
        for start in range(0, len(ids), 1000):
            rows = conn.execute(
                select(
                    resource.c.res_id,
                    resource.c.res_pk,
                    resource.c.version_id,
                    resource.c.deleted,
                    resource.c.content,
                ).where(
                    resource.c.res_type == rtype, resource.c.res_id.in_(ids[start : start + 1000])
                )
            )
            for rid, pk, version, deleted, content in rows:
                found[(rtype, rid)] = _Current(int(pk), int(version), bool(deleted), content)
    return found


_RESOURCE_COLUMNS = (
    "res_pk",
    "res_type",
    "res_id",
    "version_id",
    "last_updated_us",
    "deleted",
    "content",
)
_HISTORY_COLUMNS = (
    "res_pk",
    "version_id",
    "res_type",
    "res_id",
    "last_updated_us",
    "method",
    "content",
)


@cache
def _update_statement(backend: str) -> str:
    """The conditional UPDATE of a current row, in the driver's parameter style."""
    mark = "?" if backend == "sqlite" else "%s"
    return (
        f"UPDATE resource SET version_id = {mark}, last_updated_us = {mark}, deleted = {mark},"
        f" content = {mark} WHERE res_pk = {mark} AND version_id = {mark}"
    )
