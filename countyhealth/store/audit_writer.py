"""Durable, batched writing of AuditEvents for reads and failed interactions.

A request appends its AuditEvent to this process's spool file (one JSON line, one ``write``
system call) before it is answered; a background thread moves spooled events into the database
in batches. The spool survives a crash of the process (the data is in the kernel once
``write`` returns, the same guarantee as SQLite's WAL with ``synchronous=NORMAL``); set
``COUNTYHEALTH_AUDIT_SPOOL_FSYNC`` to survive power loss as well, at a cost per request.

Each live process holds an exclusive ``flock`` on its spool file. When a store opens, it
ingests every spool file whose owner is gone (a crashed or killed worker), skipping events that
already reached the database, then deletes the file — so no answered interaction is missing
from the audit trail.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import orjson
from psycopg import DataError as DriverDataError
from sqlalchemy import Connection, select
from sqlalchemy.exc import DataError as StatementDataError

from .audit import audit_versions
from .rows import IndexExtractor, index_tuples, insert_new_resources
from .schema import resource

log = logging.getLogger(__name__)

_ROTATE_BYTES = 16 * 1024 * 1024
#: What the database (or its driver, for rows sent by COPY) raises for a value it cannot hold;
#: retrying the same events would fail the same way.
DataError = (StatementDataError, DriverDataError)
#: Where events the database refuses are kept (next to the spool files) for an operator.
REJECTED_FILE = "rejected-audit.ndjson"


class AuditWriter:
    """Spool-then-batch writer of AuditEvents for one process."""

    def __init__(
        self,
        begin_write: Callable[[], AbstractContextManager[Connection]],
        extract: IndexExtractor,
        now_us: Callable[[], int],
        spool_dir: Path,
        *,
        batch_size: int = 500,
        flush_ms: float = 2.0,
        fsync: bool = False,
    ) -> None:
        self._begin_write = begin_write
        self._extract = extract
        self._now_us = now_us
        self._dir = spool_dir
        self._batch_size = batch_size
        self._flush_s = flush_ms / 1000
        self._fsync = fsync
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._path: Path | None = None
        self._pending = 0  # events spooled and not yet committed
        self._idle = threading.Condition(self._lock)
        self._pid = os.getpid()

    # ------------------------------------------------------------------ requests

    def record(self, events: list[dict[str, Any]]) -> None:
        """Make ``events`` durable in the spool and queue them for the database."""
        if not events:
            return
        data = b"".join(orjson.dumps(e) + b"\n" for e in events)
        with self._lock:
            fd = self._spool_fd()
            self._pending += len(events)
            self._ensure_thread()
        # One write() on an O_APPEND file: concurrent appends do not interleave on Linux, so
        # the lock is not held across the system call.
        os.write(fd, data)
        if self._fsync:
            os.fsync(fd)
        self._queue.put(events)

    def write_now(self, conn: Connection, events: list[dict[str, Any]]) -> None:
        """Insert events inside the caller's open write transaction (successful writes)."""
        if events:
            insert_new_resources(conn, audit_versions(events, self._now_us()), self._extract)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every recorded event is in the database (tests, shutdown, CLI)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self._pending} audit events not yet written")
                self._idle.wait(remaining)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            if self._fd is not None and self._pending == 0 and self._path is not None:
                os.close(self._fd)
                self._path.unlink(missing_ok=True)
                self._fd = None

    # ------------------------------------------------------------------ recovery

    def recover(self) -> int:
        """Ingest spool files left by processes that are gone; returns the events recovered."""
        if not self._dir.exists():
            return 0
        recovered = 0
        for path in sorted(self._dir.glob("audit-*.jsonl")):
            if path == self._path:
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process is alive and owns it
                events = list(_read_events(path))
                for start in range(0, len(events), self._batch_size):
                    recovered += self._ingest_missing(events[start : start + self._batch_size])
                path.unlink(missing_ok=True)
            finally:
                os.close(fd)
        if recovered:
            log.warning(
                "recovered %d audit events from spool files of stopped processes", recovered
            )
        return recovered

    def _ingest_missing(self, events: list[dict[str, Any]]) -> int:
        try:
            return self._ingest_missing_batch(events)
        except DataError:
            if len(events) == 1:
                self._set_aside(events[0], "refused while recovering a spool file")
                return 0
            return sum(self._ingest_missing([e]) for e in events)

    def _ingest_missing_batch(self, events: list[dict[str, Any]]) -> int:
        with self._begin_write() as conn:
            ids = [e["id"] for e in events]
            present = set(
                conn.execute(
                    select(resource.c.res_id).where(
                        resource.c.res_type == "AuditEvent", resource.c.res_id.in_(ids)
                    )
                ).scalars()
            )
            missing = [e for e in events if e["id"] not in present]
            self.write_now(conn, missing)
        return len(missing)

    # ------------------------------------------------------------------ internals

    def _spool_fd(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._dir.mkdir(parents=True, exist_ok=True)
            self._pid = os.getpid()
            self._path = self._dir / f"audit-{self._pid}-{uuid.uuid4().hex[:8]}.jsonl"
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return self._fd

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    def _batches(self) -> Iterator[list[dict[str, Any]] | None]:
        while True:
            first = self._queue.get()
            if first is None:
                yield None
                return
            batch = list(first)
            deadline = time.monotonic() + self._flush_s
            while len(batch) < self._batch_size:
                remaining = deadline - time.monotonic()
                try:
                    nxt = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else (self._queue.get_nowait())
                    )
                except queue.Empty:
                    break
                if nxt is None:
                    yield batch
                    yield None
                    return
                batch.extend(nxt)
            yield batch

    def _run(self) -> None:
        for batch in self._batches():
            if batch is None:
                return
            self._commit(batch)

    def _commit(self, events: list[dict[str, Any]]) -> None:
        # stamped and indexed before the write lock is taken, which every request that writes
        # waits for: the lock is held for the inserts only
        versions = audit_versions(events, self._now_us())
        index = [index_tuples(self._extract, v.parsed) for v in versions if v.parsed is not None]
        attempt = 0
        while True:
            try:
                with self._begin_write() as conn:
                    insert_new_resources(conn, versions, self._extract, index)
                break
            except DataError:
                # The database refuses something inside an event (not a passing fault):
                # retrying the batch would block the writer for ever. Write the events one
                # by one and set aside the ones refused.
                self._commit_one_by_one(events)
                break
            except Exception as exc:  # the events stay in the spool; keep trying
                attempt += 1
                log.warning(
                    "writing %d audit events failed (attempt %d): %s", len(events), attempt, exc
                )
                time.sleep(min(5.0, 0.05 * attempt))
        with self._idle:
            self._pending -= len(events)
            if self._pending == 0:
                self._rotate_if_large()
                self._idle.notify_all()

    def _commit_one_by_one(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            try:
                with self._begin_write() as conn:
                    self.write_now(conn, [event])
            except DataError as exc:
                self._set_aside(event, exc)

    def _set_aside(self, event: dict[str, Any], exc: Exception | str) -> None:
        """Keep an event the database refused in ``rejected-audit.ndjson`` and log it loudly."""
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / REJECTED_FILE
        with path.open("ab") as f:
            f.write(orjson.dumps(event) + b"\n")
        log.error(
            "AuditEvent %s refused by the database, kept in %s: %s", event.get("id"), path, exc
        )

    def _rotate_if_large(self) -> None:
        """Empty the spool file once everything in it is committed and it has grown large."""
        if self._fd is not None and os.fstat(self._fd).st_size > _ROTATE_BYTES:
            os.ftruncate(self._fd, 0)


def _read_events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as f:
        for line in f:
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a line cut short by the crash was never acknowledged
            if isinstance(event, dict) and isinstance(event.get("id"), str):
                yield event
