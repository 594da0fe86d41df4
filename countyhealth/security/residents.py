"""Which Patient records a resident signing in may see: their own, and the minors in their care.

A resident is found by the phone on their Patient record (``Patient?telecom=<phone>``). Their
own records are the Patients with that phone and the same identity number (a person registered
twice is still one person); a phone shared by people with different identity numbers is not
enough to tell who is signing in. The minors in their care are the children whose
RelatedPerson — mother, father, parent or guardian — carries the resident's identity number
(``RelatedPerson?identifier=<system>|<number>``), as the birth records of the synthetic county
write it (synthetic/histories/maternity.py). Adulthood is 18 (《中华人民共和国民法典》第十七条):
a parent does not see an adult child's records through this link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ..errors import error
from ..fhir import systems
from ..fhir.search_request import parse_search
from ..store import Repository

#: v3 RoleCode relationships that make a RelatedPerson a carer of the patient.
CARER_CODES = frozenset({"MTH", "FTH", "PRN", "GUARD", "NMTH", "NFTH"})
ADULT_AGE = 18
_CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class Resident:
    patient_id: str
    display: str
    id_number: str | None
    patients: tuple[str, ...]  # own record(s) first, then minors in care


def today_in_china(now_us: int) -> date:
    return datetime.fromtimestamp(now_us / 1_000_000, UTC).astimezone(_CHINA).date()


def _search(repo: Repository, rtype: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    req = parse_search([rtype], [*params, ("_count", "100")], strict=True, max_count=100)
    return [s.resource for s in repo.search(req).entries]


def id_number_of(patient: dict[str, Any]) -> str | None:
    for ident in patient.get("identifier") or ():
        if ident.get("system") == systems.ID_CARD and ident.get("value"):
            return str(ident["value"])
    return None


def display_of(resource: dict[str, Any]) -> str:
    for name in resource.get("name") or ():
        if name.get("text"):
            return str(name["text"])
        parts = [name.get("family", ""), *name.get("given", [])]
        if any(parts):
            return "".join(parts)
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def _current(patient: dict[str, Any]) -> bool:
    if patient.get("active") is False:
        return False
    return not any(link.get("type") == "replaced-by" for link in patient.get("link") or ())


def find_by_phone(repo: Repository, phone: str, today: date) -> Resident | None:
    """The resident whose Patient record has ``phone``; None when no record has it.

    Raises:
        OperationOutcomeError: CH-4006 when people with different identity numbers share it.
    """
    found = [p for p in _search(repo, "Patient", [("telecom", phone)]) if _current(p)]
    if not found:
        return None
    numbers = {n for n in (id_number_of(p) for p in found) if n}
    if len(numbers) > 1 or (not numbers and len(found) > 1):
        raise error(
            "CH-4006",
            "several residents are registered with this phone number; please sign in at your "
            "health centre (多位居民登记了此手机号，请到卫生院办理)",
        )
    own = sorted(
        (p for p in found if not numbers or id_number_of(p) in numbers), key=lambda p: p["id"]
    )
    return _resident(repo, own, today)


def resident_of(repo: Repository, patient_id: str, today: date) -> Resident | None:
    """The resident of the Patient ``patient_id`` (for an account bound to it)."""
    found = _search(repo, "Patient", [("_id", patient_id)])
    return _resident(repo, found, today) if found else None


def _resident(repo: Repository, own: list[dict[str, Any]], today: date) -> Resident:
    first = own[0]
    number = id_number_of(first)
    ids = [p["id"] for p in own]
    if number:
        ids += [c for c in minors_in_care(repo, number, today) if c not in ids]
    return Resident(first["id"], display_of(first), number, tuple(ids))


def minors_in_care(repo: Repository, id_number: str, today: date) -> list[str]:
    """Ids of the minors whose carer (RelatedPerson) has the identity number ``id_number``."""
    related = _search(repo, "RelatedPerson", [("identifier", f"{systems.ID_CARD}|{id_number}")])
    children: list[str] = []
    for person in related:
        if person.get("active") is False or not _is_carer(person):
            continue
        ref = str((person.get("patient") or {}).get("reference", ""))
        if ref.startswith("Patient/") and ref[8:] not in children:
            children.append(ref[8:])
    minors = []
    for child in children:
        found = _search(repo, "Patient", [("_id", child)])
        if found and _is_minor(found[0], today):
            minors.append(child)
    return minors


def _is_carer(person: dict[str, Any]) -> bool:
    return any(
        coding.get("code") in CARER_CODES
        for concept in person.get("relationship") or ()
        for coding in concept.get("coding") or ()
    )


def _is_minor(patient: dict[str, Any], today: date) -> bool:
    """Under 18 today. A partial birth date counts from its earliest day (the older reading),
    and no birth date at all does not count as a minor."""
    text = str(patient.get("birthDate") or "")
    try:
        parts = [int(p) for p in text.split("-")] if text else []
        born = date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        return False
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return 0 <= age < ADULT_AGE
