"""Search benchmark: the county's everyday searches over a database of ≥ 1,000,000 resources.

Builds (or reuses) a database of Patients, Observations, Appointments and Tasks written through
the Repository bulk path (validated and indexed like any client), then times each query through
the Repository (the same code the HTTP API calls) and prints one JSON line:
``{"bench":"search","resources":…,"backend":…,"queries":{NAME:{"p50_ms":…,"p95_ms":…}}}``.
A baseline query (read of one resource by id) is timed in the same run.

With ``--consent`` the same queries are timed again as a county clinician of another
organisation, whose reach is the patients' Consents (granted for the sampled patients before
the run): the cost of the access rule, under ``"consent_queries"``.

    .venv/bin/python bench/search.py [--patients 100000] [--database-url URL] [--rebuild] [--consent]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.progress import Progress

from countyhealth.config import Settings
from countyhealth.consent import consent_resource
from countyhealth.fhir.search_request import parse_search
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store, migrate, system_caller

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单区"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强海燕玉兰文斌红梅春梅晓东丹丹宇浩子涵欣怡梓萱一诺雨轩浩然"
ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
LOINC = [
    ("8480-6", "mm[Hg]", 90, 190),
    ("8462-4", "mm[Hg]", 50, 120),
    ("2339-0", "mmol/L", 3, 20),
    ("4548-4", "%", 4, 12),
    ("29463-7", "kg", 3, 110),
    ("8302-2", "cm", 45, 190),
    ("2093-3", "mmol/L", 2, 9),
]
DEPARTMENTS = 40
PRACTITIONERS = 400
CLINIC = "Organization/bench-county-hospital"


def id_number(rng: random.Random, birth: str, male: bool) -> str:
    body = f"3307{rng.randint(10, 99)}{birth.replace('-', '')}{rng.randint(10, 99)}"
    body += str(rng.randrange(1, 10, 2) if male else rng.randrange(0, 10, 2))
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def resources(patients: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for k in range(PRACTITIONERS):
        yield {
            "resourceType": "Practitioner",
            "id": f"pr{k}",
            "name": [{"family": rng.choice(SURNAMES), "given": [rng.choice(GIVEN)]}],
        }
    for i in range(patients):
        male = rng.random() < 0.5
        birth = f"{rng.randint(1930, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        family, given = rng.choice(SURNAMES), rng.choice(GIVEN) + rng.choice(GIVEN)
        pid = f"p{i}"
        yield {
            "resourceType": "Patient",
            "id": pid,
            "gender": "male" if male else "female",
            "birthDate": birth,
            "identifier": [{"system": ID_SYSTEM, "value": id_number(rng, birth, male)}],
            "name": [{"family": family, "given": [given], "text": family + given}],
            "telecom": [{"system": "phone", "value": f"13{rng.randint(100000000, 999999999)}"}],
        }
        for j in range(7):
            code, unit, lo, hi = LOINC[rng.randrange(len(LOINC))]
            day = f"202{rng.randint(0, 5)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            yield {
                "resourceType": "Observation",
                "id": f"o{i}-{j}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": f"Patient/{pid}"},
                "effectiveDateTime": f"{day}T0{rng.randint(0, 9)}:00:00+08:00",
                "valueQuantity": {
                    "value": round(rng.uniform(lo, hi), 1),
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                },
            }
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        yield {
            "resourceType": "Appointment",
            "id": f"a{i}",
            "status": "booked",
            "start": f"{day}T0{rng.randint(8, 9)}:{rng.randint(0, 5)}0:00+08:00",
            "end": f"{day}T10:00:00+08:00",
            "participant": [
                {"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"},
                {
                    "actor": {"reference": f"Practitioner/pr{rng.randrange(PRACTITIONERS)}"},
                    "status": "accepted",
                },
            ],
        }
        yield {
            "resourceType": "Task",
            "id": f"t{i}",
            "intent": "order",
            "status": rng.choice(["requested", "accepted", "in-progress", "completed"]),
            "owner": {"reference": f"Practitioner/pr{rng.randrange(PRACTITIONERS)}"},
            "for": {"reference": f"Patient/{pid}"},
        }


def build(repo: Repository, patients: int, seed: int, chunk: int = 2000) -> float:
    total = PRACTITIONERS + patients * 10
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with Progress() as progress:
        task = progress.add_task("writing the benchmark county", total=total)
        for res in resources(patients, seed):
            batch.append(res)
            if len(batch) >= chunk:
                repo.put_many(batch)
                progress.advance(task, len(batch))
                batch = []
        if batch:
            repo.put_many(batch)
            progress.advance(task, len(batch))
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    fn()  # warm
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--patients",
        type=int,
        default=100_000,
        help="10 resources per patient (default: 1,000,400 resources)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--consent", action="store_true", help="also time the queries as a consent-mode clinician"
    )
    args = parser.parse_args()
    cache = Path(".cache/bench")
    cache.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{cache / f'search-{args.patients}.db'}"
    settings = Settings(
        environment="test",
        secret_key="bench-" + "x" * 40,
        database_url=url,
        audit_spool_dir=str(cache / "audit-spool"),
    )
    fresh = settings.sqlite_path() is not None and not settings.sqlite_path().exists()  # type: ignore[union-attr]
    if args.rebuild and settings.sqlite_path() is not None:
        settings.sqlite_path().unlink(missing_ok=True)  # type: ignore[union-attr]
        fresh = True
    migrate(settings)
    store = Store.open(settings)
    repo = store.repository(system_caller("bench"))
    build_seconds = None
    count = _count(repo)
    if fresh or count < args.patients * 10:
        build_seconds = build(repo, args.patients, args.seed)
        count = _count(repo)
    rng = random.Random(args.seed + 1)
    sample = [rng.randrange(args.patients) for _ in range(args.runs + 1)]
    results = run_queries(repo, sample, args.runs, args.seed)
    consent_results = None
    if args.consent:
        grant_consents(repo, sorted(set(sample)))
        clinician = store.repository(
            caller_for(
                kind="user",
                id="bench-clinician",
                role_codes=("county-clinician",),
                organization=CLINIC,
            )
        )
        consent_results = run_queries(clinician, sample, args.runs, args.seed)
    store.close()
    out: dict[str, Any] = {
        "bench": "search",
        "resources": count,
        "backend": url.split(":")[0],
        "queries": results,
    }
    if consent_results is not None:
        out["consent_queries"] = consent_results
    if build_seconds is not None:
        out["build_seconds"] = round(build_seconds, 1)
        out["build_resources_per_s"] = round(count / build_seconds, 1)
    print(json.dumps(out, ensure_ascii=False))


def run_queries(
    repo: Repository, sample: list[int], runs: int, seed: int
) -> dict[str, dict[str, float]]:
    """Time the everyday searches through ``repo`` (whose caller decides what is visible)."""
    rng = random.Random(seed + 2)
    picks = iter(sample * 10)

    def patient() -> dict[str, Any]:
        return repo.read("Patient", f"p{next(picks)}").resource

    def dyn(rtype: str, make: Callable[[], list[tuple[str, str]]]) -> Callable[[], Any]:
        return lambda: repo.search(parse_search([rtype], make(), max_count=1000))

    queries: dict[str, Callable[[], Any]] = {
        "read_by_id (baseline)": lambda: repo.read("Patient", f"p{next(picks)}"),
        "observations_of_patient_by_code_and_date": dyn(
            "Observation",
            lambda: [
                ("subject", f"Patient/p{next(picks)}"),
                ("code", "http://loinc.org|8480-6"),
                ("date", "ge2021-01-01"),
                ("date", "lt2025-01-01"),
            ],
        ),
        "patient_by_identifier": dyn(
            "Patient",
            lambda: [("identifier", f"{ID_SYSTEM}|{patient()['identifier'][0]['value']}")],
        ),
        "patient_by_cjk_name": dyn("Patient", lambda: [("name", patient()["name"][0]["text"])]),
        "patient_by_phonetic": dyn("Patient", lambda: [("phonetic", _pinyin(patient()))]),
        "appointment_by_date_and_actor": dyn(
            "Appointment",
            lambda: [
                ("date", f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"),
                ("actor", f"Practitioner/pr{rng.randrange(PRACTITIONERS)}"),
            ],
        ),
        "task_by_owner_and_status": dyn(
            "Task",
            lambda: [
                ("owner", f"Practitioner/pr{rng.randrange(PRACTITIONERS)}"),
                ("status", "requested"),
            ],
        ),
        "chain_observation_subject_identifier": dyn(
            "Observation",
            lambda: [
                ("subject:Patient.identifier", f"{ID_SYSTEM}|{patient()['identifier'][0]['value']}")
            ],
        ),
        "total_accurate_all_observations": dyn(
            "Observation", lambda: [("_total", "accurate"), ("_count", "0")]
        ),
    }
    return {
        name: timed(fn, runs if "total" not in name else max(10, runs // 4))
        for name, fn in queries.items()
    }


def grant_consents(repo: Repository, patients: list[int]) -> None:
    """Each sampled patient lets the benchmark clinic read their record (idempotent)."""
    for i in patients:
        body = consent_resource(f"p{i}", CLINIC, days=3650)
        repo.update("Consent", f"bench-consent-p{i}", {**body, "id": f"bench-consent-p{i}"})


def _pinyin(patient: dict[str, Any]) -> str:
    from countyhealth.fhir.pinyin import name_keys

    return name_keys(patient["name"][0])[0]


def _count(repo: Repository) -> int:
    types = ("Practitioner", "Patient", "Observation", "Appointment", "Task")
    return sum(repo.search(parse_search([t], [("_summary", "count")])).total or 0 for t in types)


if __name__ == "__main__":
    main()
