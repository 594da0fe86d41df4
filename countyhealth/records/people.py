"""The people whose record a resident may act for: themselves and the minors in their care.

A resident's Caller carries ``patients``: their own Patient id first, then their wards'. The
resident portal and ``/api/me`` use the same rule: no patient named means the resident's own
record; a patient not in their care is refused.
"""

from __future__ import annotations

from typing import Any

from ..errors import error
from ..identity.card import current_card
from ..identity.health_code import issue_code
from ..store import Caller, Repository
from .patients import patient_card


def patient_in_care(caller: Caller, patient: str | None) -> str:
    """The Patient id the resident acts for.

    Raises:
        OperationOutcomeError: CH-4013 for a caller who is not a resident, CH-4003 for a
            patient not in the resident's care.
    """
    if not caller.patients:
        raise error("CH-4013", "these pages are for residents; staff use the patient search")
    if not patient:
        return caller.patients[0]
    if patient not in caller.patients:
        raise error("CH-4003", f"Patient/{patient[:64]} is not in your care")
    return patient


def people_in_care(repo: Repository, current: str) -> list[dict[str, Any]]:
    """Cards of the resident and their wards (masked), ``current`` marked."""
    full = "full-identifiers" in repo.caller.privileges
    people = []
    for index, pid in enumerate(repo.caller.patients):
        card = patient_card(repo.read("Patient", pid).resource, full)
        people.append({**card, "self": index == 0, "current": pid == current})
    return people


def health_code(repo: Repository, patient_id: str) -> dict[str, Any]:
    """A fresh dynamic e-health code for ``patient_id`` (the resident's or a ward's): the code,
    the card in use it stands for (number and end of validity), and how many seconds the code
    is valid."""
    patient = repo.read("Patient", patient_id).resource
    now_us = repo.store.clock.now_us()
    card = current_card(patient, now_us) or {}
    number = card.get("value")
    settings = repo.store.settings
    return {
        "code": issue_code(settings.secret_key, patient_id, number, now_us // 1_000_000),
        "cardNumber": number,
        "cardEnd": (card.get("period") or {}).get("end"),
        "validSeconds": settings.health_code_ttl_seconds,
    }
