"""Histories: prevalences, references, care levels, child health, prescriptions, referrals."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from countyhealth.fhir import systems
from countyhealth.synthetic import datafiles

from .conftest import County, age_on


def _references(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            found.append(ref)
        for value in node.values():
            found.extend(_references(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_references(value))
    return found


def test_every_reference_resolves(county: County) -> None:
    known = {f"{r['resourceType']}/{r['id']}" for r in county.resources}
    missing = Counter(ref for r in county.resources for ref in _references(r) if ref not in known)
    assert not missing, missing.most_common(5)


def test_ids_are_unique_and_valid(county: County) -> None:
    keys = [(r["resourceType"], r["id"]) for r in county.resources]
    assert len(keys) == len(set(keys))
    assert all(0 < len(r["id"]) <= 64 for r in county.resources)


def _problem(county: County, icd10: str) -> set[str]:
    return {
        c["subject"]["reference"].split("/")[1]
        for c in county.of("Condition")
        if c["code"]["coding"][0]["code"] == icd10
        and c["category"][0]["coding"][0]["code"] == "problem-list-item"
    }


def test_chronic_prevalence_within_tolerance(county: County) -> None:
    end = county.options.end
    adults = [p["id"] for p in county.residents() if age_on(p["birthDate"], end) >= 35]
    hypertension = _problem(county, "I10")
    diabetes = _problem(county, "E11.9")
    ht = sum(p in hypertension for p in adults) / len(adults)
    dm = sum(p in diabetes for p in adults) / len(adults)
    assert abs(ht - 0.25) < 0.035, ht
    assert abs(dm - 0.10) < 0.025, dm
    young = [p["id"] for p in county.residents() if age_on(p["birthDate"], end) < 18]
    assert not any(p in hypertension for p in young)


def test_chronic_follow_ups_are_at_the_village_level(county: County) -> None:
    follow_ups = [
        e
        for e in county.of("Encounter")
        if e["type"][0]["coding"][0]["code"] == "chronic-follow-up"
    ]
    providers = Counter(
        e["serviceProvider"]["reference"].split("/")[1].split("-")[1] for e in follow_ups
    )
    assert providers["vc"] > providers["thc"] > 0
    patients = _problem(county, "I10") | _problem(county, "E11.9")
    per_patient = Counter(e["subject"]["reference"].split("/")[1] for e in follow_ups)
    managed = [p for p in patients if p in per_patient]
    assert len(managed) > 0.9 * len(patients)
    assert (
        sum(per_patient[p] for p in managed) / len(managed) >= 3.5
    )  # ≥ 4 a year, some start later


def test_blood_pressure_values_are_plausible(county: County) -> None:
    for obs in county.of("Observation"):
        if obs["code"]["coding"][0]["code"] != "85354-9":
            continue
        sbp, dbp = (c["valueQuantity"]["value"] for c in obs["component"])
        assert 80 <= sbp <= 230 and 45 <= dbp <= 140 and dbp < sbp


def test_lab_results_carry_recognition_codes_and_units(county: County) -> None:
    items = datafiles.load("labs")["items"]
    by_loinc = {v["loinc"]: v for v in items.values()}
    seen = 0
    for obs in county.of("Observation"):
        code = obs["code"]["coding"][0]
        spec = by_loinc.get(code["code"])
        if spec is None or obs["category"][0]["coding"][0]["code"] != "laboratory":
            continue
        assert obs["valueQuantity"]["code"] == spec["unit"]
        if spec["recognition"] and "issued" in obs:
            assert obs["code"]["coding"][1]["code"] == spec["recognition"]["code"]
            seen += 1
    assert seen > 100


def test_children_have_growth_visits_and_immunisations(county: County) -> None:
    birth = {p["id"]: date.fromisoformat(p["birthDate"]) for p in county.of("Patient")}
    vaccines = set(datafiles.load("codesystems")["nip_vaccine"])
    per_child: Counter[str] = Counter()
    for imm in county.of("Immunization"):
        pid = imm["patient"]["reference"].split("/")[1]
        day = date.fromisoformat(imm["occurrenceDateTime"][:10])
        assert birth[pid] <= day < county.options.end
        assert imm["vaccineCode"]["coding"][0]["code"] in vaccines
        per_child[pid] += 1
    assert per_child and max(per_child.values()) <= 22
    growth = [
        o
        for o in county.of("Observation")
        if o["code"]["coding"][0]["code"] in ("29463-7", "8306-3")
    ]
    child_visits = [
        e for e in county.of("Encounter") if e["type"][0]["coding"][0]["code"] == "child-health"
    ]
    assert child_visits and growth
    for o in growth:
        pid = o["subject"]["reference"].split("/")[1]
        months = (date.fromisoformat(o["effectiveDateTime"][:10]) - birth[pid]).days / 30.4
        if months < 72 and o["code"]["coding"][0]["code"] == "29463-7":
            assert 35 > o["valueQuantity"]["value"] > 1.5


def test_births_link_mother_and_child(county: County) -> None:
    births = [o for o in county.of("Observation") if o["code"]["coding"][0]["code"] == "8339-4"]
    assert births
    mothers = county.of("RelatedPerson")
    assert mothers and all(m["relationship"][0]["coding"][0]["code"] == "MTH" for m in mothers)
    deliveries = [
        e for e in county.of("Encounter") if e["type"][0]["coding"][0]["code"] == "delivery"
    ]
    assert deliveries and all(e["class"]["code"] == "IMP" for e in deliveries)


def test_long_prescriptions_follow_the_rules(county: County) -> None:
    long = [
        m
        for m in county.of("MedicationRequest")
        if any(e["url"] == systems.EXT_LONG_PRESCRIPTION for e in m.get("extension", []))
    ]
    assert long
    for m in long:
        days = m["dispenseRequest"]["expectedSupplyDuration"]["value"]
        assert 28 < days <= 84
        atc = next(
            c["code"]
            for c in m["medicationCodeableConcept"]["coding"]
            if c["system"] == systems.ATC
        )
        assert not atc.startswith("J01"), "antimicrobials are never long prescriptions"


def test_referral_counts_match_the_ground_truth(county: County) -> None:
    direction = {}
    for sr in county.of("ServiceRequest"):
        ext = next(e for e in sr["extension"] if e["url"] == systems.EXT_REFERRAL_DIRECTION)
        direction[sr["id"]] = ext["valueCoding"]["code"]
    counted: Counter[str] = Counter()
    for task in county.of("Task"):
        if task["code"]["coding"][0]["code"] != "referral":
            continue
        counted[f"{direction[task['focus']['reference'].split('/')[1]]}/{task['status']}"] += 1
    truth = county.truth.to_dict()["referrals"]
    assert dict(counted) == truth["by_status"]
    assert truth["total"]["up"] > 0 and truth["total"]["down"] > 0


def test_emergency_incidents_have_a_dispatch(county: County) -> None:
    dispatches = [t for t in county.of("Task") if t["code"]["coding"][0]["code"] == "dispatch"]
    assert len(dispatches) == county.truth.events["emergency-incidents"] > 0
    for t in dispatches:
        minutes = next(
            i["valueDecimal"]
            for i in t["input"]
            if i["type"]["coding"][0]["code"] == "response-minutes"
        )
        assert 90 > minutes > 1
