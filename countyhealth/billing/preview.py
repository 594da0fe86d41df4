"""Settling a visit's charges with the engine: the person's cover, the level of the visit's
institution, the policy of the day and the running totals, gathered from storage.

Used for the preview on the bill, for the settlement at payment, for the estimate when a visit
is closed on credit and for the settlement of what remains after a refund.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..errors import error
from ..store import Repository
from .charges import Charge
from .engine import Settlement, settle
from .engine_types import ChargeLine, SettlementError, Totals, VisitContext
from .insured import Cover, cover_of, facility_level
from .policy import policy_for
from .policy_file import PolicyError
from .totals import Ledger, ledger_of
from .visits import Visit


@dataclass(frozen=True, slots=True)
class Computed:
    """A settlement computed for ``charges`` (``quantities`` by ChargeItem reference)."""

    settlement: Settlement
    cover: Cover
    level: str
    day: date
    charges: tuple[Charge, ...]
    quantities: Mapping[str, Decimal]


def compute(
    platform: Repository,
    visit: Visit,
    charges: Sequence[Charge],
    day: date,
    *,
    quantities: Mapping[str, Decimal] | None = None,
    totals: Totals | None = None,
    ledger: Ledger | None = None,
    without: str | None = None,
) -> Computed:
    """Settle ``charges`` of ``visit`` on ``day``.

    Args:
        quantities: the quantity of each charge to settle; default: what is still charged.
        totals: the running totals to start from; default: the person's totals of the year.
        ledger: the person's settlements, when already read.
        without: a settlement (ClaimResponse id) being reversed: left out of the totals and
            of what the personal account has spent.

    Raises:
        OperationOutcomeError: CH-9408 when no policy applies to the person on ``day`` (or the
            cover names an assistance category or plan the policy does not know).
    """
    wanted = dict(quantities or {c.reference: c.remaining for c in charges})
    cover = cover_of(platform, visit.patient, day)
    ledger = ledger if ledger is not None else ledger_of(platform, visit.patient)
    start = totals if totals is not None else ledger.totals(day.year, without)
    spent = (
        ledger.account_spent_since(cover.account.as_of, without)
        if cover.account is not None
        else Decimal("0.00")
    )
    level = facility_level(platform, visit.institution)
    lines = [
        ChargeLine(
            c.code,
            c.name,
            c.item_class,
            wanted[c.reference],
            c.unit_price,
            c.organization,
            c.reference,
        )
        for c in charges
    ]
    try:
        policy = policy_for(cover.area, cover.scheme, day)
        settlement = settle(
            lines, cover.insured(spent), VisitContext(visit.setting, level, day), start, policy
        )
    except PolicyError as exc:
        raise error("CH-9408", f"Patient/{visit.patient}: {exc}"[:500], "Coverage") from exc
    except SettlementError as exc:
        # a charge filed around the service (a plain FHIR create) with a bad price or class
        raise error("CH-9401", f"Encounter/{visit.id}: {exc}"[:500], "ChargeItem") from exc
    return Computed(settlement, cover, level, day, tuple(charges), wanted)
