"""Match features of a Patient: names, pinyin, identity number forms, phones, address, guardian."""

from __future__ import annotations

from datetime import date
from typing import Any

from countyhealth.fhir import systems
from countyhealth.identity.matching import patient_features


def _patient(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"use": "official", "text": "单晓明", "family": "单", "given": ["晓明"]}],
        "gender": "male",
        "birthDate": "1967-04-01",
        "identifier": [{"system": systems.ID_CARD, "value": "130503670401001"}],
        "telecom": [
            {"system": "phone", "value": "+86 138-0013-8000"},
            {"system": "email", "value": "x@example.org"},
        ],
        "address": [
            {"use": "home", "line": ["青山村", "12号"], "city": "石桥镇", "district": "青山县"}
        ],
    }
    body.update(extra)
    return body


def test_features_of_a_patient() -> None:
    f = patient_features(_patient())
    assert f.id == "Patient/p1"
    assert (f.family, f.given, f.name) == ("单", "晓明", "单晓明")
    assert f.pinyin == "shanxiaoming"  # 单 read as a surname
    assert f.birth_date == date(1967, 4, 1)
    assert f.sex == "male"
    assert f.id_number == "130503196704010016"  # 15 digits upgraded
    assert f.id_valid
    assert f.phones == ("13800138000",)
    assert (f.township, f.village) == ("石桥镇", "青山村")
    assert f.guardian is None


def test_a_number_with_a_wrong_check_character_is_kept_but_not_valid() -> None:
    ident = [{"system": systems.ID_CARD, "value": "11010519491231002x"}]
    assert patient_features(_patient(identifier=ident)).id_valid  # lower-case x normalised
    ident = [{"system": systems.ID_CARD, "value": "110105194912310021"}]
    f = patient_features(_patient(identifier=ident))
    assert f.id_number == "110105194912310021"
    assert not f.id_valid
    ident = [{"system": systems.ID_CARD, "value": "12345"}]
    assert patient_features(_patient(identifier=ident)).id_number is None


def test_missing_elements_give_none() -> None:
    f = patient_features({"resourceType": "Patient", "id": "x"})
    assert f.name is None and f.pinyin is None and f.birth_date is None
    assert f.id_number is None and not f.id_valid and f.phones == ()
    assert f.township is None and f.village is None and f.guardian is None


def test_name_from_text_and_partial_birth_date() -> None:
    f = patient_features(_patient(name=[{"text": "欧阳 娜娜"}], birthDate="1990-05"))
    assert (f.family, f.given) == ("欧阳", "娜娜")
    assert f.birth_date is None


def test_guardian_contact() -> None:
    contact = [
        {
            "relationship": [{"coding": [{"system": "x", "code": "C"}]}],
            "name": {"text": "李四"},
        },
        {
            "relationship": [{"coding": [{"code": "MTH"}]}],
            "name": {"family": "王", "given": ["芳"]},
        },
    ]
    assert patient_features(_patient(contact=contact)).guardian == "王芳"
    phone_only = [
        {
            "relationship": [{"coding": [{"code": "GUARD"}]}],
            "telecom": [{"system": "phone", "value": "13900000000"}],
        }
    ]
    assert patient_features(_patient(contact=phone_only)).guardian == "13900000000"
