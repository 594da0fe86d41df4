"""The synthetic county's people pass identifier validation, mistyped numbers included."""

from __future__ import annotations

from countyhealth.fhir import systems
from countyhealth.fhir.identifiers import identifier_problem
from countyhealth.fhir.validation import validate_resource
from countyhealth.synthetic import SeedOptions, generate_resources


def test_every_person_validates_and_slipped_numbers_are_old() -> None:
    resources, truth = generate_resources(
        SeedOptions(residents=1500, seed=7, years=1, duplicate_share=0.05)
    )
    people = [r for r in resources if r["resourceType"] in ("Patient", "RelatedPerson")]
    assert [(p["id"], validate_resource(p)) for p in people if validate_resource(p)] == []
    identifiers = [
        i for p in people for i in p.get("identifier", []) if i["system"] == systems.ID_CARD
    ]
    old = [i for i in identifiers if i.get("use") == "old"]
    assert old, "the county plants duplicates with a slipped digit"
    assert all(identifier_problem(i["system"], i["value"]) is not None for i in old)
    legacy = [i for i in identifiers if len(i["value"]) == 15 and i.get("use") != "old"]
    assert legacy, "the county plants duplicates with the 15-digit number"
    passports = [
        i for p in people for i in p.get("identifier", []) if systems.passport_country(i["system"])
    ]
    assert passports and all(identifier_problem(i["system"], i["value"]) is None for i in passports)
    assert truth.duplicates
