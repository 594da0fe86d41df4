"""Prompt hand-over of SQLite's write lock between server processes.

SQLite lets one connection write at a time. A process that finds the database locked retries
after sleeping 1, 2, 5, 10, 15, 20, 25 … ms (the default busy handler, which Python's sqlite3
offers no way to replace), so with several worker processes a writer often sleeps long after
the lock was released: under a booking crowd two workers wrote no faster than one.

Each process therefore takes an advisory ``flock`` on ``<database>.writer-lock`` while it holds
its (single) write connection, from pool check-out to check-in. The kernel hands a released
lock to the next waiter at once. Waiting polls every :data:`POLL_S` without holding the GIL;
after the busy timeout it gives up and lets SQLite's own locking decide, so a lock that was
somehow never returned costs speed, never correctness or liveness. The lock is only advisory:
SQLite still serialises writers itself. The file descriptor is opened per process (a forked
worker must not share its parent's lock).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

#: how often a waiting writer looks again
POLL_S = 0.0002


class WriterLock:
    """An exclusive ``flock`` on one file, per process, with a timeout."""

    def __init__(self, path: Path, timeout_s: float) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._fd: int | None = None
        self._pid = -1
        self._held = False
        self._guard = threading.Lock()

    def _descriptor(self) -> int:
        with self._guard:
            if self._fd is None or self._pid != os.getpid():
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            return self._fd

    def acquire(self) -> bool:
        """Take the lock; False when it could not be had within the timeout."""
        fd = self._descriptor()
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL_S)
                continue
            self._held = True
            return True

    def release(self) -> None:
        if self._held and self._fd is not None and self._pid == os.getpid():
            self._held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def serialise_writers(engine: Engine, database: Path, timeout_s: float) -> WriterLock:
    """Hold the writer lock of ``database`` while ``engine``'s connection is checked out."""
    lock = WriterLock(database.with_name(database.name + ".writer-lock"), timeout_s)

    @event.listens_for(engine, "checkout")
    def _take(_dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        lock.acquire()

    @event.listens_for(engine, "checkin")
    def _give(_dbapi_conn: Any, _record: Any) -> None:
        lock.release()

    return lock
