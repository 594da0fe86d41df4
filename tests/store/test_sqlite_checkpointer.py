"""Checkpoints of SQLite's write-ahead log by a background thread, not by commits
(countyhealth.store.sqlite_checkpointer)."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from countyhealth.config import Settings
from countyhealth.store import Store
from countyhealth.store.sqlite_checkpointer import CheckpointResult, WalCheckpointer
from tests.conftest import make_settings

#: pages of 4 KiB written by :func:`_write_pages`, well over SQLite's automatic threshold (1,000)
PAGES = 3000


def _open(tmp_path: Path, request: pytest.FixtureRequest, every_ms: float) -> Store:
    return Store.open(make_settings("sqlite", tmp_path, request, sqlite_checkpoint_ms=every_ms))


def _write_pages(store: Store) -> None:
    """About :data:`PAGES` pages, in 30 commits, through the store's write connection."""
    with store.engines.write.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (data BLOB)")
    for _ in range(30):
        with store.engines.write.begin() as conn:
            conn.exec_driver_sql("INSERT INTO scratch VALUES (?)", [(b"x" * 4000,)] * (PAGES // 30))


def _autocheckpoint(store: Store) -> int:
    with store.engines.write.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_commits_leave_the_log_to_the_checkpointer(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = _open(tmp_path, request, every_ms=3_600_000)  # the thread does not come round
    try:
        assert store.checkpointer is not None
        assert _autocheckpoint(store) == 0
        _write_pages(store)
        result = store.checkpointer.checkpoint()
        assert result is not None
        # every page is still in the log: no commit checkpointed it (with SQLite's automatic
        # checkpoints the log restarts after 1,000 pages) — and now all of them are copied
        assert result.wal_frames >= PAGES
        assert result.checkpointed == result.wal_frames
        assert not result.busy
    finally:
        store.close()


def test_the_thread_checkpoints_by_itself(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store = _open(tmp_path, request, every_ms=10)
    checkpointer = store.checkpointer
    assert checkpointer is not None
    seen: list[CheckpointResult | None] = []
    own = checkpointer.checkpoint

    def recorded() -> CheckpointResult | None:
        result = own()
        seen.append(result)
        return result

    checkpointer.checkpoint = recorded  # type: ignore[method-assign]
    try:
        _write_pages(store)
        deadline = time.monotonic() + 30  # one round of the thread is 10 ms
        while not any(r is not None and r.checkpointed >= PAGES for r in seen):
            assert time.monotonic() < deadline, "the thread never checkpointed the log"
            time.sleep(0.01)
    finally:
        store.close()


def test_zero_keeps_sqlite_automatic_checkpoints(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = _open(tmp_path, request, every_ms=0)
    try:
        assert store.checkpointer is None
        assert _autocheckpoint(store) == 1000
        _write_pages(store)
        with closing(sqlite3.connect(store.settings.sqlite_path() or "")) as conn:
            frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        assert frames < PAGES  # the commits checkpointed and the log restarted
    finally:
        store.close()


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    checkpointer = WalCheckpointer(tmp_path / "gone.db", 3600)
    assert checkpointer.checkpoint() is None
    checkpointer.close()
    assert not (tmp_path / "gone.db").exists()


def test_only_sqlite_has_one(settings: Settings, store: Store) -> None:
    assert (store.checkpointer is not None) == settings.is_sqlite
