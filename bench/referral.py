"""Two-way referral benchmark: refer a patient up, accept the referral, the receiving worklist
and the bureau's KPIs, on a seeded county.

Builds (or reuses) a synthetic county seeded the way ``countyhealth seed`` seeds it (through
:func:`bench.recognition.build`: generator process, 2 validating/indexing processes, chunks
written through the Repository) in ``.cache/bench/referral-<residents>.db``, with its ground
truth beside it, and creates the missing slots of the county pool from today
(``generate_pool``), so that the receiving departments have slots to hold.

Then, for ``--referrals`` patients of primary-care institutions (after ``--warm-up`` untimed
ones, and the heap frozen then as a server worker freezes its start-up heap), each as a
clinician of the patient's own institution — alternately a ``village-doctor`` of the village
clinic the patient visits (by their Encounters) and a ``township-clinician`` of the health
centre that manages the patient — bound to a PractitionerRole of that institution:

- ``refer_up`` to a county-hospital department that takes referrals and has slots (one of
  :func:`countyhealth.referral.choices.destinations`, in the medical community of the referring
  institution); every tenth referral is urgent;
- ``accept`` as a ``county-clinician`` of the receiving hospital (the held slot is booked);
- ``incoming`` (the receiving hospital's worklist), once per 10 referrals.

Then ``referral_kpis`` for the last 365 days as the bureau (``bureau-admin``), 5 times, and for
the seeded year, 5 times. Baseline in the same run, interleaved with the referrals (which of the
two runs first alternates): a plain ``repo.create`` of a ServiceRequest of about the same size
(not a referral) by the same referring caller. Prints one JSON line:
``{"bench":"referral","backend":…,"residents":…,"referrals":…,"refer_p50_ms":…,"refer_p95_ms":…,
"accept_p50_ms":…,"accept_p95_ms":…,"worklist_p95_ms":…,"kpis_year_ms":…,
"baseline_create_p95_ms":…,"held_slots":…}`` (``kpis_year_ms``: the median of the 5 calls;
``held_slots``: timed referrals that got a held slot). Every run adds its referrals (with their
Consents, booked appointments and baseline ServiceRequests) to the cached county; a run picks
its own patients unless ``--seed`` is given.

    .venv/bin/python bench/referral.py [--residents 20000] [--referrals 300] [--database-url URL]
        [--rebuild]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from bench.cached_database import add_cache_arguments, cached_settings
from bench.loadgen import percentile_ms
from bench.recognition import build
from countyhealth.fhir import systems
from countyhealth.records.query import find, find_all
from countyhealth.referral import UpReferral, accept, incoming, refer_up, referral_kpis
from countyhealth.referral.choices import Destination, destinations
from countyhealth.referral.rules import referral_rules
from countyhealth.scheduling import generate_pool
from countyhealth.scheduling.calendar import local_now
from countyhealth.scheduling.slots import departments
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store, system_caller

T = TypeVar("T")
SNOMED = "http://snomed.info/sct"
#: the receiving side: hospitals of the county (a health centre also takes up-referrals)
COUNTY_KINDS = {"general", "tcm", "children", "maternal-child", "mental", "rehabilitation"}
#: a plausible ICD-10 reason for a referral to each department (synthetic input, not a rule)
REASONS = {
    "03": ("I10", "原发性高血压"),
    "03.01": ("J44.9", "慢性阻塞性肺病"),
    "03.02": ("K25.9", "胃溃疡"),
    "03.03": ("I63.9", "脑梗死"),
    "03.04": ("I10", "原发性高血压"),
    "03.07": ("E11.9", "2型糖尿病"),
    "03.10": ("I10", "原发性高血压"),
    "04": ("K80.2", "胆囊结石"),
    "04.02": ("S06.9", "颅内损伤"),
    "04.03": ("M17.9", "膝关节病"),
    "05": ("N83.2", "卵巢囊肿"),
    "05.02": ("O26.9", "妊娠相关情况"),
    "07": ("J18.9", "肺炎"),
    "08": ("K40.9", "腹股沟疝"),
    "10": ("H25.9", "老年性白内障"),
    "11": ("J32.9", "慢性鼻窦炎"),
    "12": ("K04.0", "牙髓炎"),
    "15": ("F32.9", "抑郁发作"),
    "21": ("I69.3", "脑梗死后遗症"),
}
OTHER_REASON = ("R69", "病因不明的疾病")
#: departments that see only women, only children
WOMEN_ONLY = {"05", "05.02"}
CHILDREN_ONLY = {"07", "08"}
NOTE = "请上级医院进一步诊治"
KPI_CALLS = 5
WORKLIST_EVERY = 10
URGENT_EVERY = 10


@dataclass(frozen=True, slots=True)
class Case:
    """One referral to make: whose, from where, by whom, to which department."""

    patient: str
    origin: str  # Organization/id of the referring institution
    role: str  # village-doctor | township-clinician
    actor: str  # PractitionerRole/id at the origin
    target: Destination
    receiver: str  # PractitionerRole/id of a doctor of the receiving hospital
    reason: tuple[str, str]
    urgent: bool


class County:
    """The directory of the seeded county, read once for the platform."""

    def __init__(self, system: Repository) -> None:
        self.kinds: dict[str, str] = {}
        self.parent: dict[str, str] = {}
        for org in find_all(system, "Organization", [("_elements", "id,type,partOf")]):
            ref = f"Organization/{org['id']}"
            self.kinds[ref] = _code(org.get("type"), systems.FACILITY_TYPE)
            self.parent[ref] = str((org.get("partOf") or {}).get("reference") or "")
        #: (Organization/id, role code) → PractitionerRole/ids, by id
        self.roles: dict[tuple[str, str], list[str]] = {}
        #: HealthcareService/id → the PractitionerRoles (doctors) working in it
        self.doctors_of: dict[str, list[str]] = {}
        for r in find_all(system, "PractitionerRole", [("active", "true")]):
            where = str((r.get("organization") or {}).get("reference") or "")
            who = f"PractitionerRole/{r['id']}"
            for concept in r.get("code") or []:
                for c in concept.get("coding") or []:
                    self.roles.setdefault((where, str(c.get("code"))), []).append(who)
                    if c.get("code") == "doctor":
                        for s in r.get("healthcareService") or []:
                            self.doctors_of.setdefault(str(s.get("reference")), []).append(who)
        for refs in (*self.roles.values(), *self.doctors_of.values()):
            refs.sort()

    def community(self, organization: str) -> str:
        ref = organization
        for _ in range(6):
            ref = self.parent.get(ref, "")
            if not ref or self.kinds.get(ref) == "medical-community":
                return ref
        return ""

    def first(self, organization: str, role: str) -> str | None:
        found = self.roles.get((organization, role))
        return found[0] if found else None


def _code(concepts: Any, system: str) -> str:
    return next(
        (
            str(c.get("code"))
            for concept in concepts or []
            for c in concept.get("coding") or []
            if c.get("system") == system
        ),
        "",
    )


def _age(birth: str | None, today: date) -> int:
    if not birth or len(birth) < 10:
        return 50
    born = date.fromisoformat(birth[:10])
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _village_clinic(system: Repository, patient: str, county: County) -> str | None:
    """The village clinic the patient visits most (by Encounter.serviceProvider), if any."""
    visits = Counter(
        str((e.get("serviceProvider") or {}).get("reference") or "")
        for e in find(
            system,
            "Encounter",
            [("patient", f"Patient/{patient}"), ("_elements", "serviceProvider")],
            count=100,
        ).resources
    )
    clinics = [(n, o) for o, n in visits.items() if county.kinds.get(o) == "village-clinic"]
    return max(clinics)[1] if clinics else None


def plan(system: Repository, county: County, n: int, today: date, rng: random.Random) -> list[Case]:
    """``n`` referrals of distinct patients managed by a health centre, each to a department of
    a county hospital of the referring institution's medical community that has slots."""
    bookable = {f"HealthcareService/{d.id}" for d in departments(system, today)}
    targets = [
        d
        for d in destinations(system, referral_rules(today))
        if d.kind in COUNTY_KINDS and d.service in bookable
    ]
    by_community: dict[str, list[Destination]] = {}
    for d in targets:
        by_community.setdefault(d.community, []).append(d)
    patients = [
        p
        for p in find_all(
            system,
            "Patient",
            [("active", "true"), ("_elements", "id,gender,birthDate,managingOrganization")],
        )
        if county.kinds.get(str((p.get("managingOrganization") or {}).get("reference")))
        == "health-centre"
    ]
    rng.shuffle(patients)
    cases: list[Case] = []
    for p in patients:
        if len(cases) == n:
            break
        centre = str(p["managingOrganization"]["reference"])
        if len(cases) % 2 == 0:  # every other referral comes from a village clinic
            clinic = _village_clinic(system, str(p["id"]), county)
            if clinic is None:
                continue
            origin, role, code = clinic, "village-doctor", "village-doctor"
        else:
            origin, role, code = centre, "township-clinician", "doctor"
        actor = county.first(origin, code)
        age = _age(p.get("birthDate"), today)
        choices = [
            d
            for d in by_community.get(county.community(origin)) or targets
            if not (d.department in WOMEN_ONLY and p.get("gender") != "female")
            and not (d.department in CHILDREN_ONLY and age >= 14)
            and not (d.kind == "children" and age >= 14)
        ]
        if actor is None or not choices:
            continue
        target = rng.choice(choices)
        in_department = county.doctors_of.get(target.service)
        receiver = (
            in_department[0] if in_department else county.first(target.organization, "doctor")
        )
        if receiver is None:
            continue
        cases.append(
            Case(
                patient=str(p["id"]),
                origin=origin,
                role=role,
                actor=actor,
                target=target,
                receiver=receiver,
                reason=REASONS.get(target.department, OTHER_REASON),
                urgent=len(cases) % URGENT_EVERY == URGENT_EVERY - 1,
            )
        )
    return cases


def baseline_body(case: Case, template: dict[str, Any] | None) -> dict[str, Any]:
    """A plain ServiceRequest (a consultation, not a referral) of about the size of the
    referral's: the last referral's request with its summary kept as text."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": "386053000"}]}],
        "priority": "urgent" if case.urgent else "routine",
        "code": {"coding": [{"system": SNOMED, "code": "11429006"}], "text": "会诊"},
        "subject": {"reference": f"Patient/{case.patient}"},
        "authoredOn": (template or {}).get("authoredOn") or "2026-01-01T08:00:00+08:00",
        "requester": {"reference": case.actor},
        "performer": [
            {"reference": case.target.organization, "display": case.target.organization_name},
            {"reference": case.target.service, "display": case.target.service_name},
        ],
        "reasonCode": [
            {
                "coding": [
                    {"system": systems.ICD_10, "code": case.reason[0], "display": case.reason[1]}
                ]
            }
        ],
        "note": [{"text": NOTE}],
    }
    lines = [s.get("display") for s in (template or {}).get("supportingInfo") or []]
    if lines:
        body["supportingInfo"] = [{"display": str(text)} for text in lines if text]
    return body


def _ns(fn: Callable[..., T], *args: Any) -> tuple[int, T]:
    t0 = time.perf_counter_ns()
    answer = fn(*args)
    return time.perf_counter_ns() - t0, answer


def run(
    store: Store, cases: list[Case], warm_up: int
) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Refer, accept, list and create the baseline for each case; the latencies (ns) of the
    timed cases and counts (held slots, accepted, callers by role)."""
    times: dict[str, list[int]] = {"refer": [], "accept": [], "worklist": [], "baseline": []}
    counts: Counter[str] = Counter()
    template: dict[str, Any] | None = None
    for k, case in enumerate(cases):
        if k == warm_up:
            # as a server worker does after start-up (countyhealth/app.py): what is alive now
            # (definitions, validators, the plan) stays out of the collector's sight, so a
            # full collection (100-170 ms with that heap) does not land in the timings
            gc.collect()
            gc.freeze()
        referring = store.repository(
            caller_for(
                kind="user",
                id=f"bench-{case.role}-{case.actor.removeprefix('PractitionerRole/')}",
                role_codes=(case.role,),
                organization=case.origin,
                actors=(case.actor,),
            )
        )
        receiving = store.repository(
            caller_for(
                kind="user",
                id=f"bench-county-clinician-{case.receiver.removeprefix('PractitionerRole/')}",
                role_codes=("county-clinician",),
                organization=case.target.organization,
                actors=(case.receiver,),
            )
        )
        asked = UpReferral(
            patient=case.patient,
            target=case.target.organization,
            service=case.target.service,
            reason_code=case.reason[0],
            reason_display=case.reason[1],
            urgent=case.urgent,
            note=NOTE,
        )
        body = baseline_body(case, template)
        # alternate which goes first, so that neither always finds the pages the other read
        if (k // 2) % 2 == 0:
            spent, referral = _ns(refer_up, referring, asked)
            spent_baseline, _ = _ns(referring.create, body)
        else:
            spent_baseline, _ = _ns(referring.create, body)
            spent, referral = _ns(refer_up, referring, asked)
        template = referral.request.resource
        spent_accept, accepted = _ns(accept, receiving, referral.task.id)
        spent_list = None
        if k % WORKLIST_EVERY == WORKLIST_EVERY - 1:
            spent_list, _ = _ns(incoming, receiving)
        if k < warm_up:
            continue
        times["refer"].append(spent)
        times["baseline"].append(spent_baseline)
        times["accept"].append(spent_accept)
        if spent_list is not None:
            times["worklist"].append(spent_list)
        counts["held_slots"] += referral.appointment is not None
        counts["accepted"] += accepted.status == "accepted"
        counts["booked"] += (accepted.appointment or {}).get("status") == "booked"
        counts[f"by_{case.role.replace('-', '_')}"] += 1
        counts["urgent"] += case.urgent
        counts["summary_lines"] += len(referral.request.resource.get("supportingInfo") or []) - 1
    return times, dict(counts)


def time_kpis(store: Store, first: date, last: date) -> tuple[list[int], int]:
    """``KPI_CALLS`` timings of the KPIs over ``first``..``last`` as the bureau, and the
    referrals counted."""
    system = store.repository(system_caller("bench"))
    bureau = next(
        f"Organization/{o['id']}"
        for o in find_all(
            system, "Organization", [("type", f"{systems.FACILITY_TYPE}|health-bureau")]
        )
    )
    repo = store.repository(
        caller_for(
            kind="user", id="bench-bureau-admin", role_codes=("bureau-admin",), organization=bureau
        )
    )
    out: list[int] = []
    made = 0
    for _ in range(KPI_CALLS):
        spent, kpis = _ns(referral_kpis, repo, first, last)
        out.append(spent)
        made = kpis.made
    return out, made


def _ms(values: list[int], p: float) -> float:
    return round(percentile_ms(values, p), 2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--referrals", type=int, default=300)
    parser.add_argument("--warm-up", type=int, default=10, help="untimed referrals first")
    parser.add_argument(
        "--seed", type=int, default=None, help="pick the patients with this seed (default: anew)"
    )
    parser.add_argument("--workers", type=int, default=2, help="validating/indexing processes")
    add_cache_arguments(parser)
    args = parser.parse_args()

    cache = Path(args.cache_dir)
    stem = f"referral-{args.residents}" + ("-postgresql" if args.database_url else "")
    truth_path = cache / f"{stem}.ground-truth.json"
    settings = cached_settings(
        cache, stem, truth_path, database_url=args.database_url, rebuild=args.rebuild
    )
    store = Store.open(settings)
    build_seconds = None
    try:
        if not truth_path.exists():
            build_seconds = build(store, args.residents, 1, truth_path, args.workers)
        truth = orjson.loads(truth_path.read_bytes())
        system = store.repository(system_caller("bench"))
        today = local_now(store.clock.now_us()).date()
        t0 = time.perf_counter()
        pool = generate_pool(system)
        print(
            f"pool {pool.first_day}..{pool.last_day}, {pool.departments} departments: "
            f"{pool.slots_created:,} slots created, {pool.slots_existing:,} there "
            f"({time.perf_counter() - t0:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
        cases = plan(
            system, County(system), args.warm_up + args.referrals, today, random.Random(seed)
        )
        if len(cases) < args.warm_up + args.referrals:
            raise SystemExit(
                f"only {len(cases)} of {args.warm_up + args.referrals} referrals could be planned "
                "(a county without village clinics, hospitals or slots?)"
            )
        times, counts = run(store, cases, args.warm_up)
        kpis_year, year_made = time_kpis(store, today - timedelta(days=364), today)
        seeded_first = date.fromisoformat(truth["options"]["start"])
        seeded_last = date.fromisoformat(truth["options"]["end"]) - timedelta(days=1)
        seeded_last = min(seeded_last, seeded_first + timedelta(days=365))
        kpis_seeded, seeded_made = time_kpis(store, seeded_first, seeded_last)
    finally:
        store.close()
    timed = len(times["refer"])
    out: dict[str, Any] = {
        "bench": "referral",
        "backend": "postgresql" if args.database_url else "sqlite",
        "residents": args.residents,
        "referrals": timed,
        "refer_p50_ms": _ms(times["refer"], 50),
        "refer_p95_ms": _ms(times["refer"], 95),
        "accept_p50_ms": _ms(times["accept"], 50),
        "accept_p95_ms": _ms(times["accept"], 95),
        "worklist_p95_ms": _ms(times["worklist"], 95),
        "kpis_year_ms": round(statistics.median(kpis_year) / 1e6, 1),
        "baseline_create_p95_ms": _ms(times["baseline"], 95),
        "held_slots": counts.get("held_slots", 0),
        "baseline_create_p50_ms": _ms(times["baseline"], 50),
        "refer_max_ms": _ms(times["refer"], 100),
        "worklist_p50_ms": _ms(times["worklist"], 50),
        "worklists": len(times["worklist"]),
        "kpis_year_first_ms": round(kpis_year[0] / 1e6, 1),
        "kpis_year_referrals": year_made,
        "kpis_seeded_year_ms": round(statistics.median(kpis_seeded) / 1e6, 1),
        "kpis_seeded_year_referrals": seeded_made,
        "accepted": counts.get("accepted", 0),
        "booked": counts.get("booked", 0),
        "urgent": counts.get("urgent", 0),
        "by_village_doctor": counts.get("by_village_doctor", 0),
        "by_township_clinician": counts.get("by_township_clinician", 0),
        "summary_lines_mean": round(counts.get("summary_lines", 0) / timed, 1) if timed else 0,
        "seed": seed,
    }
    out["county"] = "built" if build_seconds is not None else "reused"
    if build_seconds is not None:
        out["build_seconds"] = round(build_seconds, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
