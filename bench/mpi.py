"""Master patient index benchmark: matching latency and batch deduplication at 10k–1M patients.

Builds (or reuses) an index of ``--patients`` residents seeded the way ``countyhealth seed
--patients-only`` seeds them (the network and every Patient, with the planted duplicate
registrations, no histories) in ``.cache/bench/mpi-<patients>.db``, with its ground truth
beside it. Then:

- **match**: ``match_patient`` (countyhealth/identity/mpi: the blocking searches through the
  Repository, then the Fellegi–Sunter scores) is timed ``--queries`` times after ``--warm-up``
  untimed ones, half of them planted duplicates (the second registration as the query, the
  record itself excluded) and half residents picked at random. A planted duplicate is *found*
  when the original comes back graded probable or certain. Baseline in the same run,
  interleaved: one ``Patient?birthdate=…&gender=…`` search (the largest block) of the same
  query.
- **dedupe**: ``countyhealth linkage dedupe --dry-run`` over the whole index (read from the
  store, Splink on DuckDB), timed end to end as a separate process.

Prints one JSON line: ``{"bench":"mpi","patients":N,"match_p50_ms":…,"match_p95_ms":…,
"dedupe_seconds":…, …}``.

    .venv/bin/python bench/mpi.py [--patients 100000] [--queries 1000] [--skip-dedupe]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from bench.cached_database import add_cache_arguments, cached_settings
from bench.loadgen import percentile_ms
from countyhealth.config import Settings
from countyhealth.identity.mpi import Thresholds, match_patient
from countyhealth.store import Repository, Store, system_caller
from countyhealth.synthetic import SeedOptions, seed_county


def build(store: Store, patients: int, seed: int, truth_path: Path, workers: int) -> float:
    print(f"seeding {patients:,} residents, Patients only (once) …", file=sys.stderr, flush=True)
    report = seed_county(
        store.repository(system_caller("bench")),
        SeedOptions(residents=patients, seed=seed, patients_only=True),
        ground_truth=truth_path,
        parallel=workers > 0,
        workers=workers,
    )
    return report.seconds


def pick_queries(
    repo: Repository, truth: dict[str, Any], count: int, seed: int
) -> list[dict[str, Any]]:
    """Half planted duplicates, half random residents (read back from the store)."""
    rng = random.Random(seed)
    pairs = truth["duplicates"]
    planted = rng.sample(pairs, min(len(pairs), count // 2))
    out = [{"query": p["duplicate"], "expect": p["original"]} for p in planted]
    # person records are pat-<block><slot> (synthetic/rng.py); other records share the keys
    keys = int((truth["population"]["residents"] + len(pairs)) * 1.2)
    dup_ids = {p["duplicate"] for p in pairs}
    while len(out) < count:
        k = rng.randrange(keys)
        ref = f"Patient/pat-{k // 1000:06d}{k % 1000:03d}"
        if ref in dup_ids or not repo.existing_ids([{"resourceType": "Patient", "id": ref[8:]}]):
            continue
        out.append({"query": ref, "expect": None})
    rng.shuffle(out)
    return out


def run_queries(
    store: Store, queries: list[dict[str, Any]], warm_up: int, pairs: set[frozenset[str]]
) -> tuple[list[int], list[int], dict[str, int]]:
    repo = store.repository(system_caller("bench"))
    thresholds = Thresholds.of(store.settings)
    timings: list[int] = []
    baselines: list[int] = []
    counts = {"planted": 0, "found": 0, "false_probable": 0}
    for i, q in enumerate(queries):
        resource = repo.read("Patient", q["query"].split("/")[1]).resource
        t0 = time.perf_counter_ns()
        found = match_patient(repo, resource, thresholds, exclude=q["query"])
        elapsed = time.perf_counter_ns() - t0
        criteria = [("birthdate", str(resource.get("birthDate")))]
        if resource.get("gender"):
            criteria.append(("gender", str(resource["gender"])))
        t1 = time.perf_counter_ns()
        repo.matches("Patient", criteria, limit=60)
        base = time.perf_counter_ns() - t1
        if i < warm_up:
            continue
        timings.append(elapsed)
        baselines.append(base)
        strong = [c.reference for c in found if c.grade in ("certain", "probable")]
        if q["expect"]:
            counts["planted"] += 1
            counts["found"] += q["expect"] in strong
        counts["false_probable"] += sum(
            1 for r in strong if frozenset((r, q["query"])) not in pairs
        )
    return timings, baselines, counts


def dedupe_seconds(settings: Settings) -> tuple[float, str]:
    env = {
        **os.environ,
        "COUNTYHEALTH_DATABASE_URL": settings.database_url,
        "COUNTYHEALTH_ENVIRONMENT": "test",
        "COUNTYHEALTH_SECRET_KEY": settings.secret_key,
        "COUNTYHEALTH_AUDIT_SPOOL_DIR": settings.audit_spool_dir,
    }
    exe = Path(sys.executable).with_name("countyhealth")
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(exe), "linkage", "dedupe", "--dry-run"], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"dedupe failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--warm-up", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="validating/indexing processes")
    add_cache_arguments(parser, postgresql=False)
    parser.add_argument("--skip-dedupe", action="store_true")
    args = parser.parse_args()

    cache = Path(args.cache_dir)
    stem = f"mpi-{args.patients}"
    truth_path = cache / f"{stem}.ground-truth.json"
    settings = cached_settings(cache, stem, truth_path, rebuild=args.rebuild)
    store = Store.open(settings)
    build_seconds = None
    try:
        if not truth_path.exists():
            build_seconds = build(store, args.patients, args.seed, truth_path, args.workers)
        truth = orjson.loads(truth_path.read_bytes())
        queries = pick_queries(
            store.repository(system_caller("bench")),
            truth,
            args.queries + args.warm_up,
            args.seed,
        )
        pairs = {frozenset((p["original"], p["duplicate"])) for p in truth["duplicates"]}
        timings, baselines, counts = run_queries(store, queries, args.warm_up, pairs)
    finally:
        store.close()
    out: dict[str, Any] = {
        "bench": "mpi",
        "backend": "sqlite",
        "patients": args.patients,
        "records": truth["population"]["residents"] + len(truth["duplicates"]),
        "queries": len(timings),
        "match_p50_ms": round(percentile_ms(timings, 50), 2),
        "match_p95_ms": round(percentile_ms(timings, 95), 2),
        "match_p99_ms": round(percentile_ms(timings, 99), 2),
        "baseline_p95_ms": round(percentile_ms(baselines, 95), 2),
        "planted_queries": counts["planted"],
        "planted_found": counts["found"],
        "false_probable": counts["false_probable"],
        "dedupe_seconds": None,
    }
    if not args.skip_dedupe:
        seconds, summary = dedupe_seconds(settings)
        out["dedupe_seconds"] = round(seconds, 1)
        out["dedupe_summary"] = summary
    if build_seconds is not None:
        out["build_seconds"] = round(build_seconds, 1)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
