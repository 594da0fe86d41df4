"""The derived R4 definitions: provenance, counts and content."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from countyhealth.fhir import definitions
from tests.support.fhir_package import PACKAGE

ROOT = Path(__file__).resolve().parents[2]
SHA256 = "dce87f1b5b9341867033f7d1f544fa1b5232503f6d62813887ac6b8a8b6cb682"
DERIVED = (
    "structure.json.gz",
    "valuesets.json.gz",
    "search_parameters.json.gz",
    "compartments.json.gz",
)
needs_package = pytest.mark.skipif(not PACKAGE.exists(), reason=f"{PACKAGE} is missing")


def test_provenance_names_the_package() -> None:
    prov = definitions.provenance()
    assert prov["package"] == "hl7.fhir.r4.examples"
    assert prov["version"] == "4.0.1"
    assert prov["license"] == "CC0-1.0"
    assert prov["sha256"] == SHA256
    assert prov["script"] == "tools/derive_fhir_definitions.py"
    assert set(prov["files"]) == set(DERIVED)
    for name, size in prov["files"].items():
        assert (definitions.DATA_DIR / name).stat().st_size == size


@needs_package
def test_provenance_matches_the_tarball() -> None:
    assert hashlib.sha256(PACKAGE.read_bytes()).hexdigest() == definitions.provenance()["sha256"]


def test_counts() -> None:
    counts = definitions.provenance()["counts"]
    assert len(definitions.resource_types()) == counts["resourceTypes"] == 146
    assert definitions.abstract_resource_types() == {"Resource", "DomainResource"}
    assert len(definitions.search_parameters()) == counts["searchParameters"] == 1375
    assert len(definitions.primitive_types()) == counts["primitiveTypes"] == 20
    assert len(definitions.primitive_regexes()) == counts["primitiveRegexes"] == 19
    assert (
        counts["requiredValueSets"]
        == counts["expandedValueSets"] + counts["notExpandableValueSets"]
    )
    assert counts["expandedValueSets"] >= 200
    assert sorted(definitions.compartment_names()) == [
        "Device",
        "Encounter",
        "Patient",
        "Practitioner",
        "RelatedPerson",
    ]
    assert {"Patient", "Observation", "Bundle", "Parameters"} <= definitions.resource_types()
    assert {"HumanName", "Reference", "Extension", "Element"} <= definitions.complex_types()


def test_structure_of_patient() -> None:
    patient = definitions.structure("Patient")
    assert patient["kind"] == "resource"
    assert patient["base"] == "DomainResource"
    elements = {e["path"]: e for e in patient["elements"]}
    assert elements["Patient.id"]["type"] == [{"code": "id"}]
    assert elements["Patient.name"]["max"] == "*"
    assert (
        elements["Patient.gender"]["binding"]
        == "http://hl7.org/fhir/ValueSet/administrative-gender"
    )
    assert {t["code"] for t in elements["Patient.deceased[x]"]["type"]} == {"boolean", "dateTime"}
    assert elements["Patient.generalPractitioner"]["type"][0]["targets"] == [
        "Organization",
        "Practitioner",
        "PractitionerRole",
    ]
    assert elements["Patient.contact.id"]["type"] == [{"code": "string", "attribute": True}]
    with pytest.raises(KeyError):
        definitions.structure("NoSuchType")


def test_system_types_are_resolved() -> None:
    extension = {e["path"]: e for e in definitions.structure("Extension")["elements"]}
    assert extension["Extension.url"]["type"] == [{"code": "uri", "attribute": True}]
    assert extension["Extension.url"]["min"] == 1
    questionnaire = {e["path"]: e for e in definitions.structure("Questionnaire")["elements"]}
    assert questionnaire["Questionnaire.item.item"]["contentReference"] == "#Questionnaire.item"


def test_primitive_regexes() -> None:
    regexes = definitions.primitive_regexes()
    assert regexes["id"] == "[A-Za-z0-9\\-\\.]{1,64}"
    assert regexes["boolean"] == "true|false"
    assert "xhtml" not in regexes
    assert definitions.primitive_max_length()["string"] == 1048576


def test_required_codes() -> None:
    gender = "http://hl7.org/fhir/ValueSet/administrative-gender"
    assert definitions.required_codes(gender) == {"male", "female", "other", "unknown"}
    assert definitions.required_codes(gender + "|4.0.1") == definitions.required_codes(gender)
    assert definitions.required_codings(gender) == {
        "http://hl7.org/fhir/administrative-gender": frozenset(
            {"male", "female", "other", "unknown"}
        )
    }
    # A hierarchical code system: nested concepts are part of the expansion.
    assert {"active", "recurrence", "relapse", "resolved"} <= (
        definitions.required_codes("http://hl7.org/fhir/ValueSet/condition-clinical") or set()
    )
    # Explicit concept list from a system the package does not define.
    assert definitions.required_codes("http://hl7.org/fhir/ValueSet/units-of-time") == {
        "s",
        "min",
        "h",
        "d",
        "wk",
        "mo",
        "a",
    }
    not_expandable = definitions.not_expandable_valuesets()
    assert set(not_expandable) == {
        "http://hl7.org/fhir/ValueSet/mimetypes",
        "http://hl7.org/fhir/ValueSet/currencies",
        "http://hl7.org/fhir/ValueSet/ucum-units",
        "http://loinc.org/vs/LL379-9",
    }
    assert all(definitions.required_codes(url) is None for url in not_expandable)
    assert definitions.required_codes("http://example.org/unknown") is None


def test_search_parameters() -> None:
    by_url = {sp["url"]: sp for sp in definitions.search_parameters()}
    assert len(by_url) == 1375
    family = by_url["http://hl7.org/fhir/SearchParameter/individual-family"]
    assert family["code"] == "family"
    assert "Patient" in family["base"]
    assert family["type"] == "string"
    assert "Patient.name.family" in family["expression"]
    composite = by_url["http://hl7.org/fhir/SearchParameter/Observation-code-value-quantity"]
    assert composite["type"] == "composite"
    assert [c["definition"] for c in composite["component"]] == [
        "http://hl7.org/fhir/SearchParameter/clinical-code",
        "http://hl7.org/fhir/SearchParameter/Observation-value-quantity",
    ]
    subject = by_url["http://hl7.org/fhir/SearchParameter/Observation-subject"]
    assert "Patient" in subject["target"]
    assert sum(1 for sp in by_url.values() if "component" in sp) == 46


def test_compartments() -> None:
    patient = definitions.compartment("Patient")
    assert "subject" in patient["Observation"]
    assert patient["Patient"] == ["link"]
    assert "Organization" not in patient
    assert "encounter" in definitions.compartment("Encounter")["Observation"]
    with pytest.raises(KeyError):
        definitions.compartment("Nobody")


def test_nothing_is_loaded_at_import() -> None:
    code = (
        "import countyhealth.fhir.definitions as d, countyhealth.fhir.validation as v;"
        "assert d._load.cache_info().currsize == 0;"
        "assert d.resource_types.cache_info().currsize == 0;"
        "assert not v._READY"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@needs_package
@pytest.mark.slow
def test_derived_data_is_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "derive_fhir_definitions", ROOT / "tools" / "derive_fhir_definitions.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--package", str(PACKAGE), "--output", str(tmp_path)]) == 0
    for name in DERIVED:
        assert (tmp_path / name).read_bytes() == (definitions.DATA_DIR / name).read_bytes(), name
