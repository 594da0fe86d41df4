"""Planted duplicate registrations for identity matching (MPI tests and benchmarks).

A configurable share of residents is registered a second time at a county hospital, as
happens when a patient comes without a card: the clerk makes one or two of the typical
errors — a look-alike character or a slipped digit (typo), a character that sounds the same
(homophone), no identity number, day and month swapped, the old 15-digit number — and the
second record gets a visit or two of its own. The ground truth lists each pair with its
errors; nothing in the records themselves says which is which.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from ..fhir.identifiers import gb11643
from . import datafiles
from .fhirtypes import ref
from .ground_truth import GroundTruth
from .histories.chart import Chart
from .histories.records import encounter, lab_panel, medication
from .names import homophones, lookalikes
from .network import Facility, Network
from .patient import home_address, id_card_identifier, mrn_identifier
from .residents import Resident
from .rng import RecordKeys, int_between, stream

ERRORS = tuple(datafiles.load("duplicates")["errors"])  # in the order they are applied


def maybe_duplicate(
    resident: Resident, network: Network, truth: GroundTruth, keys: RecordKeys
) -> list[dict[str, Any]]:
    """The resources of a second registration of ``resident``, or nothing (most residents)."""
    options = network.options
    rng = stream(options.seed, "duplicate", resident.key)
    if not resident.is_chinese or rng.random() >= options.duplicate_share:
        return []
    feasible = _feasible(resident)
    rules = datafiles.load("duplicates")
    count = 2 if rng.random() < rules["two_errors_share"] and len(feasible) > 1 else 1
    errors = rng.sample(feasible, count)
    if "missing-id" in errors and "old-15-digit-id" in errors:
        errors.remove("old-15-digit-id")
    family, given = resident.family, resident.given
    number = resident.id_number
    birth = resident.birth
    details: dict[str, Any] = {}
    for error in [e for e in ERRORS if e in errors]:  # the number changes form last
        if error == "homophone":
            family, given, details["homophone"] = _swap_character(rng, family, given, homophones())
        elif error == "typo":
            swapped = _swap_character(rng, family, given, lookalikes())
            if swapped[2] is not None:
                family, given, details["typo"] = swapped
            elif number:
                number, details["typo"] = _transpose_digits(rng, number)
        elif error == "missing-id":
            number = None
        elif error == "swapped-day-month":
            birth = date(birth.year, birth.day, birth.month)
            details["swapped-day-month"] = birth.isoformat()
        elif error == "old-15-digit-id" and number:
            number = gb11643.downgrade(number)
    key = keys.next()
    patient_id = f"pat-{key}"
    hospital = _registration_site(rng, network, resident)
    out: list[dict[str, Any]] = [
        _patient(resident, patient_id, family, given, number, birth, hospital, network, rng)
    ]
    chart = Chart(resident, network, truth, rng, patient_id=patient_id, display=family + given)
    _visits(chart, hospital)
    out.extend(chart.out)
    truth.duplicates.append(
        {
            "original": f"Patient/{resident.patient_id}",
            "duplicate": f"Patient/{patient_id}",
            "errors": sorted(errors),
            "details": details,
            "registered_at": hospital.org_ref,
            "id_number_valid": bool(number)
            and len(number or "") == 18
            and gb11643.is_valid(number or "", today=options.end),
        }
    )
    return out


def _feasible(r: Resident) -> list[str]:
    out = ["typo"]
    name = r.family + r.given
    if any(ch in homophones() for ch in name):
        out.append("homophone")
    if r.id_number:
        out.append("missing-id")
        if r.birth.year < 2000:
            out.append("old-15-digit-id")
    if r.birth.day <= 12 and r.birth.day != r.birth.month:
        out.append("swapped-day-month")
    return out


def _swap_character(
    rng: random.Random, family: str, given: str, table: dict[str, list[str]]
) -> tuple[str, str, dict[str, str] | None]:
    """Replace one character of the name by one from ``table``; None when nothing matches."""
    name = family + given
    positions = [i for i, ch in enumerate(name) if ch in table]
    if not positions:
        return family, given, None
    i = rng.choice(positions)
    new = rng.choice(table[name[i]])
    changed = name[:i] + new + name[i + 1 :]
    return (
        changed[: len(family)],
        changed[len(family) :],
        {"from": name[i], "to": new, "position": str(i)},
    )


def _transpose_digits(rng: random.Random, number: str) -> tuple[str, dict[str, str]]:
    """Swap two neighbouring different digits of the sequence and date part (a typing slip)."""
    candidates = [i for i in range(8, 16) if number[i] != number[i + 1]]  # keeps the century
    i = rng.choice(candidates) if candidates else 14
    slipped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    return slipped, {"from": number, "to": slipped}


def _registration_site(rng: random.Random, network: Network, r: Resident) -> Facility:
    lead = network.lead_hospital(r.village.township)
    if r.age < 14:
        return network.hospital("h04")
    if rng.random() < datafiles.load("duplicates")["registered_at_lead_hospital_share"]:
        return lead
    return network.hospitals[rng.randrange(len(network.hospitals))]


def _patient(
    r: Resident,
    patient_id: str,
    family: str,
    given: str,
    number: str | None,
    birth: date,
    hospital: Facility,
    network: Network,
    rng: random.Random,
) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = []
    if number:
        identifier = id_card_identifier(number)
        try:
            gb11643.parse_any(number)
        except gb11643.InvalidIdNumber:
            # A mistyped number kept from the hospital's old records: FHIR use "old" (no longer
            # considered valid, kept for search and matching), which write validation accepts.
            identifier["use"] = "old"
        identifiers.append(identifier)
    identifiers.append(mrn_identifier(hospital.org_id, f"{rng.randrange(10**9):09d}"))
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": identifiers,
        "active": True,
        "name": [{"use": "official", "text": family + given, "family": family, "given": [given]}],
    }
    rules = datafiles.load("duplicates")
    roll = rng.random()
    if r.phone and roll < rules["same_phone_share"]:
        resource["telecom"] = [{"system": "phone", "value": r.phone, "use": "mobile"}]
    elif roll < rules["same_phone_share"] + rules["other_phone_share"]:
        resource["telecom"] = [
            {"system": "phone", "value": f"13{rng.randrange(10**9):09d}", "use": "mobile"}
        ]
    resource["gender"] = r.sex
    resource["birthDate"] = birth.isoformat()
    address = home_address(r, network.county.name)
    if rng.random() < rules["address_without_house_number_share"]:  # no house number taken
        address.pop("extension", None)
        address["line"] = address["line"][:1]
        address["text"] = address["text"].removesuffix(r.house_number)
    resource["address"] = [address]
    resource["managingOrganization"] = ref(hospital.org_ref, hospital.name)
    return resource


def _visits(chart: Chart, hospital: Facility) -> None:
    rules = datafiles.load("duplicates")
    rng = chart.rng
    reason = (rules["visit_reason"][0], rules["visit_reason"][1])
    for _ in range(int_between(rng, rules["visits"])):
        day = chart.day_between(chart.start, chart.end)
        dept = hospital.department_of("03", "03.01", "07", "20")
        doctor = hospital.doctor(rng, dept)
        minute = chart.working_minute()
        enc = encounter(
            chart, "outpatient", hospital, dept, day, minute, reasons=[reason], practitioner=doctor
        )
        if rng.random() < rules["visit_lab_share"]:
            lab_panel(chart, "cbc", hospital, enc, doctor, day, minute + 10)
        if rng.random() < rules["visit_drug_share"]:
            medication(chart, rules["visit_drug"], day, minute + 15, doctor, enc)
    chart.truth.count("duplicate-visits")
