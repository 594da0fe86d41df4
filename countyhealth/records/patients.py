"""Finding patients by what a clinic desk has at hand: name, pinyin, ID number or phone.

One search box: the text is read as an identity number (GB 11643, 15 or 18 characters) when
it has that shape, a phone when it is 11 digits starting with 1, pinyin when it is Latin
letters (the ``phonetic`` parameter: full pinyin or initials, surname readings), and a name
otherwise (``name``, which matches the start of any name part). A scanned e-health card code
(the phone's dynamic ``CHC1.…`` or the card's static ``CHS1.…`` with its PIN, see
:mod:`countyhealth.identity.card_use`) is resolved to its Patient; the use is logged with its
channel (``records`` for a search at a desk) and the lookup audited as a search by card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import error
from ..fhir import systems
from ..identity.card_use import looks_like_card_code, use_code
from ..security.masking import mask_id_number, mask_phone
from ..store import Repository
from .query import find

_ID_NUMBER = re.compile(r"\d{17}[\dXx]|\d{15}")
_MOBILE = re.compile(r"1\d{10}")
_LATIN = re.compile(r"[A-Za-z][A-Za-z ]*")
MAX_QUERY = 40


@dataclass(frozen=True, slots=True)
class PatientMatches:
    query: str
    kind: str
    patients: list[dict[str, Any]] = field(default_factory=list)
    hidden: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "kind": self.kind,
            "patients": self.patients,
            "hidden": self.hidden,
        }


def query_kind(text: str) -> tuple[str, list[tuple[str, str]]]:
    """How the search box text is read, and the FHIR search parameters it becomes."""
    if _ID_NUMBER.fullmatch(text):
        return "id-number", [("identifier", f"{systems.ID_CARD}|{text.upper()}")]
    if _MOBILE.fullmatch(text):
        return "phone", [("telecom", text)]
    if _LATIN.fullmatch(text):
        return "pinyin", [("phonetic", text.replace(" ", "").lower())]
    return "name", [("name", text)]


def find_patients(
    repo: Repository,
    text: str,
    *,
    count: int = 20,
    channel: str = "records",
    pin: str | None = None,
) -> PatientMatches:
    """Patients whose name, pinyin, ID number or phone is ``text``, or the holder of the
    scanned e-health code ``text`` (masked cards); a card use is logged for ``channel``, a
    static code needs the card's ``pin``."""
    text = " ".join(text.split())
    if not text:
        return PatientMatches("", "none")
    full = "full-identifiers" in repo.caller.privileges
    if looks_like_card_code(text):
        return _card_holder(repo, text, full, channel, pin)
    if len(text) > MAX_QUERY:
        raise error("CH-1006", f"the search text is longer than {MAX_QUERY} characters", "q")
    kind, params = query_kind(text)
    found = find(repo, "Patient", [*params, ("_sort", "family")], count=count)
    return PatientMatches(
        text, kind, [patient_card(p, full) for p in found.resources], found.hidden
    )


def _card_holder(
    repo: Repository, code: str, full: bool, channel: str, pin: str | None
) -> PatientMatches:
    holder = use_code(repo, code, channel=channel, pin=pin, expression="q")
    found = find(repo, "Patient", [("_id", holder.patient_id)], count=1, note="e-health card")
    cards = [patient_card(p, full) for p in found.resources]
    return PatientMatches(code[:12] + "…", "health-card", cards, found.hidden)


def _name(patient: dict[str, Any]) -> str:
    names = patient.get("name") or []
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    if chosen.get("text"):
        return str(chosen["text"])
    return (chosen.get("family") or "") + "".join(chosen.get("given") or [])


def patient_card(patient: dict[str, Any], full_identifiers: bool = False) -> dict[str, Any]:
    """Name, sex, birth date, masked ID number and phone, address of a Patient."""
    id_number = next(
        (
            i.get("value")
            for i in patient.get("identifier") or []
            if i.get("system") == systems.ID_CARD and i.get("value")
        ),
        None,
    )
    phone = next(
        (
            t.get("value")
            for t in patient.get("telecom") or []
            if t.get("system") == "phone" and t.get("value")
        ),
        None,
    )
    address: dict[str, Any] = next(iter(patient.get("address") or []), {})
    shown_id = id_number if full_identifiers or not id_number else mask_id_number(id_number)
    shown_phone = phone if full_identifiers or not phone else mask_phone(phone)
    return {
        "id": patient["id"],
        "name": _name(patient),
        "gender": patient.get("gender"),
        "birthDate": patient.get("birthDate"),
        "idNumber": shown_id,
        "phone": shown_phone,
        "address": address.get("text") or "",
        "active": patient.get("active", True),
    }
