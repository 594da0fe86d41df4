"""What the matcher compares of a Patient: a flat, normalised summary of the resource.

A Patient (https://hl7.org/fhir/R4/patient.html) carries its identity in several repeating
elements; matching needs one value of each. The official name (or the first one) gives the
name characters and their pinyin (surnames read as surnames, :mod:`countyhealth.fhir.pinyin`);
the identity number is the citizen number in its 18-character form (a 15-digit legacy number is
upgraded); the address is the home address's township (``Address.city`` in this county's
addresses) and village (the first address line); the guardian is the name and phone of a
``Patient.contact`` whose relationship is a parent or guardian (children without their own
number or phone are matched on it).

Building the features is pure and cheap: it runs for every candidate of a ``$match`` and for
every Patient of a batch deduplication.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ...fhir import systems
from ...fhir.identifiers.gb11643 import is_valid, normalise
from ...fhir.pinyin import name_syllables, split_name
from ...fhir.text import has_cjk, normalize

#: ``Patient.contact.relationship`` codes naming a parent or guardian: next of kin (v2 table
#: 0131) and the v3 RoleCode guardian, father, mother, parent and natural parent.
_GUARDIAN_CODES = frozenset({"N", "GUARD", "FTH", "MTH", "PRN", "NPRN"})
_ID_SHAPE = frozenset("0123456789X")


@dataclass(frozen=True, slots=True)
class MatchFeatures:
    """The compared values of one Patient; None where the record has nothing usable.

    Attributes:
        id: the reference, ``Patient/<id>``.
        family: the family name characters.
        given: the given name characters.
        name: family and given name, normalised, without spaces.
        pinyin: toneless pinyin of the name (homophones share it), surnames read as surnames.
        birth_date: the birth date when it is a full date.
        sex: ``Patient.gender``.
        id_number: the citizen identity number, 18 characters upper-case (a 15-digit number
            upgraded); kept when its check character is wrong (a slipped digit still matches
            its original closely), None when absent or of the wrong shape.
        id_valid: whether ``id_number`` passes GB 11643 (region, date, MOD 11-2 check).
        phones: the phone numbers, digits only, without a +86 prefix.
        township: the home address's township (``Address.city``).
        village: the home address's village (``Address.line[0]``).
        guardian: normalised name (or phone) of a parent or guardian contact.
    """

    id: str
    family: str | None = None
    given: str | None = None
    name: str | None = None
    pinyin: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    id_number: str | None = None
    id_valid: bool = False
    phones: tuple[str, ...] = ()
    township: str | None = None
    village: str | None = None
    guardian: str | None = None


def patient_features(resource: dict[str, Any]) -> MatchFeatures:
    """The match features of a Patient resource (a dict as stored)."""
    family, given = _name(resource.get("name"))
    name = (family or "") + (given or "") or None
    number, valid = _id_number(resource.get("identifier"))
    township, village = _address(resource.get("address"))
    return MatchFeatures(
        id=f"Patient/{resource.get('id', '')}",
        family=family,
        given=given,
        name=name,
        pinyin=_pinyin(family or "", given or "") if name else None,
        birth_date=_birth_date(resource.get("birthDate")),
        sex=_text(resource.get("gender")),
        id_number=number,
        id_valid=valid,
        phones=_phones(resource.get("telecom")),
        township=township,
        village=village,
        guardian=_guardian(resource.get("contact")),
    )


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = "".join(normalize(value).split())
    return text or None


def _name(names: Any) -> tuple[str | None, str | None]:
    if not isinstance(names, list) or not names:
        return None, None
    chosen = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"), None)
    name = chosen or next((n for n in names if isinstance(n, dict)), None)
    if name is None:
        return None, None
    family = _text(name.get("family"))
    given = _text("".join(g for g in name.get("given") or [] if isinstance(g, str)))
    if family is None and given is None:
        text = _text(name.get("text"))
        if text is None:
            return None, None
        if has_cjk(text):
            family, given = (_text(part) for part in split_name(text))
        else:
            given = text
    return family, given


def _pinyin(family: str, given: str) -> str | None:
    if not has_cjk(family + given):
        return (family + given) or None
    return "".join(name_syllables(family, given)) or None


def _birth_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _id_number(identifiers: Any) -> tuple[str | None, bool]:
    """The first citizen number that is valid, else the first of the right shape (a
    mistyped number kept as ``use`` old still matches its original closely)."""
    if not isinstance(identifiers, list):
        return None, False
    shaped: str | None = None
    for ident in identifiers:
        if not isinstance(ident, dict) or ident.get("system") != systems.ID_CARD:
            continue
        value = ident.get("value")
        if not isinstance(value, str):
            continue
        try:
            number = normalise(value)
        except ValueError:  # a 15-digit number without a real date
            continue
        if len(number) == 18 and number[:17].isdigit() and number[17] in _ID_SHAPE:
            if is_valid(number):
                return number, True
            shaped = shaped or number
    return shaped, False


def _phones(telecom: Any) -> tuple[str, ...]:
    if not isinstance(telecom, list):
        return ()
    out: list[str] = []
    for point in telecom:
        if not isinstance(point, dict) or point.get("system") not in ("phone", "sms"):
            continue
        value = point.get("value")
        if isinstance(value, str):
            digits = "".join(ch for ch in value if ch.isdigit())
            digits = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
            if digits and digits not in out:
                out.append(digits)
    return tuple(out)


def _address(addresses: Any) -> tuple[str | None, str | None]:
    if not isinstance(addresses, list) or not addresses:
        return None, None
    home = next((a for a in addresses if isinstance(a, dict) and a.get("use") == "home"), None)
    address = home or next((a for a in addresses if isinstance(a, dict)), None)
    if address is None:
        return None, None
    lines = address.get("line") or []
    village = _text(lines[0]) if lines and isinstance(lines[0], str) else None
    return _text(address.get("city")), village


def _guardian(contacts: Any) -> str | None:
    if not isinstance(contacts, list):
        return None
    for contact in contacts:
        if not isinstance(contact, dict) or not _is_guardian(contact.get("relationship")):
            continue
        name = contact.get("name")
        if isinstance(name, dict):
            family, given = _name([name])
            if family or given:
                return (family or "") + (given or "")
        phones = _phones(contact.get("telecom"))
        if phones:
            return phones[0]
    return None


def _is_guardian(relationships: Any) -> bool:
    if not isinstance(relationships, list):
        return False
    for concept in relationships:
        if not isinstance(concept, dict):
            continue
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and coding.get("code") in _GUARDIAN_CODES:
                return True
    return False
