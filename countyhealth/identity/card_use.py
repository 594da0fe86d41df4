"""Using an e-health card code at a step of a visit, and the resident's record of each use.

A desk scans either code of the card (DOMAIN §2c):

- the **dynamic** code (``CHC1.…``, :mod:`.health_code`) from the resident's phone: valid for
  ``health_code_ttl_seconds``; with ``health_code_single_use`` a second scan is refused
  (CH-9003), the used code being kept in the ledger of single-use tokens until it expires;
- the **static** code printed on the card (``CHS1.…``, :mod:`.static_code`), which needs its
  second factor, the card's 6-digit PIN: missing → CH-9004, wrong → CH-9005, and after
  ``health_card_pin_max_failures`` wrong PINs within ``login_window_seconds`` the card is
  locked for the rest of the window (CH-4007, 429). A revoked or expired card → CH-9006.

Every use, and every refused attempt at a known card, is an AuditEvent naming the Patient, with
the channel (the step of the visit: registration, check-in, payment, records) as its subtype,
so the resident sees in "who read my record" where and when their card was used
(https://hl7.org/fhir/R4/auditevent.html; the subtype is extensible).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..errors import OperationOutcomeError, error
from ..fhir import systems
from ..fhir.search_request import parse_search
from ..security.passwords import Passwords
from ..security.throttle import Throttle
from ..security.timesource import TimeSource
from ..store import Repository
from .card import current_card, pin_hash
from .health_code import looks_like_code, resolve_code
from .static_code import card_of_static_code, looks_like_static_code, pin_secret

#: The steps of a visit at which a card is used (scope 5 of the identity issue).
CHANNELS = ("registration", "check-in", "payment", "records")
#: AuditEvent.subtype system of card uses; the code is the channel.
CARD_USE = f"{systems.BASE}/CodeSystem/e-health-card-use"
#: Namespace of used dynamic codes in the ledger of single-use tokens.
HEALTH_CODE_LEDGER = "e-health-code"


@dataclass(frozen=True, slots=True)
class CardUse:
    """Whose card was used, which code (``dynamic`` or ``static``), at which channel."""

    patient_id: str
    kind: str
    channel: str
    card_number: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "patient": f"Patient/{self.patient_id}",
            "kind": self.kind,
            "channel": self.channel,
            "cardNumber": self.card_number,
        }


def looks_like_card_code(text: str) -> bool:
    """Whether ``text`` has the shape of either code of the card (not yet whether it is one)."""
    return looks_like_code(text) or looks_like_static_code(text)


def require_desk(repo: Repository) -> None:
    """Codes are scanned by staff who may read Patients (or by the platform), not by residents.

    Raises:
        OperationOutcomeError: CH-4013 otherwise.
    """
    caller = repo.caller
    if caller.kind == "system":
        return
    if caller.access == "compartment" or not caller.scopes.allows("Patient", "read"):
        raise error("CH-4013", "e-health card codes are resolved by staff who may read patients")


def use_code(
    repo: Repository,
    code: str,
    *,
    channel: str,
    pin: str | None = None,
    expression: str = "code",
) -> CardUse:
    """Resolve a scanned card code to its Patient for ``channel``, logging the use.

    Raises:
        OperationOutcomeError: CH-9001…CH-9007 as described in the module, CH-4007 when the
            card's PIN is locked.
    """
    if channel not in CHANNELS:
        raise error("CH-9007", f"channel must be one of {', '.join(CHANNELS)}", "channel")
    code = code.strip()
    if looks_like_static_code(code):
        return _use_static(repo, code, channel, pin, expression)
    return _use_dynamic(repo, code, channel, expression)


def _use_dynamic(repo: Repository, code: str, channel: str, expression: str) -> CardUse:
    settings = repo.store.settings
    now_us = repo.store.clock.now_us()
    ttl = settings.health_code_ttl_seconds
    try:
        holder = resolve_code(settings.secret_key, code, ttl, now_us // 1_000_000)
    except OperationOutcomeError as exc:
        raise error(exc.code, exc.issues[0].diagnostics, expression) from None
    use = CardUse(holder.patient_id, "dynamic", channel, holder.card_number)
    if settings.health_code_single_use:
        digest = hashlib.sha256(code.encode("ascii", errors="replace")).hexdigest()
        keep_until = (holder.issued_at + ttl + 60) * 1_000_000
        if not repo.store.accounts.assertions.use(HEALTH_CODE_LEDGER, digest, keep_until, now_us):
            refused = error(
                "CH-9003",
                "this e-health code was scanned before; ask the resident to show a new one "
                "(此码已使用，请刷新后重新出示)",
                expression,
            )
            _log(repo, use, refused)
            raise refused
    _log(repo, use, None)
    return use


def _use_static(
    repo: Repository, code: str, channel: str, pin: str | None, expression: str
) -> CardUse:
    settings = repo.store.settings
    try:
        card_id = card_of_static_code(settings.secret_key, code)
    except OperationOutcomeError as exc:
        raise error(exc.code, exc.issues[0].diagnostics, expression) from None
    # The lookup is the platform's (the desk may not read the record yet); its AuditEvent
    # names no patient, the card use below does.
    patient = _card_holder(repo.elevated(aggregate=True), card_id)
    if patient is None:
        raise error("CH-9006", "this e-health card is not in use (此卡未启用或已注销)", expression)
    patient_id = str(patient["id"])
    card = current_card(patient, repo.store.clock.now_us())
    use = CardUse(patient_id, "static", channel, card_id)
    if card is None or card.get("value") != card_id:
        gone = error(
            "CH-9006",
            "this e-health card was replaced or has expired; use the new card or the phone's "
            "dynamic code (此卡已注销或过期)",
            expression,
        )
        _log(repo, use, gone)
        raise gone
    if not pin:
        raise error(
            "CH-9004",
            "the printed card code needs the card's 6-digit PIN (请输入健康卡密码)",
            "pin",
        )
    hashed = pin_hash(repo, card)
    if hashed is None:
        raise error(
            "CH-9004",
            "this card has no PIN; use the phone's dynamic code or issue a new card",
            "pin",
        )
    throttle = Throttle(
        repo.store.accounts.failures,
        TimeSource(),
        settings.health_card_pin_max_failures,
        settings.login_window_seconds,
    )
    key = f"card:{card_id}"
    throttle.check([key])
    secret = pin_secret(settings.secret_key, card_id, pin.strip()[:16])
    if not Passwords(settings).check(hashed, secret).ok:
        throttle.failed([key])
        wrong = error("CH-9005", "wrong card PIN (健康卡密码错误)", "pin")
        _log(repo, use, wrong)
        raise wrong
    throttle.succeeded(key)
    _log(repo, use, None)
    return use


def _card_holder(platform: Repository, card_id: str) -> dict[str, Any] | None:
    """The Patient carrying card ``card_id`` (in use or not)."""
    query = [("identifier", f"{systems.E_HEALTH_CARD}|{card_id}"), ("_count", "2")]
    req = parse_search(("Patient",), query, default_count=2, max_count=2)
    page = platform.search(req, query_string="Patient?identifier=(e-health card static code)")
    return page.entries[0].resource if page.entries else None


def _log(repo: Repository, use: CardUse, refused: OperationOutcomeError | None) -> None:
    """One AuditEvent for a use of the card (or a refused attempt), naming the Patient."""
    detail = None
    if refused is not None:
        detail = f"{refused.code} {refused.issues[0].diagnostics}"
    event = repo.audit_event(
        "operation",
        refused.status if refused is not None else 200,
        f"Patient/{use.patient_id}",
        [use.patient_id],
        detail=detail,
        query=f"e-health card ({use.kind} code) at {use.channel}",
    )
    event["subtype"] = [
        {"system": CARD_USE, "code": use.channel, "display": f"e-health card: {use.channel}"},
        *event.get("subtype", []),
    ]
    repo.store.audit.record([event])
