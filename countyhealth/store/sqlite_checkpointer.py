"""Checkpoints of SQLite's write-ahead log, run by a background thread instead of by writers.

In WAL mode a commit only appends pages to the ``-wal`` file; a checkpoint later copies them
into the database file and syncs it (https://sqlite.org/wal.html#checkpointing). By default
SQLite runs that checkpoint inside the commit that takes the log over 1,000 pages
(https://sqlite.org/c3ref/wal_autocheckpoint.html), so about one booking in ten pays for
copying and syncing a thousand pages, and holds this process's writer lock
(:mod:`.sqlite_writer_lock`) meanwhile: under a booking crowd the other writers queue behind
it. Here the write connections turn automatic checkpoints off (``PRAGMA
wal_autocheckpoint=0``) and one thread per process checkpoints every
``COUNTYHEALTH_SQLITE_CHECKPOINT_MS`` in PASSIVE mode, which never waits for readers or
writers and calls no busy handler (https://sqlite.org/c3ref/wal_checkpoint_v2.html): commits keep appending while it
copies. With several processes each runs one; a checkpoint that finds another one running
is simply skipped. Closing the store runs a last checkpoint.

Durability is unchanged: with ``synchronous=NORMAL`` a commit is durable against a crash of
the process once it returns, and a checkpoint only moves committed pages.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """What ``PRAGMA wal_checkpoint(PASSIVE)`` reported."""

    #: another connection was checkpointing, or a writer held a lock the copy needed
    busy: bool
    #: frames in the write-ahead log
    wal_frames: int
    #: of those, frames now copied into the database file
    checkpointed: int


class WalCheckpointer:
    """One background thread that checkpoints one SQLite database every ``interval_s``."""

    def __init__(self, database: Path, interval_s: float) -> None:
        self.database = database
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._thread.start()

    def checkpoint(self) -> CheckpointResult | None:
        """Checkpoint now; None when the database could not be opened or asked."""
        with self._guard:
            try:
                if self._conn is None:
                    self._conn = sqlite3.connect(  # mode=rw: never create a missing file
                        self.database.resolve().as_uri() + "?mode=rw",
                        uri=True,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                busy, frames, done = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:  # a passing fault: the next round tries again
                log.debug("checkpoint of %s failed: %s", self.database, exc)
                return None
        return CheckpointResult(bool(busy), int(frames), int(done))

    def close(self) -> None:
        """Stop the thread after a last checkpoint, and close its connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.checkpoint()
        with self._guard:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.checkpoint()


def start_checkpointer(database: Path | None, interval_ms: float) -> WalCheckpointer | None:
    """A running checkpointer for an SQLite ``database``; None for another backend, or when
    ``interval_ms`` is 0 (SQLite's automatic checkpoints stay on)."""
    if database is None or interval_ms <= 0:
        return None
    checkpointer = WalCheckpointer(database, interval_ms / 1000)
    checkpointer.start()
    return checkpointer
