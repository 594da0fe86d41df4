"""Masking of identity numbers and phone numbers (去标识化 for display, logs and exports).

Pure functions over strings and FHIR JSON. What stays visible is enough to tell two people
apart on a screen or in a log line, not enough to use the number:

* identity card numbers (GB 11643): the first 4 characters (province and city of first
  registration) and the last 4 of an 18-character number (sequence and check character) —
  ``3301**********1234``. A 15-digit number of the 1989 edition keeps its first 4 and last 3
  (its sequence), so the birth date is hidden in both forms.
* passports and other identity numbers: the first 2 characters (1 for numbers shorter than
  8) and the last 2 — ``E1*****78``; numbers of 4 characters or fewer are masked entirely.
* mainland mobile numbers (11 digits starting with 1): the first 3 and last 4 digits —
  ``138****5678``; a ``+86`` prefix and separators stay as they are. Other phone numbers keep
  their first 3 and last 4 digits when they have at least 8, otherwise only the last 2.

:func:`mask_resource` applies these to the people resources (Patient, RelatedPerson, Person,
Practitioner): identifiers of the identity systems in :data:`MASKED_IDENTIFIER_SYSTEMS` (or
typed as national id, passport, driver's licence or social security number), phone numbers
in ``telecom`` (also of ``Patient.contact``), and numbers that look like identity or mobile
numbers in the narrative. :func:`mask_text` masks such numbers in free text (log lines).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..fhir import systems

#: The privilege (``Caller.privileges``, roles.json) to see identity numbers unmasked where the
#: platform masks them (bulk exports).
FULL_IDENTIFIERS = "full-identifiers"

#: Resource types whose identifiers and phone numbers :func:`mask_resource` masks.
PEOPLE_TYPES = frozenset({"Patient", "RelatedPerson", "Person", "Practitioner"})

#: Identifier systems holding identity numbers or personal credentials (docs/identifiers.md).
MASKED_IDENTIFIER_SYSTEMS = frozenset(
    {
        systems.ID_CARD,
        systems.E_HEALTH_CARD,
        systems.INSURANCE_PERSON_NUMBER,
        systems.RESIDENCE_PERMIT,
        systems.HK_MACAO_TRAVEL_PERMIT,
        systems.TAIWAN_TRAVEL_PERMIT,
        systems.FOREIGN_PERMANENT_RESIDENT,
    }
)

#: ``Identifier.type`` codes (HL7 v2 table 0203) of identity documents, masked whatever the
#: system: national id, passport, driver's licence, social security number.
MASKED_IDENTIFIER_TYPES = frozenset({"NI", "PPN", "DL", "SS", "SB"})

_ID_18 = re.compile(r"\d{17}[\dXx]")
_ID_15 = re.compile(r"\d{15}")

# Free text: an 18- or 15-character identity number, or a mainland mobile number (optionally
# +86 / 0086 and separators), not part of a longer run of letters and digits. A number right
# after a percent-escape (``%7C330102…`` in a logged URL) counts as standing alone.
_TEXT_PATTERN = re.compile(
    r"(?:(?<![0-9A-Za-z])|(?<=%[0-9A-Fa-f]{2}))"
    r"(?:\d{17}[\dXx]|\d{15}|(?:(?:\+|00)86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4})"
    r"(?![0-9A-Za-z])"
)


def _keep(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    if hidden <= 0:
        return "*" * len(value)
    return value[:head] + "*" * hidden + value[len(value) - tail :]


def mask_id_number(value: str, system: str | None = None) -> str:
    """Mask an identity number (GB 11643 18- or 15-character, passport or other).

    Args:
        value: the number as stored.
        system: its ``Identifier.system``, when known; passports are recognised by it, other
            values by their shape.

    Examples:
        >>> mask_id_number("330102199001011234")
        '3301**********1234'
        >>> mask_id_number("330102900101123")
        '3301********123'
    """
    text = value.strip()
    is_passport = system is not None and system.startswith(systems.PASSPORT)
    if not is_passport:
        if _ID_18.fullmatch(text):
            return _keep(text, 4, 4)
        if _ID_15.fullmatch(text):
            return _keep(text, 4, 3)
    if len(text) <= 4:
        return "*" * len(text)
    return _keep(text, 2 if len(text) >= 8 else 1, 2)


def mask_phone(value: str) -> str:
    """Mask the digits of a phone number, keeping its other characters.

    Examples:
        >>> mask_phone("13812345678")
        '138****5678'
        >>> mask_phone("tel:+86-138-1234-5678")
        'tel:+86-138-****-5678'
    """
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    count = len(digits)
    last11 = "".join(value[i] for i in digits[-11:])
    if count >= 11 and last11[0] == "1":
        head, tail = count - 8, 4  # country code and the 3-digit network prefix stay
    elif count >= 8:
        head, tail = 3, 4
    else:
        head, tail = 0, 2
    hidden = set(digits[head : count - tail])
    if not hidden:
        return value
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def mask_text(text: str) -> str:
    """Mask whatever looks like an identity number or a mainland mobile number in ``text``."""
    if not any(ch.isdigit() for ch in text):
        return text
    return _TEXT_PATTERN.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    if _ID_18.fullmatch(found) or _ID_15.fullmatch(found):
        return mask_id_number(found)
    return mask_phone(found)


def _masked_identifier(identifier: dict[str, Any]) -> bool:
    system = identifier.get("system")
    if isinstance(system, str) and (
        system in MASKED_IDENTIFIER_SYSTEMS or system.startswith(systems.PASSPORT)
    ):
        return True
    kind = identifier.get("type")
    codings = kind.get("coding") if isinstance(kind, dict) else None
    return isinstance(codings, list) and any(
        isinstance(c, dict)
        and c.get("system") == systems.V2_IDENTIFIER_TYPE
        and c.get("code") in MASKED_IDENTIFIER_TYPES
        for c in codings
    )


def _mask_identifiers(identifiers: Any) -> None:
    if not isinstance(identifiers, list):
        return
    for identifier in identifiers:
        if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
            continue
        system = identifier.get("system")
        if system == systems.MOBILE_PHONE:
            identifier["value"] = mask_phone(identifier["value"])
        elif _masked_identifier(identifier):
            identifier["value"] = mask_id_number(
                identifier["value"], system if isinstance(system, str) else None
            )


def _mask_telecom(telecom: Any) -> None:
    if not isinstance(telecom, list):
        return
    for point in telecom:
        if (
            isinstance(point, dict)
            and point.get("system") in ("phone", "sms", "fax")
            and isinstance(point.get("value"), str)
        ):
            point["value"] = mask_phone(point["value"])


def mask_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``resource`` with identity numbers and phone numbers masked.

    Only :data:`PEOPLE_TYPES` are changed; other resources are returned as they are (not
    copied). The input is never modified.
    """
    if resource.get("resourceType") not in PEOPLE_TYPES:
        return resource
    out = copy.deepcopy(resource)
    _mask_identifiers(out.get("identifier"))
    _mask_telecom(out.get("telecom"))
    contacts = out.get("contact")
    if isinstance(contacts, list):
        for contact in contacts:
            if isinstance(contact, dict):
                _mask_telecom(contact.get("telecom"))
    text = out.get("text")
    if isinstance(text, dict) and isinstance(text.get("div"), str):
        text["div"] = mask_text(text["div"])
    return out


__all__ = [
    "FULL_IDENTIFIERS",
    "MASKED_IDENTIFIER_SYSTEMS",
    "MASKED_IDENTIFIER_TYPES",
    "PEOPLE_TYPES",
    "mask_id_number",
    "mask_phone",
    "mask_resource",
    "mask_text",
]


def mask_name(name: str) -> str:
    """A name as public screens show it: the first character, the rest as ``*`` (张*, 欧阳**)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)
