"""Patient/[id]/$issue-card and Patient/$resolve-code: the e-health card at the desk.

CountyHealth operations (the national e-health card platform's ``RegisterHealthCard`` and
``GetHealthCardByQRCode`` play these parts in vendor integrations, DOMAIN §2c). Both change
state (a card is written; a use is logged, a single-use code is spent), so both are POST only
(https://hl7.org/fhir/R4/operations.html#request).

- ``$issue-card`` with a 6-digit ``pin`` issues a new card to the Patient and revokes the one
  in use; the answer carries the card number, the static code to print and the validity.
- ``$resolve-code`` with a scanned ``code`` (dynamic, or static with its ``pin``) and the
  ``channel`` of the step (registration, check-in, payment, records) answers the Patient the
  code stands for. Staff only: a resident shows a code, they do not scan one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import error
from ..identity.card import issue_card
from ..identity.card_use import CHANNELS, require_desk, use_code
from ..store import Repository
from ._scheduling_params import definition, one
from .registry import Operation, OperationContext, OperationResult, register


def _definition(
    code: str, description: str, parameters: list[dict[str, Any]], *, instance: bool
) -> dict[str, Any]:
    return definition("Patient", code, description, parameters, instance=instance)


def _string(values: Mapping[str, list[Any]], name: str, required: bool) -> str | None:
    return one(values, name, required, "CH-9007")


@dataclass(frozen=True, slots=True)
class IssueCardParams:
    pin: str


def _issue(params: IssueCardParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    if ctx.id is None:
        raise error("CH-2014", "$issue-card is invoked on one Patient: Patient/[id]/$issue-card")
    card = issue_card(repo, ctx.id, params.pin)
    parameters: list[dict[str, Any]] = [
        {"name": "patient", "valueReference": {"reference": f"Patient/{card.patient_id}"}},
        {"name": "cardNumber", "valueString": card.card_id},
        {"name": "staticCode", "valueString": card.static_code},
        {"name": "start", "valueInstant": card.start},
        {"name": "end", "valueInstant": card.end},
    ]
    parameters += [{"name": "revoked", "valueString": old} for old in card.revoked]
    return OperationResult({"resourceType": "Parameters", "parameter": parameters}, status=201)


ISSUE_CARD = register(
    Operation(
        _definition(
            "issue-card",
            "Issue a new e-health card to the Patient: a random card number (identifier "
            "system e-health-card, with its validity period) and the static code printed on "
            "the card, usable only with the 6-digit PIN given here (stored hashed). The card in "
            "use is revoked (identifier use 'old').",
            [
                {"name": "pin", "use": "in", "min": 1, "max": "1", "type": "string"},
                {"name": "patient", "use": "out", "min": 1, "max": "1", "type": "Reference"},
                {"name": "cardNumber", "use": "out", "min": 1, "max": "1", "type": "string"},
                {"name": "staticCode", "use": "out", "min": 1, "max": "1", "type": "string"},
                {"name": "start", "use": "out", "min": 1, "max": "1", "type": "instant"},
                {"name": "end", "use": "out", "min": 1, "max": "1", "type": "instant"},
                {"name": "revoked", "use": "out", "min": 0, "max": "*", "type": "string"},
            ],
            instance=True,
        ),
        lambda v: IssueCardParams(str(_string(v, "pin", True))),
        _issue,
    )
)


@dataclass(frozen=True, slots=True)
class ResolveCodeParams:
    code: str
    channel: str
    pin: str | None


def _resolve(params: ResolveCodeParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    require_desk(repo)
    use = use_code(repo, params.code, channel=params.channel, pin=params.pin)
    parameters: list[dict[str, Any]] = [
        {"name": "patient", "valueReference": {"reference": f"Patient/{use.patient_id}"}},
        {"name": "kind", "valueCode": use.kind},
        {"name": "channel", "valueCode": use.channel},
    ]
    return OperationResult({"resourceType": "Parameters", "parameter": parameters})


RESOLVE_CODE = register(
    Operation(
        _definition(
            "resolve-code",
            "Resolve a scanned e-health card code to its Patient for one step of a visit "
            f"(channel: {', '.join(CHANNELS)}). The phone's dynamic code is valid for a few "
            "minutes (and once, if so configured); the card's printed static code needs its "
            "PIN. Every use is logged as an AuditEvent the resident sees.",
            [
                {"name": "code", "use": "in", "min": 1, "max": "1", "type": "string"},
                {"name": "channel", "use": "in", "min": 1, "max": "1", "type": "code"},
                {"name": "pin", "use": "in", "min": 0, "max": "1", "type": "string"},
                {"name": "patient", "use": "out", "min": 1, "max": "1", "type": "Reference"},
                {"name": "kind", "use": "out", "min": 1, "max": "1", "type": "code"},
                {"name": "channel", "use": "out", "min": 1, "max": "1", "type": "code"},
            ],
            instance=False,
        ),
        lambda v: ResolveCodeParams(
            str(_string(v, "code", True)),
            str(_string(v, "channel", True)),
            _string(v, "pin", False),
        ),
        _resolve,
    )
)
