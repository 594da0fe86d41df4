"""The flash crowd, small: 200 residents at once for 20 slots, against the real server with two
worker processes, on SQLite and PostgreSQL. Counts only (speed is bench/booking.py's job)."""

from __future__ import annotations

import secrets
from pathlib import Path

from countyhealth.config import Settings
from countyhealth.store import migrate
from tests.support.booking_race import (
    book_crowd,
    bookings_in_database,
    prepare,
    raise_file_limit,
)
from tests.support.server import ServerProcess

CLIENTS = 200
SLOTS = 20


def test_every_slot_goes_to_exactly_one_resident(settings: Settings, tmp_path: Path) -> None:
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
        crowd = book_crowd("127.0.0.1", server.port, attempts)
    finally:
        server.stop()
    statuses = [o.status for o in crowd.outcomes]
    assert statuses.count(201) == SLOTS
    losers = [o for o in crowd.outcomes if o.status != 201]
    assert {(o.status, o.code) for o in losers} == {(409, "CH-9101")}
    stored = bookings_in_database(raced)
    assert stored == {"booked": SLOTS, "double_booked": 0, "patients_with_two": 0}
