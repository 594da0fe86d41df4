"""The whole county as a stream of FHIR resources, household by household.

First the structure (geography, institutions, staff, teams, emergency assets), then each
household: its residents' Patients, coverages and household Group, their histories, and any
planted duplicate registration. Memory stays bounded: nothing is kept between households
but the network, the id counters and the ground truth lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import prevalence
from .duplicates import maybe_duplicate
from .geography import build_county, geography_resources
from .ground_truth import GroundTruth
from .histories import Chart, write_history
from .households import households
from .network import build_network
from .options import SeedOptions
from .outbreaks import plan_outbreaks
from .patient import coverages, household_group, patient
from .residents import Resident, ResidentFactory
from .rng import stream


@dataclass(slots=True)
class Batch:
    """Resources to write and how many residents they complete."""

    resources: list[dict[str, Any]]
    residents: int


def generate(options: SeedOptions, truth: GroundTruth) -> Iterator[Batch]:
    """Every resource of the county for ``options``; fills ``truth`` as it goes."""
    county = build_county(options)
    network = build_network(options, county)
    outbreaks = plan_outbreaks(options, county, truth)
    structure = list(geography_resources(county)) + network.resources
    truth.network = {
        "townships": len(county.townships),
        "villages": len(county.villages),
        "hospitals": len(network.hospitals),
        "health_centres": len(network.health_centres),
        "village_clinics": len(network.clinics),
        "family_doctor_stations": len(network.stations),
        "ambulance_stations": len(network.ambulance_stations),
        "aeds": sum(1 for r in structure if r["resourceType"] == "Device"),
        "practitioners": sum(1 for r in structure if r["resourceType"] == "Practitioner"),
    }
    yield Batch(structure, 0)
    factory = ResidentFactory(network)
    start, end = options.start, options.end
    for index, household in enumerate(households(options.seed, options.residents)):
        members = factory.residents(household, index)
        out: list[dict[str, Any]] = []
        if options.patients_only:
            for r in members:
                out.append(patient(r, network))
                duplicate = maybe_duplicate(r, network, truth, factory.keys)
                out.extend(d for d in duplicate if d["resourceType"] == "Patient")
                _census(truth, r)
            truth.population["households"] += 1
            yield Batch(out, len(members))
            continue
        for r in members:
            out.append(patient(r, network))
            out.extend(coverages(r, network))
        out.append(household_group(members, index))
        newborns: dict[int, list[Resident]] = {}
        for r in members:
            if r.mother is not None and start <= r.birth < end:
                newborns.setdefault(r.mother.number, []).append(r)
        for r in members:
            chart = Chart(r, network, truth, stream(options.seed, "history", r.key))
            write_history(chart, outbreaks, newborns.get(r.number, []))
            out.extend(chart.out)
            out.extend(maybe_duplicate(r, network, truth, factory.keys))
            _census(truth, r)
        truth.population["households"] += 1
        yield Batch(out, len(members))


def _census(truth: GroundTruth, r: Resident) -> None:
    p = truth.population
    p["residents"] += 1
    p[r.status] += 1
    p[r.sex] += 1
    if r.id_number:
        p["with_id_number"] += 1
    if r.station is not None:
        p["contracted_family_doctor"] += 1
    if r.insurance:
        p[f"insurance/{r.insurance}"] += 1
    if r.commercial:
        p["insurance/commercial"] += 1
    group = (
        "0-14" if r.age < 15 else ("15-59" if r.age < 60 else ("60-64" if r.age < 65 else "65+"))
    )
    truth.age_groups[group] += 1
    for rule in prevalence.rules():
        entry = truth.prevalence.setdefault(
            rule.name,
            {
                "icd10": rule.icd10,
                "min_age": rule.min_age,
                "target_share": rule.target_share,
                "denominator": 0,
                "cases": 0,
            },
        )
        if r.age >= rule.min_age:
            entry["denominator"] += 1
            if rule.name in r.conditions:
                entry["cases"] += 1
