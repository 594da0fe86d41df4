"""The bill of a visit: its charges across departments and institutions, with the split —
the preview of the settlement while the visit is unpaid, the standing settlement once paid —
explained line by line and step by step, for the resident and the cashier alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..records.query import find
from ..store import Repository
from .charges import Charge, charges_of
from .payments import billable
from .preview import compute
from .settlements import LINE_FIELDS, SPLIT, StoredSettlement
from .totals import ledger_of
from .visits import Visit, encounter_id_of, load_visit, now_of, read_encounter

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class BillLine:
    """One charge on the bill and its part of the split (``amounts``: ``amount`` and the
    settlement fields; zero for what was refunded)."""

    charge: str  # ChargeItem/id
    code: str
    name: str
    item_class: str
    quantity: Decimal
    refunded: Decimal
    unit_price: Decimal
    organization: str
    organization_name: str
    status: str
    amounts: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class Bill:
    """A visit's bill.

    ``state``: ``open`` (charges accumulate), ``credit`` (closed unpaid, pay by
    ``credit_due``), ``settled``, ``refunded`` (settled, then all given back) or
    ``cancelled``. ``preview`` is True while the amounts are what paying now would settle.
    """

    encounter: str
    patient: str
    institution: str
    setting: str
    state: str
    preview: bool
    facility_level: str | None
    lines: tuple[BillLine, ...]
    amounts: dict[str, Decimal]
    explain: tuple[str, ...]
    invoice: str | None
    settlement: str | None
    credit_due: date | None
    overdue: bool

    @property
    def to_pay(self) -> Decimal:
        """The cash the patient still has to pay (0 once settled)."""
        return self.amounts["cash"] if self.preview else ZERO


def _line(charge: Charge, amounts: dict[str, Decimal] | None) -> BillLine:
    return BillLine(
        charge=charge.reference,
        code=charge.code,
        name=charge.name,
        item_class=charge.item_class,
        quantity=charge.quantity,
        refunded=charge.refunded,
        unit_price=charge.unit_price,
        organization=charge.organization,
        organization_name=charge.organization_name,
        status=charge.status,
        amounts=amounts or dict.fromkeys(LINE_FIELDS, ZERO),
    )


def bill(repo: Repository, encounter_id: str) -> Bill:
    """The bill of the visit ``encounter_id`` (the caller must see the visit).

    Raises:
        OperationOutcomeError: CH-2001 (unknown visit), CH-4003/CH-4004, CH-9408 (no policy
            for the person, when a preview is due).
    """
    eid = encounter_id_of(encounter_id)
    encounter = read_encounter(repo, eid)
    platform = repo.elevated()
    visit = load_visit(platform, encounter)
    return bill_of(platform, visit, now_of(repo).date())


def bill_of(platform: Repository, visit: Visit, today: date) -> Bill:
    """The bill of ``visit`` read through the platform."""
    charges = charges_of(platform, visit)
    state = visit.state
    if state == "settled":
        standing = _standing(platform, visit)
        if standing is None:
            return _bill(visit, "refunded", False, None, [_line(c, None) for c in charges], None)
        by_item = dict(zip(standing.charge_items, standing.lines, strict=True))
        lines = [_line(c, by_item.get(c.reference)) for c in charges]
        return _bill(
            visit, state, False, None, lines, standing, _invoice(platform, visit, standing)
        )
    due = billable(charges)
    if not due or state == "cancelled":
        return _bill(visit, state, True, None, [_line(c, None) for c in charges], None)
    computed = compute(platform, visit, due, today)
    by_ref = {
        c.reference: {"amount": s.amount} | {n: getattr(s, n) for n in LINE_FIELDS[1:]}
        for c, s in zip(computed.charges, computed.settlement.lines, strict=True)
    }
    amounts = {name: getattr(computed.settlement, name) for name in SPLIT}
    return Bill(
        encounter=visit.id,
        patient=visit.patient,
        institution=visit.institution,
        setting=visit.setting,
        state=state,
        preview=True,
        facility_level=computed.level,
        lines=tuple(_line(c, by_ref.get(c.reference)) for c in charges),
        amounts=amounts,
        explain=tuple(computed.settlement.explain),
        invoice=None,
        settlement=None,
        credit_due=visit.credit_due,
        overdue=visit.credit_due is not None and today > visit.credit_due,
    )


def _bill(
    visit: Visit,
    state: str,
    preview: bool,
    level: str | None,
    lines: list[BillLine],
    standing: StoredSettlement | None,
    invoice: str | None = None,
) -> Bill:
    amounts = dict(standing.amounts) if standing else dict.fromkeys(SPLIT, ZERO)
    if standing is not None:
        level = standing.level or level
    return Bill(
        encounter=visit.id,
        patient=visit.patient,
        institution=visit.institution,
        setting=visit.setting,
        state=state,
        preview=preview,
        facility_level=level,
        lines=tuple(lines),
        amounts=amounts,
        explain=standing.explain if standing else (),
        invoice=invoice,
        settlement=standing.id if standing else None,
        credit_due=visit.credit_due,
        overdue=False,
    )


def _standing(platform: Repository, visit: Visit) -> StoredSettlement | None:
    """The settlement of the visit that stands (the latest after refunds)."""
    mine = [s for s in ledger_of(platform, visit.patient).settlements if s.visit == visit.reference]
    return mine[-1] if mine else None


def _invoice(platform: Repository, visit: Visit, standing: StoredSettlement) -> str | None:
    if visit.account is None:
        return None
    found = find(
        platform,
        "Invoice",
        [("account", visit.account.reference), ("status", "balanced")],
        count=20,
    )
    for body in found.resources:
        for ext in body.get("extension") or []:
            if (ext.get("valueReference") or {}).get("reference") == standing.reference:
                return str(body["id"])
    return None
