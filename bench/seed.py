"""Seeding benchmark: write a synthetic county through the Repository and time it.

Migrates a fresh SQLite database (or the PostgreSQL database given), then runs what
``countyhealth seed`` runs: generation in a helper process, chunks written with
``Repository.put_many`` (validated, indexed and audited). Prints one JSON line with the
residents, resources, wall time, throughput, and the peak resident memory of the writing
process and of the generator process.

    .venv/bin/python bench/seed.py [--residents 20000] [--seed 1] [--years 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from countyhealth.config import Settings
from countyhealth.store import Store, migrate, system_caller
from countyhealth.synthetic import SeedOptions, seed_county


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", default="2025-01-01")
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--in-process", action="store_true", help="no helper processes")
    parser.add_argument("--workers", type=int, default=2, help="validating/indexing processes")
    parser.add_argument(
        "--trace", action="store_true", help="print throughput at every tenth of the residents"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL to use instead of a fresh SQLite file"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="countyhealth-seed-"))
    settings = Settings(
        environment="test",
        secret_key=secrets.token_urlsafe(48),
        database_url=args.database_url or f"sqlite:///{tmp / 'seed.db'}",
        audit_spool_dir=str(tmp / "audit-spool"),
    )
    migrate(settings)
    options = SeedOptions(
        residents=args.residents,
        seed=args.seed,
        start=date.fromisoformat(args.start),
        years=args.years,
        chunk_size=args.chunk_size,
    )
    started = time.perf_counter()
    marks = iter(range(1, 11))
    mark = next(marks)
    last = (started, 0)

    def trace(residents: int, resources: int) -> None:
        nonlocal mark, last
        if not args.trace or residents < mark * args.residents / 10:
            return
        now = time.perf_counter()
        rate = (resources - last[1]) / max(now - last[0], 1e-9)
        print(
            f"{mark * 10:3d}% {resources:>10,} resources {now - started:7.1f} s {rate:7.0f}/s",
            file=sys.stderr,
        )
        last = (now, resources)
        mark = next(marks, 11)

    store = Store.open(settings)
    try:
        report = seed_county(
            store.repository(system_caller("bench")),
            options,
            ground_truth=tmp / "ground-truth.json",
            progress=trace,
            parallel=not args.in_process,
            workers=0 if args.in_process else args.workers,
        )
    finally:
        store.close()
    db = settings.sqlite_path()
    size = round(db.stat().st_size / 2**20) if db and db.exists() else None
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        json.dumps(
            {
                "bench": "seed",
                "backend": "postgresql" if args.database_url else "sqlite",
                "residents": report.residents,
                "years": args.years,
                "resources": report.resources,
                "seconds": round(report.seconds, 1),
                "resources_per_s": round(report.resources / report.seconds),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "child_peak_rss_mb": round(  # the largest of the generator and the workers
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                ),
                "database_mb": size,
            }
        )
    )


if __name__ == "__main__":
    main()
