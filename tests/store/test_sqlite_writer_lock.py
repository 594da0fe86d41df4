"""The advisory writer lock that hands SQLite's write lock from one server process to the
next (countyhealth.store.sqlite_writer_lock)."""

from __future__ import annotations

import multiprocessing
import secrets
from pathlib import Path

from countyhealth.config import Settings
from countyhealth.store import Store, migrate
from countyhealth.store.sqlite_writer_lock import WriterLock


def _hold(path: str, held: object, release: object) -> None:
    lock = WriterLock(Path(path), 5.0)
    assert lock.acquire()
    held.set()  # type: ignore[attr-defined]
    release.wait(10)  # type: ignore[attr-defined]
    lock.release()


def test_another_process_waits_until_the_lock_is_released(tmp_path: Path) -> None:
    path = tmp_path / "db.writer-lock"
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold, args=(str(path), held, release))
    child.start()
    try:
        assert held.wait(30)
        waiting = WriterLock(path, 0.05)
        assert waiting.acquire() is False  # gives up after its timeout, holding nothing
        release.set()
        child.join(30)
        assert WriterLock(path, 5.0).acquire() is True
    finally:
        release.set()
        child.join(30)


def test_the_store_holds_it_while_its_write_connection_is_out(tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        secret_key=secrets.token_urlsafe(48),
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        audit_spool_dir=str(tmp_path / "spool"),
    )
    migrate(settings)
    store = Store.open(settings)
    other = WriterLock(tmp_path / "db.sqlite.writer-lock", 0.02)
    try:
        with store.engines.write.connect():
            assert other.acquire() is False
        assert other.acquire() is True
        other.release()
        with store.engines.read.connect():  # readers do not take it
            assert other.acquire() is True
            other.release()
    finally:
        store.close()
