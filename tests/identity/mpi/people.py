"""Hand-made residents for the master patient index tests: one person registered twice
(the second time without the card, a homophone in the name), a twin brother, a stranger."""

from __future__ import annotations

from datetime import date
from typing import Any

from countyhealth.fhir import systems
from countyhealth.identity import build
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store

ID_WANG = build("330782", date(1968, 3, 5), 13)


def patient(
    family: str,
    given: str,
    birth: str,
    sex: str,
    *,
    id_number: str | None = None,
    phone: str | None = None,
    village: str = "塔山村",
    township: str = "佛堂镇",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "active": True,
        "name": [{"use": "official", "text": family + given, "family": family, "given": [given]}],
        "gender": sex,
        "birthDate": birth,
        "address": [
            {"use": "home", "line": [village, "12号"], "city": township, "district": "青山县"}
        ],
    }
    if id_number:
        resource["identifier"] = [{"system": systems.ID_CARD, "value": id_number}]
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
    return resource


def wang() -> dict[str, Any]:
    return patient("王", "建国", "1968-03-05", "male", id_number=ID_WANG, phone="13900001111")


def wang_again() -> dict[str, Any]:
    """The same man at the county hospital without his card: 建国 written 建郭 (jiàn guó)."""
    return patient("王", "建郭", "1968-03-05", "male", phone="13900001111")


def stranger() -> dict[str, Any]:
    return patient("李", "秀英", "1975-11-20", "female", phone="13700002222", village="下王村")


def steward(store: Store) -> Repository:
    return store.repository(
        caller_for(
            kind="user",
            id="steward",
            role_codes=("identity-steward",),
            organization="Organization/org-bureau",
            actors=("Practitioner/steward-1",),
        )
    )


def clinician(store: Store) -> Repository:
    return store.repository(
        caller_for(
            kind="user",
            id="doctor",
            role_codes=("county-clinician",),
            organization="Organization/org-county",
            actors=("Practitioner/doc-1",),
        )
    )
