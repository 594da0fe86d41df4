"""A resident registered at a desk (建档): the form's fields made into a Patient.

The clerk types what the resident shows: name, sex, birth date, the identity number when there
is one (children and some migrants have none), a mobile phone, the township and village. The
number is read as GB 11643 (a 15-digit number is upgraded to 18) and must agree with the
birth date and sex typed — a mismatch is the commonest slip at a desk and is refused with a
message that says which part disagrees. The Patient then goes through the identity check of
:mod:`.mpi.registration`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import error
from ..fhir import systems
from ..fhir.identifiers.gb11643 import InvalidIdNumber, normalise, parse

_MOBILE = re.compile(r"1\d{10}")
SEXES = ("male", "female")


@dataclass(frozen=True, slots=True)
class RegistrationForm:
    family: str
    given: str
    sex: str
    birth_date: str
    id_number: str = ""
    phone: str = ""
    township: str = ""
    village: str = ""
    line: str = ""


def _clean(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def patient_from_form(
    form: RegistrationForm, organization: str | None, today: date
) -> dict[str, Any]:
    """The Patient resource of ``form``, managed by ``organization`` (the clerk's)."""
    family, given = _clean(form.family, 20), _clean(form.given, 20)
    if not family or not given:
        raise error("CH-9502", "family name and given name are both required", "name")
    if form.sex not in SEXES:
        raise error("CH-9502", "sex is male or female", "gender")
    try:
        birth = date.fromisoformat(form.birth_date)
    except ValueError:
        raise error("CH-9502", "birth date is YYYY-MM-DD", "birthDate") from None
    if birth > today or birth.year < 1890:
        raise error("CH-9502", "birth date is not a possible one", "birthDate")
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "active": True,
        "name": [{"use": "official", "text": family + given, "family": family, "given": [given]}],
        "gender": form.sex,
        "birthDate": birth.isoformat(),
    }
    number = form.id_number.strip().upper()
    if number:
        try:
            parsed = parse(normalise(number), today=today)
        except InvalidIdNumber as exc:
            raise error("CH-9502", f"identity number: {exc}", "identifier") from None
        if parsed.birth_date != birth:
            raise error(
                "CH-9502",
                f"the identity number gives the birth date {parsed.birth_date.isoformat()}, "
                f"not {birth.isoformat()}",
                "birthDate",
            )
        if parsed.sex != form.sex:
            raise error(
                "CH-9502", f"the identity number is a {parsed.sex}'s (sequence digit)", "gender"
            )
        resource["identifier"] = [
            {"use": "official", "system": systems.ID_CARD, "value": parsed.number}
        ]
    phone = re.sub(r"\D", "", form.phone)
    if phone:
        if not _MOBILE.fullmatch(phone):
            raise error("CH-9502", "the mobile phone has 11 digits and starts with 1", "telecom")
        resource["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
    township, village, line = (
        _clean(form.township, 30),
        _clean(form.village, 30),
        _clean(form.line, 60),
    )
    if township or village:
        address: dict[str, Any] = {"use": "home", "type": "physical"}
        lines = [x for x in (village, line) if x]
        if lines:
            address["line"] = lines
        if township:
            address["city"] = township
        address["text"] = township + village + line
        resource["address"] = [address]
    if organization:
        resource["managingOrganization"] = {"reference": organization}
    return resource
