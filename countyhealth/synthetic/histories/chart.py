"""The chart of one resident while its history is written: places of care, ids, output.

Every resource of a resident gets an id ``<prefix>-<resident key>-<n>`` from one counter, so
ids are stable for a given seed and say nothing about other residents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ...fhir.consent_grants import with_custodian
from ..ground_truth import GroundTruth
from ..network import Facility, Network
from ..options import SeedOptions
from ..residents import Resident


@dataclass(slots=True)
class LabEvent:
    """A recognisable result: the provincial item, when and where, and the resources."""

    item: str
    code: str
    window_days: int
    day: date
    minute: int
    organization: str
    report: str
    observation: str


class Chart:
    """One resident's history being written."""

    def __init__(
        self,
        resident: Resident,
        network: Network,
        truth: GroundTruth,
        rng: random.Random,
        patient_id: str | None = None,
        display: str | None = None,
    ) -> None:
        self.resident = resident
        self.network = network
        self.options: SeedOptions = network.options
        self.truth = truth
        self.rng = rng
        self.patient_id = patient_id or resident.patient_id
        self.subject = {
            "reference": f"Patient/{self.patient_id}",
            "display": display or resident.name_text,
        }
        self.key = self.patient_id.removeprefix("pat-")
        self.out: list[dict[str, Any]] = []
        self.labs: list[LabEvent] = []
        self.state: dict[str, Any] = {}  # shared between domains: profile, problem-list ids
        self._n = 0
        self._encounter_org: dict[str, str] = {}
        self.start = max(self.options.start, resident.birth)
        self.end = self.options.end
        village = resident.village
        self.township = village.township
        self.centre: Facility = network.health_centre(self.township)
        self.clinic: Facility = network.clinic_of_village.get(village.index, self.centre)
        self.hospital: Facility = network.lead_hospital(self.township)

    def id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self.key}-{self._n:x}"

    def add(self, resource: dict[str, Any]) -> None:
        """Add a resource of the history, tagged with the organisation that recorded it: an
        Encounter's service provider, the provider of the encounter a resource belongs to,
        the performing organisation of a report, else the resident's township centre."""
        if resource["resourceType"] != "Patient":
            with_custodian(resource, self._recorder(resource))
        self.out.append(resource)

    def _recorder(self, resource: dict[str, Any]) -> str:
        provider = resource.get("serviceProvider")
        if resource["resourceType"] == "Encounter" and isinstance(provider, dict):
            org = str(provider["reference"])
            self._encounter_org[resource["id"]] = org
            return org
        for key in ("encounter", "context"):
            ref = resource.get(key)
            if isinstance(ref, dict):
                found = self._encounter_org.get(str(ref.get("reference", "")).partition("/")[2])
                if found:
                    return found
        for performer in resource.get("performer") or []:
            ref = performer.get("reference", "") if isinstance(performer, dict) else ""
            if isinstance(ref, str) and ref.startswith("Organization/"):
                return ref
        return self.centre.org_ref

    @property
    def years(self) -> float:
        """Length of the resident's part of the period, in years (rates are per year)."""
        return max(0, (self.end - self.start).days) / 365.2425

    @property
    def mid_age(self) -> float:
        """Age in the middle of the resident's part of the period (rates depend on age)."""
        return self.age_on(self.start + (self.end - self.start) / 2)

    def age_on(self, day: date) -> float:
        return (day - self.resident.birth).days / 365.2425

    def day_between(self, first: date, last: date) -> date:
        """A day in [first, last); ``first`` when the range is empty."""
        span = (last - first).days
        return first + timedelta(days=self.rng.randrange(span)) if span > 0 else first

    def working_minute(self) -> int:
        """A time in clinic hours (08:00–11:30, 13:30–16:30)."""
        if self.rng.random() < 0.6:
            return self.rng.randint(480, 690)
        return self.rng.randint(810, 990)

    def any_minute(self) -> int:
        return self.rng.randint(0, 1439)

    def in_period(self, day: date) -> bool:
        return self.start <= day < self.end
