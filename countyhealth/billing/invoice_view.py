"""An issued Invoice as its printed e-invoice (:mod:`.invoice_pdf`): the lines with their
items and institutions, the settlement's national split, the payer, and a check code.

The Invoice is read as the caller (the resident's own, or the issuing institution's cashier);
the settlement, ChargeItems and payment record behind it are read for the platform once the
caller has been allowed the Invoice.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, cast

from ..records.names import organization_names
from ..records.patients import patient_card
from ..scheduling.calendar import parse_datetime
from ..store import Repository
from .charges import charge_of
from .engine import SPLIT_FIELDS
from .invoice_pdf import InvoiceDocument, InvoiceLine, InvoiceSplit
from .payments import stored_settlement
from .records import (
    EXT_PAYMENT,
    EXT_PAYMENT_CHANNEL,
    EXT_REPLACES,
    EXT_SETTLEMENT_TOTALS,
    INVOICE_NUMBER,
    extension,
    identifier_value,
)
from .records import reference_of as ref_of

_INSURANCE = {"employee": "职工医保", "resident": "城乡居民医保"}


def check_code(secret: str, invoice_id: str, number: str) -> str:
    """Eight hex digits that only this platform can compute for the invoice (its verification
    page shows the same code)."""
    digest = hmac.new(secret.encode(), f"{invoice_id}|{number}".encode(), hashlib.sha256)
    return digest.hexdigest()[:8].upper()


def invoice_document(repo: Repository, invoice_id: str, url: str) -> InvoiceDocument:
    """The printable e-invoice of ``Invoice/invoice_id``; ``url`` is its page's address."""
    invoice = repo.read("Invoice", invoice_id).resource
    platform = repo.elevated()
    settled = stored_settlement(platform, invoice)
    charges = {
        ref: charge_of(platform.read("ChargeItem", ref.removeprefix("ChargeItem/")).resource)
        for ref in dict.fromkeys(settled.charge_items)
    }
    names = organization_names(platform, [c.organization for c in charges.values()])
    lines = []
    for ref, quantity, amounts in zip(
        settled.charge_items, settled.quantities, settled.lines, strict=True
    ):
        charge = charges[ref]
        lines.append(
            InvoiceLine(
                item=charge.name,
                item_class=cast(Literal["A", "B", "C"], charge.item_class),
                quantity=quantity,
                unit_price=charge.unit_price,
                amount=amounts["amount"],
                institution=names.get(charge.organization, charge.organization_name),
            )
        )
    patient = platform.read("Patient", settled.patient).resource
    card = patient_card(patient)
    number = identifier_value(invoice, INVOICE_NUMBER) or invoice_id
    replaces = ref_of((extension(invoice, EXT_REPLACES) or {}).get("valueReference"))
    return InvoiceDocument(
        number=number,
        issued=parse_datetime(str(invoice.get("date"))) if invoice.get("date") else datetime.now(),
        payer_name=str(card.get("name") or ""),
        id_number=str(card.get("idNumber") or ""),
        visit_date=settled.day,
        institutions=tuple(dict.fromkeys(line.institution for line in lines)),
        lines=tuple(lines),
        split=InvoiceSplit(**{k: settled.amounts.get(k, Decimal("0.00")) for k in SPLIT_FIELDS}),
        url=url,
        check_code=check_code(repo.store.settings.secret_key, invoice_id, number),
        simulated=_simulated(platform, invoice),
        insurance=_insurance(settled.resource),
        visit_number=settled.visit.removeprefix("Encounter/"),
        note=f"替代票据，原票据已红冲（{replaces.removeprefix('Invoice/')}）" if replaces else "",
    )


def _simulated(platform: Repository, invoice: dict[str, Any]) -> bool:
    """Whether the payment went through the simulated provider (the e-invoice then says
    演示系统)."""
    record = ref_of((extension(invoice, EXT_PAYMENT) or {}).get("valueReference"))
    if not record.startswith("PaymentReconciliation/"):
        return False
    body = platform.read("PaymentReconciliation", record.split("/", 1)[1]).resource
    channel = (extension(body, EXT_PAYMENT_CHANNEL) or {}).get("valueCoding") or {}
    return channel.get("code") == "simulated"


def _insurance(response: dict[str, Any]) -> str:
    """The scheme's name from the policy version the settlement applied (``area/scheme/…``)."""
    facts = (extension(response, EXT_SETTLEMENT_TOTALS) or {}).get("extension") or []
    policy = next((str(f.get("valueString")) for f in facts if f.get("url") == "policy"), "")
    for scheme, label in _INSURANCE.items():
        if scheme in policy.split("/"):
            return label
    return "自费" if not policy else ""
