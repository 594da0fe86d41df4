"""Preparing chunks in worker processes while the writing process inserts.

Validation and index extraction (:mod:`.ingest_prepare`) cost several times what inserting
the prepared rows costs, and they need no database, so an import hands chunks to a pool of
worker processes and writes their results in input order, a few chunks behind. Workers are
fresh interpreters (``spawn``): the writing process runs threads (the audit writer), which a
``fork`` would copy in an undefined state. Each worker installs the server's custom
SearchParameters, so that its index rows are the ones a single write would produce.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from ..fhir.search_params import custom_parameters, set_custom_parameters
from .ingest_prepare import Item, PreparedChunk, prepare_chunk

T = TypeVar("T")


def _start_worker(custom: list[dict[str, Any]]) -> None:
    set_custom_parameters(custom)
    # load the definitions now rather than inside the first chunk, then keep the collector
    # off them: preparing makes many short-lived acyclic objects, and with the default
    # thresholds the collector would keep walking the definitions
    prepare_chunk([(None, {"resourceType": "Basic", "code": {"text": "warm-up"}})], 0)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class Preparer:
    """Prepares chunks in order: in ``workers`` processes, or in this one when ``workers`` is 0."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._thresholds: tuple[int, int, int] | None = None
        if workers > 0:
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(custom_parameters(),),
            )

    def prepare(
        self, units: Iterable[list[Item] | T], stamp: Callable[[], int]
    ) -> Iterator[PreparedChunk | T]:
        """Prepared chunks in input order; ``stamp`` gives each chunk its lastUpdated (µs).

        Units that are not chunks (lists) pass through unchanged, in their place in the
        order. At most two chunks per worker are in flight, so memory stays bounded however
        large the input.
        """
        if self._pool is None:
            for unit in units:
                yield prepare_chunk(unit, stamp()) if isinstance(unit, list) else unit
            return
        pending: deque[Future[PreparedChunk] | T] = deque()
        limit = 2 * self.workers
        for unit in units:
            if isinstance(unit, list):
                pending.append(self._pool.submit(prepare_chunk, unit, stamp()))
            else:
                pending.append(unit)
            while len(pending) >= limit:
                yield self._result(pending.popleft())
        while pending:
            yield self._result(pending.popleft())

    @staticmethod
    def _result(head: Future[PreparedChunk] | T) -> PreparedChunk | T:
        return head.result() if isinstance(head, Future) else head

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def __enter__(self) -> Preparer:
        # while chunks arrive, this process unpickles and drops hundreds of thousands of small
        # acyclic tuples a second; the default thresholds would run a collection every 700
        # of them (a third of the writing time). Restored on exit.
        self._thresholds = gc.get_threshold()
        gc.set_threshold(max(self._thresholds[0], 50_000), *self._thresholds[1:])
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
