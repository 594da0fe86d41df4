"""Refunds (退费): some ChargeItems of a paid visit (or part of their quantity), or all of it.

In one unit of work under the locks on the idempotency key and on the patient, :func:`refund`
reverses the settlement the Invoice was issued for (its Claim and ClaimResponse become
``cancelled``), settles what remains with the running totals the reversed settlement started
from (so the year's totals are as if the refunded part had never been settled), gives the
patient the difference in cash through the provider, cancels the Invoice (红冲) and issues one
for what remains, and records the refunded quantities on the ChargeItems (status ``aborted``
when nothing of one remains). The personal account and the insurers' parts follow from the
new settlement: they are derived from the settlements that stand.

The provider gives the cash back last, just before the PaymentReconciliation that records the
refund and its key; should the unit of work fail after it, a retry with the same key finds the
provider's refund under that key and records it without paying twice.

A refund larger than what stands on the Invoice — more than the remaining quantity of a
ChargeItem, or anything on an Invoice that an earlier refund cancelled — is refused with
CH-9404 before anything moves.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..errors import OperationOutcomeError, error, forbidden, not_found
from ..store import Repository
from .charges import Charge, charge_of, charges_of, quantity_of
from .idempotency import check_key, fingerprint, lock_key, recorded
from .payments import (
    invoice_body,
    invoice_number,
    payment_detail,
    reconciliation_body,
    settlement_of,
    shares_of,
    stored_settlement,
    write_settlement,
)
from .preview import compute
from .provider import PaymentProvider, Receipt
from .records import (
    EXT_PAYMENT,
    EXT_REFUNDED_ITEM,
    EXT_REFUNDED_QUANTITY,
    IDEMPOTENCY_KEY,
    bare,
    decimal_of,
    extension,
    identifier_value,
    local_id,
    money_of,
    number,
    ref,
    reference_of,
)
from .settlements import SPLIT, reversed_body
from .visits import load_visit, now_of

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund, as recorded (a replay under the same key is equal)."""

    key: str
    invoice: str  # the Invoice refunded (now cancelled)
    replacement: str | None  # the Invoice of what remains
    reversed: str  # the ClaimResponse reversed
    settlement: str | None  # the ClaimResponse of what remains
    reconciliation: str
    items: tuple[tuple[str, Decimal], ...]  # (ChargeItem/id, quantity refunded)
    cash: Decimal  # given back to the patient
    amounts: dict[str, Decimal]  # the split of what remains (all zero after a full refund)
    returned: dict[str, Decimal]  # what each payer gave back: the first split less ``amounts``
    institutions: tuple[tuple[str, Decimal], ...]  # (Organization/id, its share of returned)
    transaction: str | None
    reason: str
    refunded_at: str
    replayed: bool = field(default=False, compare=False)


def may_refund(repo: Repository) -> None:
    """Cashiers (who update invoices), the platform and integrators refund; not residents."""
    caller = repo.caller
    if caller.access in ("compartment", "none") or not caller.scopes.allows("Invoice", "update"):
        raise forbidden(f"{caller.key} does not refund payments")


def _asked(items: Sequence[str] | Mapping[str, object] | None) -> dict[str, Decimal | None]:
    """ChargeItem reference → quantity to refund (None: all that remains)."""
    if items is None:
        return {}
    if isinstance(items, str):
        raise error("CH-9401", "charge items are a list of ChargeItem ids", "chargeItem")
    pairs: list[tuple[str, object]] = (
        list(items.items()) if isinstance(items, Mapping) else [(i, None) for i in items]
    )
    if not pairs:
        raise error(
            "CH-9401", "name at least one ChargeItem to refund (or none for all)", "chargeItem"
        )
    out: dict[str, Decimal | None] = {}
    for raw, quantity in pairs:
        cid = local_id(str(raw or ""), "ChargeItem")
        if not cid or f"ChargeItem/{cid}" in out:
            raise error("CH-9401", f"ChargeItem {raw!r} is missing or named twice", "chargeItem")
        out[f"ChargeItem/{cid}"] = None if quantity is None else quantity_of(quantity)
    return out


def refund(
    repo: Repository,
    invoice_id: str,
    charge_items: Sequence[str] | Mapping[str, object] | None = None,
    *,
    idempotency_key: str,
    reason: str,
    provider: PaymentProvider,
) -> Refund:
    """Refund ChargeItems of the Invoice ``invoice_id`` (all of it when ``charge_items`` is
    None).

    Args:
        repo: the caller's Repository (a cashier, the platform or an integrator).
        invoice_id: the Invoice the refund is on (``Invoice/id`` or id).
        charge_items: ChargeItem ids to refund in full, or a mapping id → quantity for part of
            one (e.g. two of five boxes returned); None: the whole invoice.
        idempotency_key: the caller's key for this refund.
        reason: why (kept on the reversal and the PaymentReconciliation).
        provider: the provider that took the cash.

    Raises:
        OperationOutcomeError: CH-9401 (malformed request, an item not on the invoice, a
            refund that would raise the patient's share), CH-9404 (more than stands on the
            invoice), CH-9406 (the provider failed; nothing written), CH-9407 (key reused),
            CH-9408, CH-2001, CH-4003/CH-4004.
    """
    key = check_key(idempotency_key)
    may_refund(repo)
    why = (reason or "").strip() if isinstance(reason, str) else ""
    if not why or len(why) > MAX_REASON:
        raise error(
            "CH-9401", f"a refund needs a reason of at most {MAX_REASON} characters", "reason"
        )
    asked = _asked(charge_items)
    iid = local_id(invoice_id or "", "Invoice")
    if not iid:
        raise error("CH-9401", "the invoice is required", "invoice")
    try:
        invoice = repo.read("Invoice", iid)  # the caller must see the invoice
    except OperationOutcomeError as exc:
        if exc.code == "CH-2002":
            raise not_found("Invoice", iid) from exc
        raise
    patient = reference_of(invoice.resource.get("subject")).removeprefix("Patient/")
    request = fingerprint(
        {
            "op": "refund",
            "invoice": iid,
            "items": sorted([r, "all" if q is None else str(q)] for r, q in asked.items()),
            "reason": why,
        }
    )
    platform = repo.elevated()
    now = now_of(repo)
    with platform.transaction():
        lock_key(platform, key)
        platform.lock("Patient", patient)
        done = recorded(platform, key, request)
        if done is None:
            done = _refund(platform, iid, asked, key, request, why, provider, now)
            fresh = True
        else:
            fresh = False
    return refund_of(platform, done, replayed=not fresh)


def _refund(
    platform: Repository,
    iid: str,
    asked: dict[str, Decimal | None],
    key: str,
    request: str,
    reason: str,
    provider: PaymentProvider,
    now: datetime,
) -> dict[str, Any]:
    invoice = platform.read("Invoice", iid)
    if invoice.resource.get("status") != "balanced":
        raise error(
            "CH-9404",
            f"Invoice/{iid} is {invoice.resource.get('status')}: nothing on it is left to refund",
            "invoice",
        )
    original = stored_settlement(platform, invoice.resource)
    if not original.standing:
        raise error("CH-9404", f"the settlement of Invoice/{iid} was reversed already", "invoice")
    charges = [
        charge_of(platform.read("ChargeItem", local_id(r, "ChargeItem")).resource)
        for r in original.charge_items
    ]
    by_ref = {c.reference: c for c in charges}
    visit = load_visit(
        platform, platform.read("Encounter", original.visit.removeprefix("Encounter/"))
    )
    refunded = {c.reference for c in charges_of(platform, visit) if c.status == "aborted"}
    back = _quantities(asked, by_ref, refunded, iid)
    remaining = {c.reference: c.remaining - back.get(c.reference, Decimal(0)) for c in charges}
    kept = [c for c in charges if remaining[c.reference] > 0]
    reconciliation = str(uuid.uuid4())
    by = f"PaymentReconciliation/{reconciliation}"
    platform.update(
        "ClaimResponse",
        original.id,
        reversed_body(original.resource, by, reason, now),
        if_match=original.version,
    )
    claim = platform.read("Claim", original.claim.removeprefix("Claim/"))
    platform.update(
        "Claim", claim.id, reversed_body(claim.resource, by, reason, now), if_match=claim.version
    )
    replacement: str | None = None
    response: str | None = None
    left_cash = Decimal("0.00")
    payment = reference_of((extension(invoice.resource, EXT_PAYMENT) or {}).get("valueReference"))
    if kept:
        computed = compute(
            platform,
            visit,
            kept,
            original.day,
            quantities={c.reference: remaining[c.reference] for c in kept},
            totals=original.before,
            without=original.id,
        )
        _, response = write_settlement(platform, visit, computed, now, prior=original.claim)
        left_cash = computed.settlement.cash
        replacement = platform.create(
            invoice_body(
                visit,
                computed,
                f"ClaimResponse/{response}",
                payment,
                invoice_number(now),
                now,
                replaces=invoice.reference,
            )
        ).reference
    cash_back = original.amounts["cash"] - left_cash
    if cash_back < 0:
        raise error(
            "CH-9401",
            f"without these items the patient would pay {-cash_back} more in cash; "
            "refund the whole invoice and settle again",
            "chargeItem",
        )
    cancelled = bare(invoice.resource)
    cancelled["status"] = "cancelled"
    cancelled["cancelledReason"] = f"退费红冲 (refund): {reason}"[:1000]
    platform.update("Invoice", iid, cancelled, if_match=invoice.version)
    for charge in charges:
        if charge.reference in back:
            _record_refunded(platform, charge, back[charge.reference])
    receipt: Receipt | None = None
    if cash_back > 0:
        transaction = _transaction(platform, payment)
        receipt = provider.refund(key, transaction, cash_back, reason)
    details = [payment_detail("adjustment", invoice.reference, original.reference, -cash_back, now)]
    if replacement and response:
        details.append(
            payment_detail("payment", replacement, f"ClaimResponse/{response}", Decimal(0), now)
        )
    items = [
        {
            "url": EXT_REFUNDED_ITEM,
            "extension": [
                {"url": "chargeItem", "valueReference": ref(r)},
                {"url": "quantity", "valueDecimal": number(q)},
            ],
        }
        for r, q in sorted(back.items())
    ]
    body = reconciliation_body(
        visit,
        key,
        request,
        -cash_back,
        receipt,
        provider.name,
        details,
        f"退费 refund: {reason}"[:1000],
        now,
        items,
    )
    body["processNote"] = [{"type": "display", "text": reason}]
    return platform.create(body, assigned_id=reconciliation).resource


def _quantities(
    asked: dict[str, Decimal | None], charges: dict[str, Charge], refunded: set[str], iid: str
) -> dict[str, Decimal]:
    """What to give back of each ChargeItem (CH-9401 not on the invoice, CH-9404 more than
    stands; ``refunded``: the visit's ChargeItems refunded in full before)."""
    if not asked:
        return {r: c.remaining for r, c in charges.items() if c.remaining > 0}
    out: dict[str, Decimal] = {}
    for r, quantity in asked.items():
        charge = charges.get(r)
        if charge is None:
            if r in refunded:
                raise error(
                    "CH-9404",
                    f"{r} was refunded in full before: nothing of it stands",
                    "chargeItem",
                )
            raise error("CH-9401", f"{r} is not on Invoice/{iid}", "chargeItem")
        wanted = charge.remaining if quantity is None else quantity
        if wanted > charge.remaining or charge.remaining <= 0:
            raise error(
                "CH-9404",
                f"{r}: {wanted} to refund but {charge.remaining} of {charge.quantity} stands "
                "(the rest was refunded before)",
                "chargeItem",
            )
        out[r] = wanted
    return out


def _record_refunded(platform: Repository, charge: Charge, quantity: Decimal) -> None:
    body = bare(charge.resource)
    total = charge.refunded + quantity
    body["extension"] = [
        *(e for e in body.get("extension") or [] if e.get("url") != EXT_REFUNDED_QUANTITY),
        {"url": EXT_REFUNDED_QUANTITY, "valueDecimal": number(total)},
    ]
    if total >= charge.quantity:
        body["status"] = "aborted"
    platform.update("ChargeItem", charge.id, body, if_match=charge.version)


def _transaction(platform: Repository, payment: str) -> str:
    record = platform.read("PaymentReconciliation", payment.removeprefix("PaymentReconciliation/"))
    value = (record.resource.get("paymentIdentifier") or {}).get("value")
    if not value:
        raise error("CH-9406", f"{payment} names no provider transaction to refund")
    return str(value)


def refund_of(platform: Repository, record: dict[str, Any], replayed: bool = False) -> Refund:
    """The Refund recorded by a PaymentReconciliation."""
    details = record.get("detail") or []
    first = details[0]
    second = details[1] if len(details) > 1 else None
    settlement = reference_of(second.get("response")) if second else None
    original = settlement_of(platform, reference_of(first.get("response")))
    shares = shares_of(platform, original)
    amounts = {name: Decimal("0.00") for name in SPLIT}
    if settlement:
        left = settlement_of(platform, settlement)
        amounts = dict(left.amounts)
        for org, share in shares_of(platform, left).items():
            shares[org] -= share
    items = []
    for ext in record.get("extension") or []:
        if ext.get("url") == EXT_REFUNDED_ITEM:
            parts = {e.get("url"): e for e in ext.get("extension") or []}
            items.append(
                (
                    reference_of(parts["chargeItem"]["valueReference"]),
                    decimal_of(parts["quantity"]["valueDecimal"]),
                )
            )
    transaction = (record.get("paymentIdentifier") or {}).get("value")
    return Refund(
        key=identifier_value(record, IDEMPOTENCY_KEY) or "",
        invoice=reference_of(first.get("request")).removeprefix("Invoice/"),
        replacement=reference_of(second.get("request")).removeprefix("Invoice/")
        if second
        else None,
        reversed=reference_of(first.get("response")).removeprefix("ClaimResponse/"),
        settlement=settlement.removeprefix("ClaimResponse/") if settlement else None,
        reconciliation=str(record["id"]),
        items=tuple(items),
        cash=Decimal(0) - money_of(record.get("paymentAmount")),
        amounts=amounts,
        returned={name: original.amounts[name] - amounts[name] for name in SPLIT},
        institutions=tuple(sorted((org, v) for org, v in shares.items() if v)),
        transaction=str(transaction) if transaction else None,
        reason=str(((record.get("processNote") or [{}])[0]).get("text") or ""),
        refunded_at=str(record.get("created")),
        replayed=replayed,
    )
