"""Seeding a database with a synthetic county, and the report of what was written.

Chunks take the import path (:meth:`Repository.write_prepared`): each resource is validated
against the R4 definitions, indexed and audited like any client's write, and a chunk commits
all or nothing. With ``parallel=True`` the next chunks are generated in a second process
meanwhile, and with ``workers`` they are validated and indexed in worker processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..store.ingest_pool import Preparer
from ..store.ingest_prepare import Item, PreparedChunk
from .ground_truth import GroundTruth
from .options import SeedOptions
from .pipeline import Chunk, Finished, chunks_from_child, chunks_in_process

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import Repository

Progress = Callable[[int, int], None]  # (residents written, resources written)


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What a seeding run wrote."""

    residents: int
    resources: int
    by_type: dict[str, int]
    hashes: dict[str, str]
    seconds: float
    ground_truth: Path | None
    truth: dict[str, Any]


def default_ground_truth_path(settings: Settings, options: SeedOptions) -> Path:
    """Beside the SQLite database file; under ``data/`` for other backends."""
    db = settings.sqlite_path()
    folder = db.parent if db is not None else Path("data")
    stem = db.stem if db is not None else "countyhealth"
    return folder / f"{stem}.ground-truth.seed{options.seed}.json"


def seed_county(
    repo: Repository | None,
    options: SeedOptions,
    *,
    ground_truth: Path | None = None,
    progress: Progress | None = None,
    parallel: bool = False,
    workers: int = 0,
) -> SeedReport:
    """Generate the county for ``options`` and write it through ``repo``.

    Args:
        repo: the Repository to write to (``None`` generates without writing, for tests and
            benchmarks of the generator alone).
        options: what to generate.
        ground_truth: where to write the ground-truth JSON (not written when ``None``).
        progress: called after every chunk with (residents written, resources written).
        parallel: generate in a second process while this one writes.
        workers: processes that validate and index the resources while this one writes
            (0: this process does it).
    """
    started = time.perf_counter()
    source = chunks_from_child(options) if parallel else chunks_in_process(options)
    written = residents = 0
    finished: Finished | None = None
    for unit in _written(repo, source, workers):
        if isinstance(unit, _Generated):
            written += unit.resources
            residents += unit.residents
            if progress is not None:
                progress(residents, written)
        else:
            finished = unit
    assert finished is not None
    if ground_truth is not None:
        ground_truth.parent.mkdir(parents=True, exist_ok=True)
        ground_truth.write_bytes(orjson.dumps(finished.truth, option=orjson.OPT_INDENT_2))
    return SeedReport(
        residents=residents,
        resources=written,
        by_type=finished.counts,
        hashes=finished.hashes,
        seconds=time.perf_counter() - started,
        ground_truth=ground_truth,
        truth=finished.truth,
    )


@dataclass(frozen=True, slots=True)
class _Generated:
    residents: int
    resources: int


def _written(
    repo: Repository | None, source: Iterator[Chunk | Finished], workers: int
) -> Iterator[_Generated | Finished]:
    """Write the chunks of ``source`` (prepared in ``workers`` processes), in order."""

    def units() -> Iterator[list[Item] | _Generated | Finished]:
        for item in source:
            if isinstance(item, Chunk):
                if repo is not None and item.resources:
                    yield [(None, r) for r in item.resources]
                yield _Generated(item.residents, len(item.resources))
            else:
                yield item

    if repo is None:
        yield from (u for u in units() if not isinstance(u, list))
        return
    with Preparer(workers) as preparer:
        for unit in preparer.prepare(units(), repo.store.clock.now_us):
            if isinstance(unit, PreparedChunk):
                counts = repo.write_prepared(unit)
                if counts.rejected:
                    outcome = unit.rejected[0].outcome
                    raise RuntimeError(f"the generator wrote an invalid resource: {outcome}")
            elif isinstance(unit, _Generated | Finished):
                yield unit


def generate_resources(options: SeedOptions) -> tuple[list[dict[str, Any]], GroundTruth]:
    """The whole county in memory (small counties only: tests and inspection)."""
    from .county import generate

    truth = GroundTruth(options)
    out: list[dict[str, Any]] = []
    for batch in generate(options, truth):
        out.extend(batch.resources)
    return out, truth
