"""Booking flash crowd: 2,000 residents try to book 200 slots released at once.

Runs the server as in production (``countyhealth serve --workers N``) on SQLite and on a
throwaway PostgreSQL cluster; every client holds its own connection and its own resident token
and sends one ``POST /fhir/Appointment/$book`` when the slots open (client ``i`` aims at slot
``i % 200``, so each slot draws ten). Then counts in the database. Before the crowd, the same
crowd asks ``GET /healthz`` (baseline: what the machine and the client alone cost).

Prints one JSON line per backend. Exit status 1 when a slot went to two people, a slot was
left free, a patient holds two, or a loser got anything but 409 CH-9101 (the server log is
then kept and named on stderr). Targets: ≥ 1,000 attempts/s, p99 ≤ 500 ms.

    .venv/bin/python bench/booking.py [--backend sqlite|postgresql|both] [--workers 2]
        [--clients 2000] [--slots 200] [--db-pool-size 20]
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import percentile_ms
from countyhealth.config import Settings
from countyhealth.store import migrate
from tests.support.booking_race import (
    CrowdResult,
    book_crowd,
    bookings_in_database,
    healthz_crowd,
    prepare,
    raise_file_limit,
)
from tests.support.postgres import Cluster, missing_reason
from tests.support.server import ServerProcess

#: the only answer a loser may get
LOSER = (409, "CH-9101")


def summary(
    backend: str,
    args: argparse.Namespace,
    counts: dict[str, int],
    crowd: CrowdResult,
    baseline: CrowdResult,
) -> dict[str, Any]:
    """The JSON line of one backend."""
    statuses = Counter(o.status for o in crowd.outcomes)
    losers = [o for o in crowd.outcomes if o.status != 201]
    other = Counter(f"{o.status} {o.code}" for o in losers if (o.status, o.code) != LOSER)
    latencies = [o.latency_ns for o in crowd.outcomes]
    return {
        "bench": "booking",
        "backend": backend,
        "workers": args.workers,
        "clients": args.clients,
        "slots": args.slots,
        "booked": counts["booked"],
        "double_booked": counts["double_booked"],
        "patients_with_two": counts["patients_with_two"],
        "answered_201": statuses.get(201, 0),
        "losers_409": sum(1 for o in losers if (o.status, o.code) == LOSER),
        "other_status": dict(other),
        "attempts_per_s": round(len(crowd.outcomes) / crowd.seconds, 1),
        "seconds": round(crowd.seconds, 2),
        "p50_ms": round(percentile_ms(latencies, 50), 1),
        "p99_ms": round(percentile_ms(latencies, 99), 1),
        "baseline_healthz_per_s": round(len(baseline.outcomes) / baseline.seconds, 1),
        "baseline_healthz_p99_ms": round(
            percentile_ms([o.latency_ns for o in baseline.outcomes], 99), 1
        ),
        "db_pool_size": args.db_pool_size,
    }


def run(backend: str, database_url: str, args: argparse.Namespace, folder: Path) -> bool:
    """One backend: seed, serve, baseline crowd, booking crowd, count; True when correct."""
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
            "COUNTYHEALTH_DB_POOL_SIZE": str(args.db_pool_size),
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
    line = summary(backend, args, counts, crowd, baseline)
    print(json.dumps(line), flush=True)
    ok = (
        counts["booked"] == args.slots
        and counts["double_booked"] == 0
        and counts["patients_with_two"] == 0
        and not line["other_status"]
    )
    if ok:
        server.log_path.unlink(missing_ok=True)
    else:
        print(f"{backend}: see the server log {server.log_path}", file=sys.stderr)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--db-pool-size",
        type=int,
        default=20,
        help="COUNTYHEALTH_DB_POOL_SIZE of the server (PostgreSQL; the setting's default is 10)",
    )
    args = parser.parse_args()
    raise_file_limit(4 * args.clients + 100)
    folder = Path(tempfile.mkdtemp(prefix="countyhealth-booking-"))
    ok = True
    try:
        if args.backend in ("sqlite", "both"):
            ok &= run("sqlite", f"sqlite:///{folder / 'booking.db'}", args, folder)
        if args.backend in ("postgresql", "both"):
            reason = missing_reason()
            if reason is not None:
                skipped = {"bench": "booking", "backend": "postgresql", "skipped": reason}
                print(json.dumps(skipped), flush=True)
            else:
                cluster = Cluster()
                cluster.start()
                try:
                    ok &= run("postgresql", cluster.url(), args, folder)
                finally:
                    cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
