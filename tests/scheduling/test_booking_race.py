"""The flash crowd, small: 200 residents at once for 20 slots, against the real server with two
worker processes, on SQLite and PostgreSQL. Counts only (speed is bench/booking.py's job).

Two moments of release: right after the server starts, and after the server has idled for
longer than a worker's search registry stays fresh (what happens at 08:00 in production: the
first searches of the crowd each want to refresh it)."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from countyhealth.config import Settings
from countyhealth.store import migrate
from countyhealth.store.search_state import REFRESH_S
from tests.support.booking_race import (
    CrowdResult,
    book_crowd,
    bookings_in_database,
    prepare,
    raise_file_limit,
)
from tests.support.server import ServerProcess

CLIENTS = 200
SLOTS = 20
#: the crowd is answered in about a second here; a request still open after this is stuck
#: (the server's database pool waits 30 s before it gives up), so the server is killed and the
#: unanswered requests count as status 0
ANSWER_WITHIN_S = 10.0


def race(settings: Settings, tmp_path: Path, idle_s: float) -> tuple[CrowdResult, dict[str, int]]:
    """Seed, serve with two workers, wait ``idle_s``, release the crowd; its answers and the
    bookings counted in the database."""
    raced = Settings(
        environment="production",
        secret_key=secrets.token_urlsafe(48),
        database_url=settings.database_url,
        audit_spool_dir=str(tmp_path / "spool"),
    )
    migrate(raced)
    attempts = prepare(raced, CLIENTS, SLOTS)
    raise_file_limit(4 * CLIENTS)
    server = ServerProcess(
        {
            "COUNTYHEALTH_ENVIRONMENT": "production",
            "COUNTYHEALTH_SECRET_KEY": raced.secret_key,
            "COUNTYHEALTH_DATABASE_URL": raced.database_url,
            "COUNTYHEALTH_AUDIT_SPOOL_DIR": str(tmp_path / "spool"),
            "COUNTYHEALTH_LOG_LEVEL": "warning",
        },
        workers=2,
    )
    server.start()
    try:
        time.sleep(idle_s)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(book_crowd, "127.0.0.1", server.port, attempts)
            try:
                crowd = pending.result(timeout=ANSWER_WITHIN_S)
            except TimeoutError:
                server.kill()
                crowd = pending.result()
    finally:
        server.stop()
    return crowd, bookings_in_database(raced)


def assert_one_winner_per_slot(crowd: CrowdResult, stored: dict[str, int]) -> None:
    answers = Counter((o.status, o.code) for o in crowd.outcomes)
    assert answers == {(201, ""): SLOTS, (409, "CH-9101"): CLIENTS - SLOTS}
    assert stored == {"booked": SLOTS, "double_booked": 0, "patients_with_two": 0}


def test_every_slot_goes_to_exactly_one_resident(settings: Settings, tmp_path: Path) -> None:
    crowd, stored = race(settings, tmp_path, idle_s=0)
    assert_one_winner_per_slot(crowd, stored)


def test_crowd_after_an_idle_spell(settings: Settings, tmp_path: Path) -> None:
    """The search registry's refresh falls due during the crowd: a transaction refreshes on
    its own connection and one thread at a time, so the pool is never exhausted."""
    crowd, stored = race(settings, tmp_path, idle_s=REFRESH_S + 0.5)
    assert_one_winner_per_slot(crowd, stored)
