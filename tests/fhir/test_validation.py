"""Validation of R4 resources: one test per rule, then every official example instance."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import definitions
from countyhealth.fhir.primitives import check_primitive, xsd_to_python
from countyhealth.fhir.validation import check_resource, precompile, validate_resource
from tests.fhir.known_invalid_examples import KNOWN_INVALID_EXAMPLES

UUID = "urn:uuid:9e1b2f6a-3c1d-4a8e-9f0b-2d3c4e5f6a7b"


def found(resource: object, **kwargs: bool) -> list[tuple[str, str]]:
    """(code, expression) of every issue."""
    issues = validate_resource(resource, **kwargs)
    for issue in issues:
        assert len(issue.expression) <= 1
        assert issue.diagnostics
    return [(i.code, i.expression[0] if i.expression else "") for i in issues]


def patient(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", **fields}


def observation(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        **fields,
    }


def with_extension(**value: Any) -> dict[str, Any]:
    return patient(extension=[{"url": "http://example.org/fhir/ext", **value}])


EXT_VALUE = "Patient.extension[0].value.ofType({})"


# --------------------------------------------------------------------------- valid resources


def test_minimal_resources_are_valid() -> None:
    assert found(patient()) == []
    assert found(observation()) == []
    assert found({"resourceType": "Basic", "code": {"text": "x"}}) == []


def test_rich_patient_is_valid() -> None:
    resource = patient(
        meta={"versionId": "3", "lastUpdated": "2024-05-01T08:30:00.123+08:00"},
        text={
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">王小明</div>',
        },
        identifier=[{"system": "urn:oid:2.16.156.10011.1.1", "value": "110101199003071234"}],
        active=True,
        name=[{"use": "official", "family": "王", "given": ["小\u3000明"]}],
        telecom=[{"system": "phone", "value": "+86 10 1234 5678", "use": "mobile"}],
        gender="male",
        birthDate="1990-03-07",
        _birthDate={"extension": [{"url": "http://example.org/t", "valueTime": "08:15:00"}]},
        deceasedBoolean=False,
        address=[{"city": "某县", "line": ["幸福路 1 号"], "period": {"start": "2000"}}],
        multipleBirthInteger=2,
        contact=[{"name": {"text": "李四"}, "gender": "female"}],
        managingOrganization={"reference": "Organization/org-1", "display": "县医院"},
        photo=[{"contentType": "image/png", "data": "aGVsbG8gd29y\nbGQ="}],
    )
    assert found(resource) == []


def test_check_resource_passes_valid_and_raises_all_issues() -> None:
    check_resource(patient())
    with pytest.raises(OperationOutcomeError) as caught:
        check_resource(patient(gender="man", active="yes"))
    assert [i.code for i in caught.value.issues] == ["CH-3006", "CH-3008"]
    assert caught.value.status == 400


# --------------------------------------------------------------------------- resource level


@pytest.mark.parametrize("value", [[], "Patient", None, 3])
def test_resource_must_be_an_object(value: object) -> None:
    assert found(value) == [("CH-1002", "")]


def test_resource_type_is_required_known_and_concrete() -> None:
    assert found({"id": "x"}) == [("CH-2004", "resourceType")]
    assert found({"resourceType": "Patients"}) == [("CH-2004", "resourceType")]
    assert found({"resourceType": 7}) == [("CH-2004", "resourceType")]
    assert found({"resourceType": "DomainResource"}) == [("CH-2004", "resourceType")]
    assert found({"resourceType": "Resource"}) == [("CH-2004", "resourceType")]


@pytest.mark.parametrize("id_", ["a", "A-b.9", "x" * 64])
def test_valid_resource_ids(id_: str) -> None:
    assert found(patient(id=id_)) == []


@pytest.mark.parametrize("id_", ["", "a b", "a/b", "a_b", "x" * 65, "病人1"])
def test_invalid_resource_ids(id_: str) -> None:
    assert found(patient(id=id_)) == [("CH-2007", "Patient.id")]


def test_resource_id_of_wrong_json_type() -> None:
    assert found(patient(id=12)) == [("CH-3008", "Patient.id")]


def test_id_typed_element_that_is_not_a_resource_id() -> None:
    assert found(patient(meta={"versionId": "a/b"})) == [("CH-3005", "Patient.meta.versionId")]


# --------------------------------------------------------------------------- unknown elements


def test_unknown_elements() -> None:
    assert found(patient(nickname="x")) == [("CH-3002", "Patient.nickname")]
    assert found(patient(name=[{"family": "x", "middle": "y"}])) == [
        ("CH-3002", "Patient.name[0].middle")
    ]
    assert found(patient(contact=[{"gender": "male", "age": 3}])) == [
        ("CH-3002", "Patient.contact[0].age")
    ]
    assert found(patient(name=[{"resourceType": "HumanName", "text": "x"}])) == [
        ("CH-3002", "Patient.name[0].resourceType")
    ]


def test_unknown_element_diagnostics_name_the_element() -> None:
    (issue,) = validate_resource(patient(nickname="x"))
    assert "Patient.nickname" in issue.diagnostics
    assert "unknown element" in issue.diagnostics


def test_choice_element_needs_an_allowed_type_suffix() -> None:
    assert found(observation(valueString="x")) == []
    assert found(observation(valueQuantity={"value": 1})) == []
    assert found(observation(valueFoo="x")) == [("CH-3002", "Observation.valueFoo")]
    assert found(observation(value="x")) == [("CH-3002", "Observation.value")]
    assert found(observation(valuestring="x")) == [("CH-3002", "Observation.valuestring")]
    assert found(patient(deceasedString="x")) == [("CH-3002", "Patient.deceasedString")]
    (issue,) = validate_resource(patient(deceasedString="x"))
    assert "boolean, dateTime" in issue.diagnostics


def test_choice_element_takes_one_type() -> None:
    assert found(observation(valueString="x", valueBoolean=True)) == [
        ("CH-3004", "Observation.value")
    ]
    assert found(observation(valueString="x", _valueString={"id": "a"})) == []


def test_underscore_companions_only_for_primitives() -> None:
    assert found(patient(_gender={"extension": [{"url": "http://x", "valueCode": "a"}]})) == []
    assert found(patient(_name=[{"id": "a"}])) == [("CH-3002", "Patient._name")]
    assert found(patient(_unknown={"id": "a"})) == [("CH-3002", "Patient._unknown")]
    # Element.id and Extension.url are attributes: no companions.
    assert found(patient(name=[{"id": "n1", "_id": {"id": "x"}, "text": "x"}])) == [
        ("CH-3002", "Patient.name[0]._id")
    ]
    assert found(with_extension(valueString="x", _url={"id": "x"})) == [
        ("CH-3002", "Patient.extension[0]._url")
    ]


def test_companion_content_is_checked() -> None:
    assert found(patient(birthDate="2000", _birthDate={"foo": 1})) == [
        ("CH-3002", "Patient.birthDate.foo")
    ]
    assert found(patient(_birthDate={"extension": [{"valueString": "x"}]})) == [
        ("CH-3003", "Patient.birthDate.extension[0].url")
    ]
    assert found(patient(_birthDate=[{"id": "x"}])) == [("CH-3004", "Patient.birthDate")]
    assert found(patient(_birthDate="x")) == [("CH-3008", "Patient.birthDate")]
    assert found(patient(birthDate="2000", _birthDate={})) == [("CH-3003", "Patient.birthDate")]


# --------------------------------------------------------------------------- cardinality


def test_single_valued_element_must_not_be_an_array() -> None:
    assert found(patient(gender=["male"])) == [("CH-3004", "Patient.gender")]
    assert found(patient(maritalStatus=[{"text": "x"}])) == [("CH-3004", "Patient.maritalStatus")]


def test_repeating_element_must_be_an_array() -> None:
    assert found(patient(name={"family": "x"})) == [("CH-3004", "Patient.name")]
    assert found(patient(name=[{"given": "x"}])) == [("CH-3004", "Patient.name[0].given")]


def test_arrays_must_not_be_empty() -> None:
    assert found(patient(name=[])) == [("CH-3004", "Patient.name")]
    assert found(patient(name=[{"given": [], "text": "x"}])) == [
        ("CH-3004", "Patient.name[0].given")
    ]


def test_arrays_must_not_contain_null() -> None:
    assert found(patient(name=[None])) == [("CH-3004", "Patient.name[0]")]
    assert found(patient(name=[{"given": ["a", None]}])) == [
        ("CH-3004", "Patient.name[0].given[1]")
    ]


def test_primitive_arrays_align_with_their_companion() -> None:
    ext = {"extension": [{"url": "http://example.org/x", "valueBoolean": True}]}
    assert found(patient(name=[{"given": ["a", None], "_given": [None, ext]}])) == []
    assert found(patient(name=[{"_given": [ext]}])) == []
    assert found(patient(name=[{"given": ["a", None], "_given": [None, None]}])) == [
        ("CH-3004", "Patient.name[0].given[1]")
    ]
    assert found(patient(name=[{"given": ["a", "b"], "_given": [ext]}])) == [
        ("CH-3004", "Patient.name[0].given")
    ]
    assert found(patient(name=[{"_given": [None]}])) == [("CH-3004", "Patient.name[0].given[0]")]
    assert found(patient(name=[{"given": ["a"], "_given": ext}])) == [
        ("CH-3004", "Patient.name[0].given")
    ]
    assert found(patient(name=[{"given": ["a"], "_given": ["x"]}])) == [
        ("CH-3008", "Patient.name[0].given[0]")
    ]


def test_required_elements() -> None:
    resource = observation()
    del resource["status"]
    assert found(resource) == [("CH-3003", "Observation.status")]
    resource["_status"] = {"extension": [{"url": "http://example.org/x", "valueString": "?"}]}
    assert found(resource) == []
    del resource["code"]
    assert found(resource) == [("CH-3003", "Observation.code")]


def test_required_elements_in_datatypes_and_backbones() -> None:
    assert found(patient(extension=[{"valueString": "x"}])) == [
        ("CH-3003", "Patient.extension[0].url")
    ]
    assert found(patient(link=[{"type": "seealso"}])) == [("CH-3003", "Patient.link[0].other")]


def test_required_choice_element() -> None:
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
    }
    assert found(request) == [("CH-3003", "MedicationRequest.medication")]
    request["medicationCodeableConcept"] = {"text": "阿司匹林"}
    assert found(request) == []


def test_elements_must_have_content() -> None:
    assert found(patient(name=[{}])) == [("CH-3003", "Patient.name[0]")]
    assert found(patient(maritalStatus={"id": "only-an-id"})) == [
        ("CH-3003", "Patient.maritalStatus")
    ]


def test_null_is_not_a_value() -> None:
    assert found(patient(gender=None)) == [("CH-3008", "Patient.gender")]
    assert found(patient(maritalStatus=None)) == [("CH-3008", "Patient.maritalStatus")]


# --------------------------------------------------------------------------- primitives


def test_boolean() -> None:
    assert found(patient(active=False)) == []
    assert found(patient(active="true")) == [("CH-3008", "Patient.active")]
    assert found(patient(active=1)) == [("CH-3008", "Patient.active")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, []),
        (-5, []),
        (2**31 - 1, []),
        (2**31, [("CH-3005", EXT_VALUE.format("integer"))]),
        (1.5, [("CH-3008", EXT_VALUE.format("integer"))]),
        (2.0, [("CH-3008", EXT_VALUE.format("integer"))]),
        ("1", [("CH-3008", EXT_VALUE.format("integer"))]),
        (True, [("CH-3008", EXT_VALUE.format("integer"))]),
    ],
)
def test_integer(value: object, expected: list[tuple[str, str]]) -> None:
    assert found(with_extension(valueInteger=value)) == expected


def test_unsigned_and_positive_int() -> None:
    assert found(with_extension(valueUnsignedInt=0)) == []
    assert found(with_extension(valueUnsignedInt=-1)) == [
        ("CH-3005", EXT_VALUE.format("unsignedInt"))
    ]
    assert found(with_extension(valuePositiveInt=1)) == []
    assert found(with_extension(valuePositiveInt=0)) == [
        ("CH-3005", EXT_VALUE.format("positiveInt"))
    ]


def test_decimal() -> None:
    assert found(with_extension(valueDecimal=1)) == []
    assert found(with_extension(valueDecimal=-0.25)) == []
    assert found(with_extension(valueDecimal="1.0")) == [("CH-3008", EXT_VALUE.format("decimal"))]
    assert found(with_extension(valueDecimal=False)) == [("CH-3008", EXT_VALUE.format("decimal"))]


def test_strings() -> None:
    assert found(patient(name=[{"text": " 有空格 "}])) == []
    assert found(patient(name=[{"text": ""}])) == [("CH-3005", "Patient.name[0].text")]
    assert found(patient(name=[{"text": 5}])) == [("CH-3008", "Patient.name[0].text")]
    assert found(patient(name=[{"text": {"x": 1}}])) == [("CH-3008", "Patient.name[0].text")]
    assert found(with_extension(valueMarkdown="")) == [("CH-3005", EXT_VALUE.format("markdown"))]


def test_code_lexical_form() -> None:
    assert found(patient(language="zh-CN")) == []
    assert found(patient(language="zh CN")) == []
    assert found(patient(language=" zh")) == [("CH-3005", "Patient.language")]
    assert found(patient(language="zh  CN")) == [("CH-3005", "Patient.language")]


@pytest.mark.parametrize("value", ["2024", "2024-02", "2024-02-29", "1900-12-31"])
def test_valid_dates(value: str) -> None:
    assert found(patient(birthDate=value)) == []


@pytest.mark.parametrize(
    "value", ["2023-02-29", "2024-13-01", "2024-1-01", "24-01-01", "2024-01-01T00:00:00Z", "0000"]
)
def test_invalid_dates(value: str) -> None:
    assert found(patient(birthDate=value)) == [("CH-3005", "Patient.birthDate")]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024", True),
        ("2024-05-01T08:30:00+08:00", True),
        ("2024-05-01T08:30:00.5Z", True),
        ("2024-05-01T08:30:00", False),
        ("2024-05-01T08:30Z", False),
        ("2024-05-01 08:30:00Z", False),
        ("2024-04-31T08:30:00Z", False),
    ],
)
def test_date_time(value: str, ok: bool) -> None:
    expected = [] if ok else [("CH-3005", "Patient.deceased.ofType(dateTime)")]
    assert found(patient(deceasedDateTime=value)) == expected


def test_instant_and_time() -> None:
    assert found(patient(meta={"lastUpdated": "2024-05-01"})) == [
        ("CH-3005", "Patient.meta.lastUpdated")
    ]
    assert found(with_extension(valueTime="23:59:60")) == []
    assert found(with_extension(valueTime="24:00:00")) == [("CH-3005", EXT_VALUE.format("time"))]


def test_uri_family() -> None:
    assert found(patient(implicitRules="http://example.org/rules")) == []
    assert found(patient(implicitRules="http://example.org/a b")) == [
        ("CH-3005", "Patient.implicitRules")
    ]
    assert found(patient(meta={"profile": ["http://x y"]})) == [
        ("CH-3005", "Patient.meta.profile[0]")
    ]
    assert found(with_extension(valueOid="urn:oid:1.2.3")) == []
    assert found(with_extension(valueOid="1.2.3")) == [("CH-3005", EXT_VALUE.format("oid"))]
    assert found(with_extension(valueUuid=UUID)) == []
    assert found(with_extension(valueUuid=UUID.upper())) == [("CH-3005", EXT_VALUE.format("uuid"))]
    assert found(with_extension(valueUrl="http://example.org")) == []


def test_base64_binary() -> None:
    assert found(patient(photo=[{"data": "aGVsbG8="}])) == []
    assert found(patient(photo=[{"data": "aGVs\r\nbG8="}])) == []
    assert found(patient(photo=[{"data": "aGVsbG8"}])) == [("CH-3005", "Patient.photo[0].data")]
    assert found(patient(photo=[{"data": "aGVs*G8="}])) == [("CH-3005", "Patient.photo[0].data")]


def test_narrative_div() -> None:
    div = '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>'
    assert found(patient(text={"status": "generated", "div": div})) == []
    assert found(patient(text={"status": "generated", "div": "<p>x</p>"})) == [
        ("CH-3005", "Patient.text.div")
    ]
    assert found(patient(text={"status": "generated"})) == [("CH-3003", "Patient.text.div")]
    assert found(patient(text={"status": "generated", "div": div, "_div": {"id": "x"}})) == [
        ("CH-3002", "Patient.text._div")
    ]


def test_primitive_regexes_use_xml_schema_whitespace() -> None:
    assert xsd_to_python(r"[^\s]+(\s[^\s]+)*") == r"[^ \t\n\r]+([ \t\n\r][^ \t\n\r]+)*"
    # Full-width and no-break spaces are text, not XML whitespace.
    assert check_primitive("code", "a\u3000b") is None
    assert check_primitive("uri", "urn:x\u00a0y") is None
    assert check_primitive("string", "\u3000") is None


def test_long_invalid_base64_fails_fast() -> None:
    value = ("AAAA " * 20000) + "!"
    assert check_primitive("base64Binary", value) is not None


# --------------------------------------------------------------------------- recursion


def test_complex_types_recurse() -> None:
    resource = patient(identifier=[{"assigner": {"identifier": {"period": {"start": "x"}}}}])
    assert found(resource) == [
        ("CH-3005", "Patient.identifier[0].assigner.identifier.period.start")
    ]
    resource = observation(valueQuantity={"value": "1", "unit": "mg"})
    assert found(resource) == [("CH-3008", "Observation.value.ofType(Quantity).value")]


def test_contained_resources_validate_by_their_own_type() -> None:
    contained = [{"resourceType": "Organization", "id": "o1", "name": "卫生院", "foo": 1}]
    assert found(patient(contained=contained)) == [("CH-3002", "Patient.contained[0].foo")]
    assert found(patient(contained=[{"resourceType": "Nope"}])) == [
        ("CH-2004", "Patient.contained[0].resourceType")
    ]
    assert found(patient(contained=[{"resourceType": "Organization", "id": "a b"}])) == [
        ("CH-2007", "Patient.contained[0].id")
    ]


def test_bundle_entries_and_parameters_validate_inner_resources() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": UUID, "resource": patient(gender="boy")}],
    }
    assert found(bundle) == [("CH-3006", "Bundle.entry[0].resource.gender")]
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "r", "resource": {"resourceType": "Patient", "active": "y"}}],
    }
    assert found(parameters) == [("CH-3008", "Parameters.parameter[0].resource.active")]


def test_content_reference_is_followed() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            {
                "linkId": "1",
                "type": "group",
                "item": [{"linkId": "1.1", "type": "string", "colour": "red"}, {"type": "string"}],
            }
        ],
    }
    assert found(questionnaire) == [
        ("CH-3002", "Questionnaire.item[0].item[0].colour"),
        ("CH-3003", "Questionnaire.item[0].item[1].linkId"),
    ]


def test_deep_nesting_is_reported_not_raised() -> None:
    item: dict[str, Any] = {"linkId": "x", "type": "group"}
    root = item
    for _ in range(3000):
        child: dict[str, Any] = {"linkId": "x", "type": "group"}
        item["item"] = [child]
        item = child
    issues = validate_resource(
        {"resourceType": "Questionnaire", "status": "active", "item": [root]}
    )
    assert [i.code for i in issues] == ["CH-3001"]


# --------------------------------------------------------------------------- bindings


def test_required_binding_on_code() -> None:
    assert found(patient(gender="other")) == []
    assert found(patient(gender="Male")) == [("CH-3006", "Patient.gender")]
    assert found(observation(status="done")) == [("CH-3006", "Observation.status")]
    (issue,) = validate_resource(patient(gender="Male"))
    assert "administrative-gender" in issue.diagnostics and "'Male'" in issue.diagnostics


def test_required_binding_on_repeating_code() -> None:
    location = {
        "resourceType": "Location",
        "hoursOfOperation": [{"daysOfWeek": ["mon", "funday"]}],
    }
    assert found(location) == [("CH-3006", "Location.hoursOfOperation[0].daysOfWeek[1]")]


def test_required_binding_in_datatypes() -> None:
    assert found(patient(telecom=[{"system": "wechat", "value": "x"}])) == [
        ("CH-3006", "Patient.telecom[0].system")
    ]
    assert found(observation(valueQuantity={"value": 1, "comparator": "~"})) == [
        ("CH-3006", "Observation.value.ofType(Quantity).comparator")
    ]


def test_required_binding_on_codeable_concept_checks_codings_of_its_systems() -> None:
    system = "http://terminology.hl7.org/CodeSystem/condition-clinical"

    def condition(*codings: dict[str, str]) -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": list(codings)},
        }

    assert found(condition({"system": system, "code": "active"})) == []
    assert found(condition({"system": "http://example.org/local", "code": "whatever"})) == []
    assert found(condition({"code": "no-system"})) == []
    assert found(
        condition(
            {"system": "http://example.org/x", "code": "a"}, {"system": system, "code": "gone"}
        )
    ) == [("CH-3006", "Condition.clinicalStatus.coding[1].code")]


def test_value_sets_that_cannot_be_expanded_are_not_checked() -> None:
    mimetypes = "http://hl7.org/fhir/ValueSet/mimetypes"
    assert definitions.required_codes(mimetypes) is None
    assert mimetypes in definitions.not_expandable_valuesets()
    assert found(patient(photo=[{"contentType": "anything/at-all"}])) == []


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/p1",
        "Patient/p1/_history/2",
        "http://example.org/fhir/Patient/p1",
        "https://fhir.example.cn/Patient/1",
        "#p1",
        "#",
        UUID,
        "urn:oid:1.2.156.1",
    ],
)
def test_valid_references(reference: str) -> None:
    assert found(observation(subject={"reference": reference})) == []


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/",
        "Patient",
        "Patient/p 1",
        "Patient/p1/2",
        "Patients/p1",
        "patient/p1",
        "urn:uuid:not-a-uuid",
        "urn:isbn:123",
        "#a b",
        "http://",
    ],
)
def test_invalid_references(reference: str) -> None:
    assert found(observation(subject={"reference": reference})) == [
        ("CH-3007", "Observation.subject.reference")
    ]


def test_reference_target_types() -> None:
    assert found(observation(subject={"reference": "Group/g1"})) == []
    assert found(observation(subject={"reference": "Medication/m1"})) == [
        ("CH-3007", "Observation.subject.reference")
    ]
    (issue,) = validate_resource(observation(subject={"reference": "Medication/m1"}))
    assert "Medication" in issue.diagnostics and "Observation.subject" in issue.diagnostics
    # Any type is fine where the element allows Reference(Any).
    assert found(with_extension(valueReference={"reference": "Medication/m1"})) == []
    assert found(observation(focus=[{"reference": "Medication/m1"}])) == []


def test_conditional_references_only_in_transactions() -> None:
    conditional = {"reference": "Patient?identifier=urn:oid:1.2|110101"}
    assert found(observation(subject=conditional)) == [("CH-3007", "Observation.subject.reference")]
    assert found(observation(subject=conditional), allow_conditional_references=True) == []

    def bundle(type_: str) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": type_,
            "entry": [
                {
                    "resource": observation(subject=conditional),
                    "request": {"method": "POST", "url": "Observation"},
                }
            ],
        }

    assert found(bundle("transaction")) == []
    assert found(bundle("batch")) == []
    assert found(bundle("collection")) == [
        ("CH-3007", "Bundle.entry[0].resource.subject.reference")
    ]


# --------------------------------------------------------------------------- all issues at once


def test_all_problems_are_reported_with_fhirpath_locations() -> None:
    resource = patient(
        id="bad id",
        gender="x",
        name=[{"given": ["a", 1]}, {"family": ""}],
        nickname="n",
        birthDate="2001-02-30",
    )
    assert sorted(found(resource)) == [
        ("CH-2007", "Patient.id"),
        ("CH-3002", "Patient.nickname"),
        ("CH-3005", "Patient.birthDate"),
        ("CH-3005", "Patient.name[1].family"),
        ("CH-3006", "Patient.gender"),
        ("CH-3008", "Patient.name[0].given[1]"),
    ]


def test_validation_does_not_modify_the_resource() -> None:
    resource = patient(name=[{"given": ["a", None], "_given": [None, {"id": "x"}]}], gender="x")
    before = copy.deepcopy(resource)
    validate_resource(resource)
    assert resource == before


def test_precompile_all_types() -> None:
    precompile()
    for name in sorted(definitions.resource_types()):
        assert validate_resource({"resourceType": name, "zz": 1})[0].code == "CH-3002"


# --------------------------------------------------------------------------- official examples


def test_official_examples_validate(r4_examples: list[tuple[str, dict[str, Any]]]) -> None:
    assert len(r4_examples) >= 670
    unexpected: list[str] = []
    for name, example in r4_examples:
        if name in KNOWN_INVALID_EXAMPLES:
            continue
        unexpected.extend(f"{name}: {i.code} {i.diagnostics}" for i in validate_resource(example))
    assert unexpected == []


def test_known_invalid_examples_fail_for_the_listed_reason(
    r4_examples: list[tuple[str, dict[str, Any]]],
) -> None:
    by_name = dict(r4_examples)
    assert set(KNOWN_INVALID_EXAMPLES) <= set(by_name)
    for name, known in KNOWN_INVALID_EXAMPLES.items():
        issues = validate_resource(by_name[name])
        assert len(issues) == known.count, (name, issues)
        for issue in issues:
            assert issue.code == known.code, (name, issue)
            assert re.fullmatch(known.expression, issue.expression[0]), (name, issue)


def test_known_invalid_examples_are_documented() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text("utf-8")
    assert "## Official examples rejected by validation" in text
    for name, known in KNOWN_INVALID_EXAMPLES.items():
        assert name in text and known.code in text
