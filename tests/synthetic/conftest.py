"""A synthetic county generated once per test session, in memory (no database)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from countyhealth.synthetic import GroundTruth, SeedOptions, generate_resources


@dataclass
class County:
    options: SeedOptions
    resources: list[dict[str, Any]]
    truth: GroundTruth
    by_type: dict[str, list[dict[str, Any]]]

    def of(self, rtype: str) -> list[dict[str, Any]]:
        return self.by_type.get(rtype, [])

    @property
    def duplicate_ids(self) -> set[str]:
        return {d["duplicate"].split("/")[1] for d in self.truth.duplicates}

    def residents(self) -> list[dict[str, Any]]:
        """Patients that are residents (not the planted second registrations)."""
        dupes = self.duplicate_ids
        return [p for p in self.of("Patient") if p["id"] not in dupes]


def age_on(birth: str, day: date) -> int:
    b = date.fromisoformat(birth)
    return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@pytest.fixture(scope="session")
def county() -> County:
    options = SeedOptions(residents=3000, seed=7, years=1, duplicate_share=0.03)
    resources, truth = generate_resources(options)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in resources:
        by_type[r["resourceType"]].append(r)
    return County(options, resources, truth, dict(by_type))
