"""Concurrent writers: If-Match updates race, versions stay gap-free, history keeps every one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from countyhealth.errors import OperationOutcomeError
from countyhealth.store import HistoryQuery, Repository

PATIENT = {"resourceType": "Patient", "id": "race", "gender": "unknown"}


def test_parallel_if_match_updates_one_winner_per_version(repo: Repository) -> None:
    repo.update("Patient", "race", PATIENT)

    def attempt(i: int) -> int:
        try:
            repo.update("Patient", "race", {**PATIENT, "birthDate": f"19{i:02d}-01-01"}, if_match=1)
            return 200
        except OperationOutcomeError as exc:
            return exc.status

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(attempt, range(50)))
    assert statuses.count(200) == 1
    assert statuses.count(412) == 49
    assert repo.read("Patient", "race").version == 2


def test_parallel_updates_without_if_match_are_gap_free(repo: Repository) -> None:
    repo.update("Patient", "race", PATIENT)

    def update(i: int) -> int:
        return repo.update("Patient", "race", {**PATIENT, "birthDate": f"19{i:02d}-01-01"})[
            0
        ].version

    with ThreadPoolExecutor(max_workers=20) as pool:
        versions = sorted(pool.map(update, range(50)))
    assert versions == list(range(2, 52))
    history = repo.history(HistoryQuery(type="Patient", id="race", count=1000))
    assert sorted(e.version for e in history.entries) == list(range(1, 52))
    assert repo.read("Patient", "race").version == 51


def test_parallel_update_as_create_of_one_new_id(repo: Repository) -> None:
    def create(_: int) -> tuple[int, bool]:
        stored, created = repo.update("Patient", "fresh", {**PATIENT, "id": "fresh"})
        return stored.version, created

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(create, range(10)))
    assert sorted(v for v, _ in results) == list(range(1, 11))
    assert sum(1 for _, created in results if created) == 1
