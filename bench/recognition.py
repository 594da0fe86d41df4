"""Recognition-check benchmark: how fast a clinician learns which results make an order unnecessary.

Builds (or reuses) a synthetic county seeded the way ``countyhealth seed`` seeds it (bench/seed.py:
generator process, 2 validating/indexing processes, chunks written through the Repository) in
``.cache/bench/recognition-<residents>.db``, with its ground truth beside it. The orders to check
are every repeated test of the ground truth (``repeat_tests``: the patient, the item's LOINC, the
institution that repeated it and the repeat's effective time) and as many random orders that are
not repeats (a patient, a recognisable LOINC, an institution that issues marked reports, a moment
in the seeded period). Each patient lets the ordering institution read their results (a Consent,
category ``results``); the grants are written once, when the orders are first picked, and the
orders are kept in ``recognition-<residents>.orders.json``.

Then ``recognition_check`` (countyhealth/recognition/check.py: two searches and the issuers, all
through the caller's Repository, so under the access rule and audited) is timed ``--checks``
times as a township or county clinician of the ordering institution (consent-mode access), after
``--warm-up`` untimed checks, half repeats and half not. Baseline in the same run, interleaved
with the checks: one ``Observation?patient=…&code=…`` search of the same order through the same
caller. Prints one JSON line:
``{"bench":"recognition","backend":…,"residents":…,"checks":…,"found":…,"p50_ms":…,"p95_ms":…,
"p99_ms":…,"baseline_p95_ms":…}`` (``found``: timed checks that found at least one result).

    .venv/bin/python bench/recognition.py [--residents 200000] [--checks 2000] [--database-url URL]
        [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from bench.cached_database import add_cache_arguments, cached_settings
from bench.loadgen import percentile_ms
from countyhealth.consent import grant
from countyhealth.fhir import systems
from countyhealth.recognition import catalogue, recognition_check
from countyhealth.records.query import find, find_all
from countyhealth.scheduling.calendar import at as county_at
from countyhealth.scheduling.calendar import fhir_datetime, parse_datetime
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store, system_caller
from countyhealth.synthetic import SeedOptions, seed_county
from countyhealth.synthetic.datafiles import load as load_data

LOINC = "http://loinc.org"
#: the clinician role of an institution's facility kind (township health centres; else county)
ROLE_OF_KIND = {"health-centre": "township-clinician"}
DEFAULT_ROLE = "county-clinician"
#: Consents written for the benchmark stay valid as long as the cached database is kept
CONSENT_DAYS = 3650


def build(store: Store, residents: int, seed: int, truth_path: Path, workers: int) -> float:
    """Seed the county as ``countyhealth seed`` does; the seconds it took."""
    print(f"seeding {residents:,} residents (once) …", file=sys.stderr, flush=True)
    report = seed_county(
        store.repository(system_caller("bench")),
        SeedOptions(residents=residents, seed=seed),
        ground_truth=truth_path,
        parallel=workers > 0,
        workers=workers,
    )
    return report.seconds


def pick_orders(store: Store, truth: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """Every repeat of the ground truth and as many random non-repeats, with their Consents."""
    system = store.repository(system_caller("bench"))
    table = catalogue(store.settings)
    kinds: dict[str, str] = {}

    def role_of(organization: str) -> str:
        if organization not in kinds:
            body = system.read("Organization", organization.removeprefix("Organization/")).resource
            kinds[organization] = next(
                (
                    str(c.get("code"))
                    for t in body.get("type") or []
                    for c in t.get("coding") or []
                    if c.get("system") == systems.FACILITY_TYPE
                ),
                "",
            )
        return ROLE_OF_KIND.get(kinds[organization], DEFAULT_ROLE)

    orders: list[dict[str, Any]] = []
    repeated: set[tuple[str, str, str]] = set()
    for t in truth["repeat_tests"]:
        day = date.fromisoformat(t["repeat"]["date"])
        item = table.item(t["item"], day)
        if item is None or item.loinc is None:
            continue
        report = system.read(
            "DiagnosticReport", t["repeat"]["report"].removeprefix("DiagnosticReport/")
        ).resource
        organization = t["repeat"]["organization"]
        patient = t["patient"].removeprefix("Patient/")
        repeated.add((patient, item.loinc, organization))
        orders.append(
            {
                "patient": patient,
                "loinc": item.loinc,
                "organization": organization,
                "role": role_of(organization),
                "at": report["effectiveDateTime"],
                "repeat": True,
            }
        )
    rng = random.Random(seed)
    loincs = sorted(
        {str(i["loinc"]) for i in load_data("labs")["items"].values() if i.get("recognition")}
    )
    issuers = sorted(
        {t[k]["organization"] for t in truth["repeat_tests"] for k in ("first", "repeat")}
    )
    patients = [p["id"] for p in find_all(system, "Patient", [("_elements", "id")])]
    start = date.fromisoformat(truth["options"]["start"])
    days = (date.fromisoformat(truth["options"]["end"]) - start).days
    wanted = 2 * len(orders)
    while len(orders) < wanted and issuers:
        patient, loinc, organization = (
            rng.choice(patients),
            rng.choice(loincs),
            rng.choice(issuers),
        )
        if (patient, loinc, organization) in repeated:
            continue
        moment = county_at(
            start + timedelta(days=rng.randrange(days)),
            clock(rng.randint(8, 16), rng.randrange(60)),
        )
        orders.append(
            {
                "patient": patient,
                "loinc": loinc,
                "organization": organization,
                "role": role_of(organization),
                "at": fhir_datetime(moment),
                "repeat": False,
            }
        )
    pairs = sorted({(o["patient"], o["organization"]) for o in orders})
    print(f"granting {len(pairs):,} Consents (once) …", file=sys.stderr, flush=True)
    for patient, organization in pairs:
        grant(system, patient, organization, category_code="results", days=CONSENT_DAYS)
    return orders


def schedule(orders: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` orders, alternately a repeat and not, each order once until its half runs out."""
    rng = random.Random(seed + 1)
    halves = [[o for o in orders if o["repeat"]], [o for o in orders if not o["repeat"]]]
    halves = [h for h in halves if h]
    for half in halves:
        rng.shuffle(half)
    out = []
    for k in range(n if halves else 0):
        half = halves[k % len(halves)]
        out.append(half[(k // len(halves)) % len(half)])
    return out


def run_checks(
    store: Store, orders: list[dict[str, Any]], warm_up: int
) -> tuple[list[int], list[int], int, int]:
    """Time the check and the baseline search for each order after ``warm_up`` untimed ones;
    the latencies (ns) of both, the checks that found a result and the repeats among them."""
    callers: dict[str, Any] = {}

    def repo_for(order: dict[str, Any]) -> Repository:
        organization = order["organization"]
        if organization not in callers:
            callers[organization] = caller_for(
                kind="user",
                id=f"bench-clinician-{organization.removeprefix('Organization/')}",
                role_codes=(order["role"],),
                organization=organization,
            )
        return store.repository(callers[organization])

    def check(repo: Repository, order: dict[str, Any]) -> bool:
        answer = recognition_check(
            repo, order["patient"], [(LOINC, order["loinc"])], at=parse_datetime(order["at"])
        )
        return bool(answer.suggestions)

    def baseline(repo: Repository, order: dict[str, Any]) -> bool:
        return bool(
            find(
                repo,
                "Observation",
                [("patient", f"Patient/{order['patient']}"), ("code", f"{LOINC}|{order['loinc']}")],
            ).resources
        )

    checks: list[int] = []
    baselines: list[int] = []
    found = found_repeats = 0
    for k, order in enumerate(orders):
        repo = repo_for(order)
        # alternate which goes first (repeats and non-repeats alike: the schedule alternates
        # them at k % 2), so that neither always finds the pages the other has just read
        if (k // 2) % 2 == 0:
            (spent, hit), (spent_baseline, _) = _ns(check, repo, order), _ns(baseline, repo, order)
        else:
            (spent_baseline, _), (spent, hit) = _ns(baseline, repo, order), _ns(check, repo, order)
        if k < warm_up:
            continue
        checks.append(spent)
        baselines.append(spent_baseline)
        if hit:
            found += 1
            found_repeats += order["repeat"]
    return checks, baselines, found, found_repeats


def _ns(
    fn: Callable[[Repository, dict[str, Any]], bool], repo: Repository, order: dict[str, Any]
) -> tuple[int, bool]:
    t0 = time.perf_counter_ns()
    answer = fn(repo, order)
    return time.perf_counter_ns() - t0, answer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--warm-up", type=int, default=100, help="untimed checks first")
    parser.add_argument("--workers", type=int, default=2, help="validating/indexing processes")
    add_cache_arguments(parser)
    args = parser.parse_args()

    cache = Path(args.cache_dir)
    stem = f"recognition-{args.residents}" + ("-postgresql" if args.database_url else "")
    truth_path = cache / f"{stem}.ground-truth.json"
    orders_path = cache / f"{stem}.orders.json"
    settings = cached_settings(
        cache,
        stem,
        truth_path,
        database_url=args.database_url,
        rebuild=args.rebuild,
        derived=(orders_path,),
    )
    store = Store.open(settings)
    build_seconds = None
    try:
        if not truth_path.exists():
            build_seconds = build(store, args.residents, args.seed, truth_path, args.workers)
            orders_path.unlink(missing_ok=True)
        if not orders_path.exists():
            truth = orjson.loads(truth_path.read_bytes())
            orders_path.write_bytes(orjson.dumps(pick_orders(store, truth, args.seed)))
        orders = orjson.loads(orders_path.read_bytes())
        plan = schedule(orders, args.warm_up + args.checks, args.seed)
        checks, baselines, found, found_repeats = run_checks(store, plan, args.warm_up)
    finally:
        store.close()
    timed = plan[args.warm_up :]
    out: dict[str, Any] = {
        "bench": "recognition",
        "backend": "postgresql" if args.database_url else "sqlite",
        "residents": args.residents,
        "checks": len(checks),
        "found": found,
        "p50_ms": round(percentile_ms(checks, 50), 2),
        "p95_ms": round(percentile_ms(checks, 95), 2),
        "p99_ms": round(percentile_ms(checks, 99), 2),
        "baseline_p50_ms": round(percentile_ms(baselines, 50), 2),
        "baseline_p95_ms": round(percentile_ms(baselines, 95), 2),
        "repeat_checks": sum(1 for o in timed if o["repeat"]),
        "repeats_found": found_repeats,
        "orders": len(orders),
    }
    if build_seconds is not None:
        out["build_seconds"] = round(build_seconds, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
