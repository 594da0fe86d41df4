"""Read benchmark: GET Patient and Observation by id over HTTP, as in production.

Starts the server with production settings (authentication on, an AuditEvent committed for
every read), loads patients and observations, then drives GETs by id from a closed-loop client
on the same machine. A baseline (``GET /healthz``: one database round trip, no token, no audit)
is measured in the same run. Prints one JSON line.

    .venv/bin/python bench/read.py [--patients 2000] [--seconds 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import LoadResult, build_get, run_load, run_wrk
from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.store import Store, migrate, system_caller
from tests.support.server import ServerProcess


def load(settings: Settings, patients: int, per_patient: int) -> list[str]:
    store = Store.open(settings)
    repo = store.repository(system_caller("bench"))
    rng = random.Random(7)
    paths = []
    try:
        for i in range(patients):
            pid = f"bench-p{i}"
            repo.update(
                "Patient",
                pid,
                {
                    "resourceType": "Patient",
                    "id": pid,
                    "gender": rng.choice(["male", "female"]),
                    "birthDate": f"{rng.randint(1930, 2020)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    "name": [{"family": "王", "given": [f"测试{i}"]}],
                },
            )
            paths.append(f"/fhir/Patient/{pid}")
            for k in range(per_patient):
                oid = f"bench-o{i}-{k}"
                repo.update(
                    "Observation",
                    oid,
                    {
                        "resourceType": "Observation",
                        "id": oid,
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                        "subject": {"reference": f"Patient/{pid}"},
                        "effectiveDateTime": "2026-01-02T08:00:00+08:00",
                        "valueQuantity": {
                            "value": rng.randint(100, 180),
                            "unit": "mmHg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mm[Hg]",
                        },
                    },
                )
                paths.append(f"/fhir/Observation/{oid}")
    finally:
        store.close()
    rng.shuffle(paths)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--observations-per-patient", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--loadgen",
        choices=["python", "wrk"],
        default="python",
        help="the built-in Python client (default) or wrk, if installed",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL to use instead of a fresh SQLite file"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="countyhealth-bench-"))
    settings = Settings(
        environment="production",
        secret_key=secrets.token_urlsafe(48),
        database_url=args.database_url or f"sqlite:///{tmp / 'bench.db'}",
    )
    migrate(settings)
    paths = load(settings, args.patients, args.observations_per_patient)
    token = issue_token(settings, "bench-client", "system/*.rs")
    server = ServerProcess(
        {
            "COUNTYHEALTH_ENVIRONMENT": "production",
            "COUNTYHEALTH_SECRET_KEY": settings.secret_key,
            "COUNTYHEALTH_DATABASE_URL": settings.database_url,
            "COUNTYHEALTH_LOG_LEVEL": "warning",
        },
        workers=args.workers,
    )
    server.start()
    try:
        host, port = "127.0.0.1", server.port
        auth = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}

        def drive(targets: list[str], headers: dict[str, str], seconds: float) -> LoadResult:
            if args.loadgen == "wrk":
                return run_wrk(
                    host, port, targets, headers, connections=args.connections, seconds=seconds
                )
            raw = [build_get(host, port, p, headers) for p in targets]
            return run_load(host, port, raw, connections=args.connections, seconds=seconds)

        drive(paths, auth, 2)  # warm-up
        baseline = drive(["/healthz"], {}, args.seconds / 2)
        result = drive(paths, auth, args.seconds)
    finally:
        server.stop()
    if result.errors:
        print(f"{result.errors} requests failed: {result.statuses}", file=sys.stderr)
    print(
        json.dumps(
            {
                "bench": "read",
                "backend": "postgresql" if args.database_url else "sqlite",
                "resources": len(paths),
                "requests": result.requests,
                "errors": result.errors,
                "req_per_s": round(result.req_per_s, 1),
                "p50_ms": round(result.percentile_ms(50), 2),
                "p99_ms": round(result.percentile_ms(99), 2),
                "workers": args.workers,
                "connections": args.connections,
                "loadgen": args.loadgen,
                "baseline_healthz_req_per_s": round(baseline.req_per_s, 1),
                "baseline_healthz_p99_ms": round(baseline.percentile_ms(99), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
