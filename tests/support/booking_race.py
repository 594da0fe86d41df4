"""The flash crowd at slot release: many residents book the same few slots at once.

Shared by ``bench/booking.py`` (2,000 clients, 200 slots, timed) and the race test (a smaller
crowd, counts only). A fresh database gets one hospital with all-day departments (so slots
exist whatever the hour), one Patient per client and the pool for tomorrow; each client gets
its own resident token and books slot ``i % slots`` through ``POST /fhir/Appointment/$book``
over its own keep-alive connection, all released together.
"""

from __future__ import annotations

import asyncio
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from bench.loadgen import build_get, loop_runner, read_response
from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.fhir import systems
from countyhealth.scheduling import generate_pool
from countyhealth.scheduling.calendar import local_now
from countyhealth.store import Store, system_caller

#: public positions of a day (3 and 7 of every 10 are kept for referral / family doctors)
_PUBLIC_PER_DEPARTMENT = 100


@dataclass(frozen=True)
class Attempt:
    token: str
    patient: str
    slot: str


@dataclass
class Outcome:
    status: int
    code: str
    latency_ns: int


@dataclass
class CrowdResult:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0


def prepare(settings: Settings, clients: int, slots: int) -> list[Attempt]:
    """Seed the county and the pool; the attempts, client ``i`` aiming at slot ``i % slots``."""
    store = Store.open(settings)
    try:
        repo = store.repository(system_caller("bench"))
        departments = -(-slots // _PUBLIC_PER_DEPARTMENT)
        reference: list[dict[str, Any]] = [
            {
                "resourceType": "Organization",
                "id": "org-race",
                "name": "县人民医院",
                "type": [{"coding": [{"system": systems.FACILITY_TYPE, "code": "general"}]}],
            }
        ]
        services = [f"hs-race-{d}" for d in range(departments)]
        for d, sid in enumerate(services):
            reference.append(
                {
                    "resourceType": "HealthcareService",
                    "id": sid,
                    "active": True,
                    "providedBy": {"reference": "Organization/org-race"},
                    "type": [{"coding": [{"system": systems.DEPARTMENT, "code": f"03.0{d % 8}"}]}],
                    "name": f"专家门诊 {d + 1}",
                    "availableTime": [{"allDay": True}],
                }
            )
        repo.put_many(reference)
        patients = [f"race-p{i}" for i in range(clients)]
        for start in range(0, clients, 1000):
            repo.put_many(
                [
                    {"resourceType": "Patient", "id": pid, "name": [{"text": f"居民{pid}"}]}
                    for pid in patients[start : start + 1000]
                ]
            )
        tomorrow = local_now(store.clock.now_us()).date() + timedelta(days=1)
        generate_pool(repo, tomorrow, 1, services=set(services))
        public = [
            f"sl-{sid}-{tomorrow:%Y%m%d}-{n:03d}"
            for sid in services
            for n in range(1, 145)
            if n % 10 not in (3, 7)
        ][:slots]
    finally:
        store.close()
    scope = "patient/*.rs patient/Appointment.cru"
    return [
        Attempt(
            issue_token(
                settings,
                f"resident-{pid}",
                scope,
                kind="user",
                extra={"roles": ["resident"], "patients": [pid]},
            ),
            pid,
            public[i % len(public)],
        )
        for i, pid in enumerate(patients)
    ]


def raise_file_limit(wanted: int) -> None:
    """Each client holds a socket: lift the soft descriptor limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def _book_request(host: str, port: int, attempt: Attempt) -> bytes:
    body = orjson.dumps(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "slot", "valueReference": {"reference": f"Slot/{attempt.slot}"}},
                {"name": "patient", "valueReference": {"reference": f"Patient/{attempt.patient}"}},
            ],
        }
    )
    head = (
        f"POST /fhir/Appointment/$book HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {attempt.token}\r\nContent-Type: application/fhir+json\r\n"
        f"Accept: application/fhir+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _one(
    host: str, port: int, request: bytes, go: asyncio.Event, ready: asyncio.Semaphore
) -> Outcome:
    reader, writer = await asyncio.open_connection(host, port)
    ready.release()
    await go.wait()
    t0 = time.perf_counter_ns()
    writer.write(request)
    status, body = await read_response(reader)
    latency = time.perf_counter_ns() - t0
    writer.close()
    code = ""
    if status >= 400 and body:
        try:
            issue = orjson.loads(body)["issue"][0]
            code = issue["details"]["coding"][0]["code"]
        except (KeyError, IndexError, ValueError, TypeError):
            code = "not-an-OperationOutcome"
    return Outcome(status, code, latency)


async def _crowd(host: str, port: int, requests: list[bytes]) -> CrowdResult:
    go = asyncio.Event()
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(_one(host, port, r, go, ready)) for r in requests]
    for _ in requests:  # every client connected before the slots open
        await ready.acquire()
    start = time.perf_counter()
    go.set()
    outcomes = await asyncio.gather(*tasks)
    return CrowdResult(list(outcomes), time.perf_counter() - start)


def _run(requests: list[bytes], host: str, port: int) -> CrowdResult:
    """The crowd on its own event loop in its own thread (the caller may be inside a loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(loop_runner(), _crowd(host, port, requests)).result()


def book_crowd(host: str, port: int, attempts: list[Attempt]) -> CrowdResult:
    """Release all the clients at once; each books its slot once."""
    return _run([_book_request(host, port, a) for a in attempts], host, port)


def healthz_crowd(host: str, port: int, clients: int) -> CrowdResult:
    """The same crowd against ``/healthz``: what the machine and the client alone cost."""
    return _run([build_get(host, port, "/healthz", {})] * clients, host, port)


def bookings_in_database(settings: Settings) -> dict[str, int]:
    """Booked appointments, slots held by more than one, patients holding more than one."""
    store = Store.open(settings)
    try:
        repo = store.repository(system_caller("bench"))
        from countyhealth.records.query import find_all

        booked = list(find_all(repo, "Appointment", [("status", "booked")]))
    finally:
        store.close()
    per_slot: dict[str, int] = {}
    per_patient: dict[str, int] = {}
    for a in booked:
        for s in a.get("slot") or []:
            per_slot[s["reference"]] = per_slot.get(s["reference"], 0) + 1
        for p in a.get("participant") or []:
            ref = str(p["actor"].get("reference") or "")
            if ref.startswith("Patient/"):
                per_patient[ref] = per_patient.get(ref, 0) + 1
    return {
        "booked": len(booked),
        "double_booked": sum(1 for n in per_slot.values() if n > 1),
        "patients_with_two": sum(1 for n in per_patient.values() if n > 1),
    }
