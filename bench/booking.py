"""Booking flash crowd: 2,000 residents try to book 200 slots released at once.

Runs the server as in production (``countyhealth serve --workers N``) on SQLite and on a
throwaway PostgreSQL cluster; every client holds its own connection and its own resident token
and sends one ``POST /fhir/Appointment/$book`` when the slots open (client ``i`` aims at slot
``i % 200``, so each slot draws ten). Then counts in the database. Before the crowd, the same
crowd asks ``GET /healthz`` (baseline: what the machine and the client alone cost).

Prints one JSON line per backend. Exit status 1 when a slot went to two people, a slot was
left free, or a loser got anything but 409 CH-9101. Targets: ≥ 1,000 attempts/s, p99 ≤ 500 ms.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.loadgen import percentile_ms
from countyhealth.config import Settings
from countyhealth.store import migrate
from tests.support.booking_race import (
    book_crowd,
    bookings_in_database,
    healthz_crowd,
    prepare,
    raise_file_limit,
)
from tests.support.postgres import Cluster, missing_reason
from tests.support.server import ServerProcess


def run(backend: str, database_url: str, args: argparse.Namespace, folder: Path) -> bool:
    settings = Settings(
        environment="production",
        secret_key=secrets.token_urlsafe(48),
        database_url=database_url,
        audit_spool_dir=str(folder / f"spool-{backend}"),
    )
    migrate(settings)
    attempts = prepare(settings, args.clients, args.slots)
    server = ServerProcess(
        {
            "COUNTYHEALTH_ENVIRONMENT": "production",
            "COUNTYHEALTH_SECRET_KEY": settings.secret_key,
            "COUNTYHEALTH_DATABASE_URL": database_url,
            "COUNTYHEALTH_AUDIT_SPOOL_DIR": settings.audit_spool_dir,
            "COUNTYHEALTH_LOG_LEVEL": "warning",
            "COUNTYHEALTH_DB_POOL_SIZE": "20",
        },
        workers=args.workers,
    )
    server.start()
    try:
        baseline = healthz_crowd("127.0.0.1", server.port, args.clients)
        crowd = book_crowd("127.0.0.1", server.port, attempts)
    finally:
        server.stop()
    counts = bookings_in_database(settings)
    statuses = Counter(o.status for o in crowd.outcomes)
    losers = [o for o in crowd.outcomes if o.status != 201]
    other = Counter(
        f"{o.status} {o.code}" for o in losers if (o.status, o.code) != (409, "CH-9101")
    )
    latencies = [o.latency_ns for o in crowd.outcomes]
    line = {
        "bench": "booking",
        "backend": backend,
        "workers": args.workers,
        "clients": args.clients,
        "slots": args.slots,
        "booked": counts["booked"],
        "double_booked": counts["double_booked"],
        "patients_with_two": counts["patients_with_two"],
        "answered_201": statuses.get(201, 0),
        "losers_409": sum(1 for o in losers if (o.status, o.code) == (409, "CH-9101")),
        "other_status": dict(other),
        "attempts_per_s": round(len(crowd.outcomes) / crowd.seconds, 1),
        "seconds": round(crowd.seconds, 2),
        "p50_ms": round(percentile_ms(latencies, 50), 1),
        "p99_ms": round(percentile_ms(latencies, 99), 1),
        "baseline_healthz_per_s": round(len(baseline.outcomes) / baseline.seconds, 1),
        "baseline_healthz_p99_ms": round(
            percentile_ms([o.latency_ns for o in baseline.outcomes], 99), 1
        ),
    }
    print(json.dumps(line), flush=True)
    return (
        counts["booked"] == args.slots
        and counts["double_booked"] == 0
        and counts["patients_with_two"] == 0
        and not other
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    raise_file_limit(4 * args.clients + 100)
    folder = Path(tempfile.mkdtemp(prefix="countyhealth-booking-"))
    ok = True
    if args.backend in ("sqlite", "both"):
        ok &= run("sqlite", f"sqlite:///{folder / 'booking.db'}", args, folder)
    if args.backend in ("postgresql", "both"):
        reason = missing_reason()
        if reason is not None:
            print(json.dumps({"bench": "booking", "backend": "postgresql", "skipped": reason}))
        else:
            cluster = Cluster()
            cluster.start()
            try:
                ok &= run("postgresql", cluster.url(), args, folder)
            finally:
                cluster.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
