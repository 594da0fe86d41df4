"""Residents: age/sex pyramid, identity numbers, residence status, names, households."""

from __future__ import annotations

from collections import Counter

from countyhealth.fhir import systems
from countyhealth.fhir.identifiers import gb11643
from countyhealth.synthetic import datafiles

from .conftest import County, age_on


def _id_card(patient: dict) -> str | None:
    for ident in patient.get("identifier", []):
        if ident["system"] == systems.ID_CARD:
            return str(ident["value"])
    return None


def test_age_pyramid_matches_the_published_totals(county: County) -> None:
    published = datafiles.load("population")["published_totals"]
    end = county.options.end
    ages = [age_on(p["birthDate"], end) for p in county.residents()]
    n = len(ages)
    assert n == county.options.residents
    shares = {
        "percent_0_14": sum(a < 15 for a in ages) / n * 100,
        "percent_15_59": sum(15 <= a < 60 for a in ages) / n * 100,
        "percent_60_plus": sum(a >= 60 for a in ages) / n * 100,
        "percent_65_plus": sum(a >= 65 for a in ages) / n * 100,
    }
    for key, value in shares.items():
        assert abs(value - published[key]) < 2.5, (key, value)
    males = sum(p["gender"] == "male" for p in county.residents()) / n * 100
    assert abs(males - published["percent_male"]) < 3.0


def test_every_resident_id_number_is_valid_and_matches_birth_and_sex(county: County) -> None:
    checked = 0
    for p in county.residents():
        number = _id_card(p)
        if number is None:
            continue
        parsed = gb11643.parse(number, today=county.options.end)
        assert parsed.birth_date.isoformat() == p["birthDate"]
        assert parsed.sex == p["gender"]
        checked += 1
    assert checked > 0.97 * county.options.residents
    numbers = [n for p in county.residents() if (n := _id_card(p))]
    assert len(numbers) == len(set(numbers)), "identity numbers are unique"


def test_only_planted_errors_break_identity_numbers(county: County) -> None:
    broken = {
        d["duplicate"].split("/")[1]
        for d in county.truth.duplicates
        if not d["id_number_valid"] and "missing-id" not in d["errors"]
    }
    for p in county.of("Patient"):
        number = _id_card(p)
        if number is None:
            continue
        valid = len(number) == 18 and gb11643.is_valid(number, today=county.options.end)
        assert valid or p["id"] in broken, p["id"]


def test_residence_status_migrants_and_foreigners(county: County) -> None:
    status = Counter()
    for p in county.residents():
        ext = next(e for e in p["extension"] if e["url"] == systems.EXT_RESIDENCE_STATUS)
        code = ext["valueCoding"]["code"]
        status[code] += 1
        if code == "foreign":
            assert _id_card(p) is None
            assert any(i["system"].startswith(systems.PASSPORT) for i in p["identifier"])
        elif code == "migrant" and (number := _id_card(p)):
            assert number[:6] != county.options.county_code
    n = county.options.residents
    assert abs(status["migrant"] / n - 0.08) < 0.025
    assert status["foreign"] >= 1


def test_surnames_follow_a_zhejiang_distribution(county: County) -> None:
    surnames = Counter(p["name"][0]["family"] for p in county.residents() if _id_card(p))
    top = [s for s, _ in surnames.most_common(5)]
    assert "陈" in top and "王" in top
    assert len(surnames) > 60


def test_households_group_their_members(county: County) -> None:
    patients = {p["id"] for p in county.of("Patient")}
    members = [
        m["entity"]["reference"].split("/")[1] for g in county.of("Group") for m in g["member"]
    ]
    assert len(members) == county.options.residents
    assert set(members) <= patients
    sizes = [g["quantity"] for g in county.of("Group")]
    assert 3.2 > sum(sizes) / len(sizes) > 1.8


def test_insurance_covers_almost_everyone(county: County) -> None:
    covered = {c["beneficiary"]["reference"] for c in county.of("Coverage")}
    assert len(covered) > 0.97 * county.options.residents
    kinds = Counter(c["type"]["coding"][0]["code"] for c in county.of("Coverage"))
    assert kinds["310"] > 0 and kinds["390"] > kinds["310"] and kinds["commercial"] > 0
