"""Importing files into the store: chunked, validated, indexed, resumable.

Items (NDJSON lines, resources of collection Bundles, single resources) are grouped into
chunks; worker processes validate them and extract their index rows
(:class:`~countyhealth.store.ingest_pool.Preparer`) while this process writes the previous
chunk in one database transaction (:meth:`Repository.write_prepared`). Transaction and batch
Bundles are processed as requests, in file order, by :func:`~countyhealth.rest.bundle.process_bundle`.
Every imported resource is validated and indexed like a single write: there is no
unvalidated path. Invalid items are skipped and reported (:mod:`.rejects`); after each
committed chunk the checkpoint (:mod:`.checkpoint`) records how far the import got.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import OperationOutcomeError, error
from ..rest.bundle import process_bundle
from ..store import Repository
from ..store.ingest_pool import Preparer
from ..store.ingest_prepare import Item, PreparedChunk
from . import checkpoint
from .rejects import RejectsFile
from .sources import (
    Position,
    Source,
    bundle_resources,
    find_sources,
    fingerprint,
    is_request_bundle,
    ndjson_lines,
    read_json,
)

#: (resources processed, bytes processed, total bytes)
Progress = Callable[[int, int, int], None]


@dataclass(slots=True)
class ImportReport:
    """What an import did (counts of this run; a resumed run counts what it did itself)."""

    sources: int
    total_bytes: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    bundles: int = 0
    seconds: float = 0.0
    resumed: bool = False
    already_complete: bool = False
    rejects_path: Path | None = None
    by_source_rejected: dict[str, int] = field(default_factory=dict)
    #: the counts of the earlier runs of a resumed import (from its checkpoint)
    earlier: dict[str, int] = field(default_factory=dict)

    @property
    def stored(self) -> int:
        return self.created + self.updated + self.unchanged

    def totals(self) -> dict[str, int]:
        """The counts of every run of this import so far, this one included."""
        return {name: self.earlier.get(name, 0) + getattr(self, name) for name in _COUNTED}


_COUNTED = ("created", "updated", "unchanged", "rejected", "bundles")


@dataclass(frozen=True, slots=True)
class _RequestBundle:
    position: Position
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Unreadable:
    position: Position
    outcome: dict[str, Any]


def import_paths(
    repo: Repository,
    paths: list[Path],
    *,
    workers: int = 0,
    chunk_size: int = 1000,
    state_path: Path | None = None,
    rejects_path: Path | None = None,
    restart: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the files under ``paths`` through ``repo`` (its caller's scopes apply).

    Args:
        workers: processes that validate and index (0: this process does it).
        chunk_size: items per database transaction.
        state_path: the checkpoint file; with it, a second run resumes where the first one
            stopped (unless ``restart``), and does nothing if the first one completed.
        rejects_path: where to write the OperationOutcomes of rejected items.
    """
    if chunk_size < 1:
        raise error("CH-1006", "chunk_size must be at least 1")
    started = time.perf_counter()
    sources = find_sources(paths)
    report = ImportReport(len(sources), sum(s.size for s in sources), rejects_path=rejects_path)
    state = checkpoint.Checkpoint(fingerprint(sources))
    if state_path is not None and not restart:
        state = checkpoint.load(state_path, state.fingerprint)
        report.resumed = state.source >= 0
        report.earlier = dict(state.counts)
        if state.complete:
            report.already_complete = True
            return report
    rejects = RejectsFile(rejects_path, append=report.resumed)
    names = {s.index: s.name for s in sources}
    done = 0
    try:
        with Preparer(workers) as preparer:
            units = preparer.prepare(_units(sources, state, chunk_size), repo.store.clock.now_us)
            for unit in units:
                if isinstance(unit, PreparedChunk):
                    last = _write_chunk(repo, unit, report, rejects, names)
                    done += len(unit.items)
                elif isinstance(unit, _RequestBundle):
                    last = unit.position
                    done += _run_bundle(repo, unit, report, rejects, names)
                elif isinstance(unit, _Unreadable):
                    last = unit.position
                    _reject(report, rejects, names, unit.position, unit.outcome)
                rejects.flush()
                state.source, state.item = last.source, last.item
                state.counts = report.totals()
                if state_path is not None:
                    checkpoint.save(state_path, state)
                if progress is not None:
                    progress(done, last.bytes_done, report.total_bytes)
        state.complete = True
        state.counts = report.totals()
        if state_path is not None:
            checkpoint.save(state_path, state)
    finally:
        rejects.close()
    report.seconds = time.perf_counter() - started
    return report


def _units(
    sources: list[Source], state: checkpoint.Checkpoint, chunk_size: int
) -> Iterator[list[Item] | _RequestBundle | _Unreadable]:
    """Chunks of items to prepare, with request Bundles and unreadable files in file order."""
    buffer: list[Item] = []
    offset = 0
    for source in sources:
        end = offset + source.size
        if source.is_ndjson:
            for position, line in ndjson_lines(source, offset):
                if state.covers(position.source, position.item):
                    continue
                buffer.append((position, line))
                if len(buffer) >= chunk_size:
                    yield buffer
                    buffer = []
        elif not state.covers(source.index, 0):
            try:
                document = read_json(source)
            except OperationOutcomeError as exc:
                yield _Unreadable(Position(source.index, 0, end), exc.to_fhir())
                offset = end
                continue
            if is_request_bundle(document):
                if buffer:
                    yield buffer
                    buffer = []
                yield _RequestBundle(Position(source.index, 0, end), document)
            else:
                for number, body in bundle_resources(document):
                    buffer.append((Position(source.index, number, end), body))
                    if len(buffer) >= chunk_size:
                        yield buffer
                        buffer = []
        offset = end
    if buffer:
        yield buffer


def _write_chunk(
    repo: Repository,
    chunk: PreparedChunk,
    report: ImportReport,
    rejects: RejectsFile,
    names: dict[int, str],
) -> Position:
    counts = repo.write_prepared(chunk)
    report.created += counts.created
    report.updated += counts.updated
    report.unchanged += counts.unchanged
    for item in chunk.rejected:
        _reject(report, rejects, names, item.position, item.outcome)
    last: Position = chunk.items[-1].position
    return last


def _run_bundle(
    repo: Repository,
    unit: _RequestBundle,
    report: ImportReport,
    rejects: RejectsFile,
    names: dict[int, str],
) -> int:
    entries = unit.document.get("entry") or []
    try:
        response = process_bundle(repo, unit.document, "")
    except OperationOutcomeError as exc:
        _reject(report, rejects, names, unit.position, exc.to_fhir())
        return len(entries) if isinstance(entries, list) else 1
    report.bundles += 1
    requests = entries if isinstance(entries, list) else []
    for number, entry in enumerate(response.get("entry") or []):
        status = str((entry.get("response") or {}).get("status", ""))
        request = requests[number].get("request") if number < len(requests) else None
        method = request.get("method") if isinstance(request, dict) else None
        if status.startswith("201"):
            report.created += 1
        elif status.startswith(("4", "5")):
            where = Position(unit.position.source, number, unit.position.bytes_done)
            outcome = entry["response"].get("outcome") or {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "processing", "diagnostics": status}],
            }
            _reject(report, rejects, names, where, outcome)
        elif method in ("PUT", "PATCH", "POST") and status.startswith("200"):
            report.updated += 1
    return len(response.get("entry") or [])


def _reject(
    report: ImportReport,
    rejects: RejectsFile,
    names: dict[int, str],
    position: Position,
    outcome: dict[str, Any],
) -> None:
    name = names[position.source]
    report.rejected += 1
    report.by_source_rejected[name] = report.by_source_rejected.get(name, 0) + 1
    rejects.add(f"{name}:{position.item}", outcome)
