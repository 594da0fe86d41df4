"""Issuing a resident's e-health card (电子健康卡): one person, one current card.

A card is an ``E_HEALTH_CARD`` identifier on the Patient (FHIR R4 Identifier, with its
``period``: https://hl7.org/fhir/R4/datatypes.html#Identifier): an opaque random id, valid from
issuance for ``health_card_valid_years``. The PIN that goes with the static code printed on the
card (:mod:`.static_code`) is kept hashed beside the accounts (``card_pin``), not on the
Patient: every reader of the record and every export would otherwise carry it. Issuing again revokes the card in use:
its identifier stays on the record, marked ``use: old`` with its period ended, so a lost card's
static code is refused from that moment (CH-9006).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import error
from ..fhir import systems
from ..fhir.instant import format_instant, parse_period
from ..security.passwords import Passwords
from ..store import Repository
from .static_code import check_pin_shape, new_card_id, pin_secret, static_code


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """What the desk prints: the card id, its static code and validity; ``revoked`` are the
    ids of the cards this one replaces."""

    patient_id: str
    card_id: str
    static_code: str
    start: str
    end: str
    revoked: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "patient": f"Patient/{self.patient_id}",
            "cardNumber": self.card_id,
            "staticCode": self.static_code,
            "start": self.start,
            "end": self.end,
            "revoked": list(self.revoked),
        }


def is_card(identifier: dict[str, Any]) -> bool:
    return identifier.get("system") == systems.E_HEALTH_CARD and bool(identifier.get("value"))


def current_card(patient: dict[str, Any], now_us: int) -> dict[str, Any] | None:
    """The Patient's card in use at ``now_us``: not ``old``, its period (if any) covering now."""
    for identifier in patient.get("identifier") or []:
        if not is_card(identifier) or identifier.get("use") == "old":
            continue
        period = identifier.get("period") or {}
        start, end = _instant_us(period.get("start")), _instant_us(period.get("end"))
        if (start is None or start <= now_us) and (end is None or now_us < end):
            return dict(identifier)
    return None


def _instant_us(text: Any) -> int | None:
    """Microseconds of a period boundary (a card's are instants; a bare date counts from its
    start in the county's time zone); None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_period(text)[0]
    except ValueError:
        return None


def pin_hash(repo: Repository, card: dict[str, Any]) -> str | None:
    """The Argon2id hash of the keyed PIN digest of ``card`` (None: the card has no PIN)."""
    return repo.store.accounts.card_pins.get(str(card.get("value")))


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def issue_card(repo: Repository, patient_id: str, pin: str) -> IssuedCard:
    """Issue a new e-health card to ``Patient/patient_id`` with the PIN of its static code,
    revoking the card in use (if any).

    The caller needs write access to Patients (a registration desk, a village doctor); the
    write itself is done for the platform in the caller's name, since the resident standing at
    the desk with an identity document need not have given the desk's institution a Consent.

    Raises:
        OperationOutcomeError: CH-4013 without Patient write access, CH-9007 for a PIN that
            is not 6 digits, CH-4040 family errors when the Patient does not exist.
    """
    caller = repo.caller
    if caller.kind != "system" and (
        caller.access == "compartment" or not caller.scopes.allows("Patient", "update")
    ):
        raise error("CH-4013", "issuing an e-health card needs write access to Patients")
    check_pin_shape(pin)
    settings = repo.store.settings
    now_us = repo.store.clock.now_us()
    start = datetime.fromtimestamp(now_us // 1_000_000, UTC)
    end = _years_later(start, settings.health_card_valid_years)
    started = format_instant(now_us)
    ended = format_instant(int(end.timestamp()) * 1_000_000)
    card_id = new_card_id()
    hashed = Passwords(settings).hash(pin_secret(settings.secret_key, card_id, pin))
    platform = repo.elevated()
    pins = repo.store.accounts.card_pins
    # the PIN first: a PIN of a card never issued (a failed update) is harmless
    pins.put(card_id, hashed, now_us)
    with platform.transaction():
        stored = platform.read("Patient", patient_id)
        patient = dict(stored.resource)
        identifiers: list[dict[str, Any]] = []
        revoked: list[str] = []
        for identifier in patient.get("identifier") or []:
            if is_card(identifier) and identifier.get("use") != "old":
                revoked.append(str(identifier["value"]))
                identifier = _revoked(identifier, started)
            identifiers.append(identifier)
        identifiers.append(
            {
                "use": "usual",
                "system": systems.E_HEALTH_CARD,
                "value": card_id,
                "period": {"start": started, "end": ended},
            }
        )
        patient["identifier"] = identifiers
        platform.update("Patient", patient_id, patient, if_match=stored.version)
    for old in revoked:
        pins.remove(old)
    code = static_code(settings.secret_key, card_id)
    return IssuedCard(patient_id, card_id, code, started, ended, tuple(revoked))


def _revoked(identifier: dict[str, Any], at: str) -> dict[str, Any]:
    old = dict(identifier)
    old["use"] = "old"
    period = dict(identifier.get("period") or {})
    period["end"] = at
    old["period"] = period
    return old
