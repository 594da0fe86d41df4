"""Paying a visit once (最多付一次): one settlement of all its charges, in one unit of work.

Under the locks on the idempotency key and on the patient, :func:`pay`

1. answers a request already recorded under the key with the same :class:`Payment` (and
   refuses the key for another request, CH-9407);
2. settles every billable charge of the visit with the engine (the person's cover, the level
   of the institution holding the visit, the running totals of the year);
3. files the Claim and the ClaimResponse with the split (:mod:`.settlements`), the Invoice
   (https://hl7.org/fhir/R4/invoice.html), marks the ChargeItems ``billed`` and closes the
   visit Account (``inactive``: no more charges);
4. takes the cash part through the :class:`~.provider.PaymentProvider` with the key, then
   records it in a PaymentReconciliation (https://hl7.org/fhir/R4/paymentreconciliation.html)
   that also records the key.

A declined payment (CH-9406) rolls everything back: nothing is written and the key stays
free. When the unit of work fails after the provider took the money, the charge is voided
before the error goes back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..errors import error, forbidden
from ..fhir.consent_grants import with_custodian
from ..records.query import find
from ..scheduling.calendar import fhir_datetime
from ..store import Repository
from .charges import Charge, charges_of, instant
from .idempotency import check_key, fingerprint, key_parts, lock_key, recorded
from .preview import Computed, compute
from .provider import PaymentProvider, Receipt
from .records import (
    COVERAGE_SELF_PAY,
    EXT_PAYMENT,
    EXT_PAYMENT_CHANNEL,
    EXT_REPLACES,
    EXT_SETTLEMENT,
    IDEMPOTENCY_KEY,
    INVOICE_NUMBER,
    PAYMENT_CHANNEL,
    PAYMENT_TRANSACTION,
    PAYMENT_TYPE,
    SELF_PAY,
    SETTLEMENT_FIELD,
    bare,
    coding,
    extension,
    identifier_value,
    money,
    money_of,
    ref,
    reference_of,
)
from .settlements import (
    FIELDS,
    SPLIT,
    StoredSettlement,
    claim_body,
    read_settlement,
    response_body,
    settlement_number,
)
from .visits import (
    Visit,
    encounter_id_of,
    load_visit,
    now_of,
    read_encounter,
    reload,
    set_account_state,
)

log = logging.getLogger(__name__)

#: the payers that reduce what the patient owes on the invoice (Invoice price components)
DEDUCTIONS = ("fund", "catastrophic", "assistance", "commercial")


@dataclass(frozen=True, slots=True)
class Payment:
    """The one payment of a visit, as recorded (a replay under the same key is equal)."""

    key: str
    encounter: str  # Encounter id
    patient: str
    invoice: str  # Invoice id issued at payment
    invoice_number: str
    claim: str  # Claim id
    claim_response: str  # ClaimResponse id
    reconciliation: str  # PaymentReconciliation id
    amounts: dict[str, Decimal]  # the split, by settlement field (total … cash)
    institutions: tuple[tuple[str, Decimal], ...]  # (Organization/id, its lines' total)
    explain: tuple[str, ...]
    cash: Decimal
    provider: str
    transaction: str | None
    paid_at: str
    replayed: bool = field(default=False, compare=False)


def may_pay(repo: Repository) -> None:
    """The resident pays their own visits; staff who issue invoices (cashiers), the platform
    and integrators pay any they see (CH-4003 otherwise)."""
    caller = repo.caller
    if caller.access == "compartment":
        return
    if caller.access == "none" or not caller.scopes.allows("Invoice", "create"):
        raise forbidden(f"{caller.key} does not settle visits")


def billable(charges: Sequence[Charge]) -> list[Charge]:
    return [c for c in charges if c.status == "billable" and c.remaining > 0]


def invoice_number(now: datetime) -> str:
    """An electronic invoice number (电子票据号码): the day and a random part."""
    return f"E{now:%Y%m%d}{uuid.uuid4().hex[:12].upper()}"


def invoice_body(
    visit: Visit,
    computed: Computed,
    response: str,
    reconciliation: str,
    number_: str,
    now: datetime,
    replaces: str | None = None,
) -> dict[str, Any]:
    """The Invoice of a settlement: a line per ChargeItem, the split as price components
    (the payers' parts as ``deduction``, the rest ``informational``), gross = 医疗费总额,
    net = what the patient bears (个人账户 + 个人现金)."""
    s = computed.settlement
    lines = []
    for n, (charge, split) in enumerate(zip(computed.charges, s.lines, strict=True), start=1):
        lines.append(
            {
                "sequence": n,
                "chargeItemReference": ref(charge.reference, charge.name),
                "priceComponent": [{"type": "base", "amount": money(split.amount)}]
                + [
                    {
                        "type": "deduction",
                        "code": {
                            "coding": [coding(SETTLEMENT_FIELD, FIELDS[name][0], FIELDS[name][1])]
                        },
                        "amount": money(getattr(split, name)),
                    }
                    for name in DEDUCTIONS
                    if getattr(split, name)
                ],
            }
        )
    components = [{"type": "base", "amount": money(s.total)}]
    for name in SPLIT[1:]:
        code, zh, _ = FIELDS[name]
        components.append(
            {
                "type": "deduction" if name in DEDUCTIONS else "informational",
                "code": {"coding": [coding(SETTLEMENT_FIELD, code, zh)], "text": zh},
                "amount": money(getattr(s, name)),
            }
        )
    extensions = [
        {"url": EXT_SETTLEMENT, "valueReference": ref(response)},
        {"url": EXT_PAYMENT, "valueReference": ref(reconciliation)},
    ]
    if replaces:
        extensions.append({"url": EXT_REPLACES, "valueReference": ref(replaces)})
    kind = "住院" if visit.setting == "inpatient" else "门诊"
    body: dict[str, Any] = {
        "resourceType": "Invoice",
        "extension": extensions,
        "identifier": [{"system": INVOICE_NUMBER, "value": number_}],
        "status": "balanced",
        "type": {"text": f"医疗收费电子票据（{kind}）"},
        "subject": ref(f"Patient/{visit.patient}"),
        "recipient": ref(f"Patient/{visit.patient}"),
        "date": fhir_datetime(now),
        "issuer": ref(visit.institution),
        "lineItem": lines,
        "totalPriceComponent": components,
        "totalNet": money(s.account + s.cash),
        "totalGross": money(s.total),
        "paymentTerms": "已结清 (paid)",
    }
    if visit.account is not None:
        body["account"] = ref(visit.account.reference)
    with_custodian(body, visit.institution)
    return body


def reconciliation_body(
    visit: Visit,
    key: str,
    request: str,
    amount: Decimal,
    receipt: Receipt | None,
    provider: str,
    details: list[dict[str, Any]],
    disposition: str,
    now: datetime,
    extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The PaymentReconciliation of one money movement with the patient (``amount`` > 0
    paid in, < 0 given back). It is not patient data in R4: it names no patient, only the
    Invoice and ClaimResponse it reconciles."""
    parts = key_parts(key, request)
    body: dict[str, Any] = {
        "resourceType": "PaymentReconciliation",
        "extension": [
            *parts["extension"],
            {"url": EXT_PAYMENT_CHANNEL, "valueCoding": coding(PAYMENT_CHANNEL, provider)},
            *(extra or []),
        ],
        "identifier": parts["identifier"],
        "status": "active",
        "created": instant(now),
        "requestor": ref(visit.institution),
        "outcome": "complete",
        "disposition": disposition,
        "paymentDate": now.date().isoformat(),
        "paymentAmount": money(amount),
        "detail": details,
    }
    if receipt is not None:
        body["paymentIdentifier"] = {
            "system": f"{PAYMENT_TRANSACTION}/{receipt.provider}",
            "value": receipt.transaction,
        }
    return body


def payment_detail(
    kind: str, invoice: str, response: str, amount: Decimal, now: datetime
) -> dict[str, Any]:
    return {
        "type": {"coding": [coding(PAYMENT_TYPE, kind)]},
        "request": ref(invoice),
        "response": ref(response),
        "date": now.date().isoformat(),
        "amount": money(amount),
    }


def payment_of(platform: Repository, record: dict[str, Any], replayed: bool = False) -> Payment:
    """The Payment recorded by a PaymentReconciliation."""
    detail = (record.get("detail") or [{}])[0]
    invoice = platform.read("Invoice", reference_of(detail.get("request")).removeprefix("Invoice/"))
    settled = settlement_of(platform, reference_of(detail.get("response")))
    transaction = (record.get("paymentIdentifier") or {}).get("value")
    return Payment(
        key=identifier_value(record, IDEMPOTENCY_KEY) or "",
        encounter=settled.visit.removeprefix("Encounter/"),
        patient=settled.patient,
        invoice=invoice.id,
        invoice_number=identifier_value(invoice.resource, INVOICE_NUMBER) or "",
        claim=settled.claim.removeprefix("Claim/"),
        claim_response=settled.id,
        reconciliation=str(record["id"]),
        amounts=dict(settled.amounts),
        institutions=tuple(sorted(shares_of(platform, settled).items())),
        explain=settled.explain,
        cash=money_of(record.get("paymentAmount")),
        provider=str(
            ((extension(record, EXT_PAYMENT_CHANNEL) or {}).get("valueCoding") or {}).get("code")
            or ""
        ),
        transaction=str(transaction) if transaction else None,
        paid_at=str(record.get("created")),
        replayed=replayed,
    )


def settlement_of(platform: Repository, response: str) -> StoredSettlement:
    """The settlement of ``ClaimResponse/id`` with its Claim."""
    stored = platform.read("ClaimResponse", response.removeprefix("ClaimResponse/"))
    claim = platform.read(
        "Claim", reference_of(stored.resource.get("request")).removeprefix("Claim/")
    )
    return read_settlement(stored.resource, claim.resource)


def shares_of(platform: Repository, settled: StoredSettlement) -> dict[str, Decimal]:
    """The total of a settlement's lines by performing institution (``Organization/id``)."""
    out: dict[str, Decimal] = {}
    for item, line in zip(settled.charge_items, settled.lines, strict=True):
        body = platform.read("ChargeItem", item.removeprefix("ChargeItem/")).resource
        org = reference_of(body.get("performingOrganization"))
        out[org] = out.get(org, Decimal("0.00")) + line["amount"]
    return out


def write_settlement(
    platform: Repository,
    visit: Visit,
    computed: Computed,
    now: datetime,
    prior: str | None = None,
) -> tuple[str, str]:
    """File the Claim and ClaimResponse of ``computed``; their ids."""
    number_ = settlement_number(now)
    coverages = computed.cover.coverages or [self_pay_coverage(platform, visit.patient)]
    claim = platform.create(
        claim_body(
            visit,
            computed.charges,
            computed.quantities,
            coverages,
            computed.settlement,
            number_,
            now,
            prior,
        )
    )
    insurer = computed.cover.insurer or visit.institution
    response = platform.create(
        response_body(
            visit,
            claim.reference,
            number_,
            computed.settlement,
            computed.cover.scheme,
            insurer,
            computed.day,
            computed.level,
            now,
        )
    )
    return claim.id, response.id


def self_pay_coverage(platform: Repository, patient: str) -> str:
    """The self-pay Coverage (coverage-selfpay ``pay``) of a person without insurance, which
    a Claim needs as its insurance; created once."""
    found = find(platform, "Coverage", [("identifier", f"{SELF_PAY}|{patient}")], count=1)
    if found.resources:
        return f"Coverage/{found.resources[0]['id']}"
    stored = platform.create(
        {
            "resourceType": "Coverage",
            "identifier": [{"system": SELF_PAY, "value": patient}],
            "status": "active",
            "type": {"coding": [coding(COVERAGE_SELF_PAY, "pay", "Pay")], "text": "自费"},
            "beneficiary": ref(f"Patient/{patient}"),
            "payor": [ref(f"Patient/{patient}")],
        }
    )
    return stored.reference


def mark_billed(platform: Repository, charges: Sequence[Charge]) -> None:
    for charge in charges:
        body = bare(charge.resource)
        body["status"] = "billed"
        platform.update("ChargeItem", charge.id, body, if_match=charge.version)


def pay(
    repo: Repository,
    encounter_id: str,
    idempotency_key: str,
    provider: PaymentProvider,
) -> Payment:
    """Settle the visit ``encounter_id`` once and take the cash part through ``provider``.

    Args:
        repo: the caller's Repository (the resident, a cashier, the platform, an integrator).
        encounter_id: the visit (``Encounter/id`` or id).
        idempotency_key: the caller's key for this payment (e.g. a UUID made when the pay
            button was shown); the same key and visit answer the same Payment.
        provider: the payment provider of the cash part.

    Raises:
        OperationOutcomeError: CH-9401 (malformed key), CH-9402 (cancelled visit), CH-9405
            (nothing billable, or already settled under another key), CH-9406 (the provider
            declined; nothing written), CH-9407 (the key was used for another request),
            CH-9408 (no policy for the person), CH-2001, CH-4003/CH-4004.
    """
    key = check_key(idempotency_key)
    may_pay(repo)
    eid = encounter_id_of(encounter_id)
    encounter = read_encounter(repo, eid)  # the caller must see the visit
    platform = repo.elevated()
    visit = load_visit(platform, encounter)
    request = fingerprint({"op": "pay", "encounter": eid})
    now = now_of(repo)
    taken: list[Receipt] = []
    try:
        with platform.transaction():
            lock_key(platform, key)
            platform.lock("Patient", visit.patient)
            done = recorded(platform, key, request)
            if done is not None:
                return payment_of(platform, done, replayed=True)
            visit = reload(platform, visit)
            record = _settle(platform, visit, key, request, provider, now, taken)
    except BaseException:
        # the unit of work did not commit: give back what the provider took in it
        for receipt in taken:
            _void(provider, receipt, key)
        raise
    return payment_of(platform, record)


def _settle(
    platform: Repository,
    visit: Visit,
    key: str,
    request: str,
    provider: PaymentProvider,
    now: datetime,
    taken: list[Receipt],
) -> dict[str, Any]:
    if visit.state == "cancelled":
        raise error("CH-9402", f"Encounter/{visit.id} was {visit.encounter.resource.get('status')}")
    if visit.state == "settled":
        raise error("CH-9405", f"Encounter/{visit.id} was settled already (one payment per visit)")
    charges = billable(charges_of(platform, visit))
    if not charges:
        raise error("CH-9405", f"Encounter/{visit.id} has no charges to settle")
    computed = compute(platform, visit, charges, now.date())
    _, response = write_settlement(platform, visit, computed, now)
    reconciliation = str(uuid.uuid4())
    invoice = platform.create(
        invoice_body(
            visit,
            computed,
            f"ClaimResponse/{response}",
            f"PaymentReconciliation/{reconciliation}",
            invoice_number(now),
            now,
        )
    )
    mark_billed(platform, charges)
    set_account_state(platform, visit, "inactive", now)
    cash = computed.settlement.cash
    receipt = None
    if cash > 0:
        receipt = provider.charge(key, cash, f"Encounter/{visit.id} {invoice.id}")
        taken.append(receipt)
    body = reconciliation_body(
        visit,
        key,
        request,
        cash,
        receipt,
        provider.name,
        [payment_detail("payment", invoice.reference, f"ClaimResponse/{response}", cash, now)],
        f"门诊/住院结算 settled by {provider.name}",
        now,
    )
    return platform.create(body, assigned_id=reconciliation).resource


def _void(provider: PaymentProvider, receipt: Receipt, key: str) -> None:
    """Give back a charge the platform could not record."""
    try:
        provider.refund(
            f"{key}:void", receipt.transaction, receipt.amount, "settlement not recorded"
        )
    except Exception:  # the original error goes back; this one is for the operators
        log.exception(
            "could not void %s %s of %s", receipt.provider, receipt.transaction, receipt.amount
        )


def stored_settlement(platform: Repository, invoice: dict[str, Any]) -> StoredSettlement:
    """The settlement an Invoice was issued for."""
    return settlement_of(
        platform, reference_of((extension(invoice, EXT_SETTLEMENT) or {}).get("valueReference"))
    )


__all__ = ["Payment", "pay"]
