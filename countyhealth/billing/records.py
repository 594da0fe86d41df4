"""Names and small readers shared by the billing services: the project's code systems and
extensions for billing, money in FHIR JSON, and references.

Money in FHIR JSON is a ``decimal`` primitive, i.e. a JSON number
(https://hl7.org/fhir/R4/datatypes.html#decimal). The services compute in :class:`Decimal`
only; an amount leaves for storage as the JSON number of its decimal digits and comes back
through :func:`decimal_of`, which reads the number's shortest text form, so that ``12.35``
stored is ``Decimal("12.35")`` read (amounts carry at most two decimals and fewer than
fifteen digits, which a binary double holds to that text form exactly).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..fhir import systems

BASE = systems.BASE
CURRENCY = "CNY"
CENT = Decimal("0.01")

# --------------------------------------------------------------------------- code systems
SETTLEMENT_FIELD = f"{BASE}/CodeSystem/settlement-field"
"""The fields of the national 医保 settlement result (2207/2304 ``setlinfo``, DOMAIN.md §1.3),
plus ``commercial_pay`` for a commercial insurer paying directly (not a national field)."""
PRICE_ITEM = f"{BASE}/CodeSystem/price-item"
"""Items of the county price catalogue (``data/price_items.json``): ChargeItem.code."""
ITEM_CLASS = f"{BASE}/CodeSystem/insurance-item-class"
"""甲类 (A), 乙类 (B), 丙类 / self-pay (C) of the 医保 catalogue."""
PAYMENT_CHANNEL = f"{BASE}/CodeSystem/payment-channel"
"""How the cash part moved: the name of the :class:`~.provider.PaymentProvider`."""
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/payment-type"
"""PaymentReconciliation.detail.type: payment, adjustment, advance."""
EX_PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
"""ClaimResponse.payment.type: complete, partial."""
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
RELATED_CLAIM = "http://terminology.hl7.org/CodeSystem/related-claim-relationship"
COVERAGE_SELF_PAY = "http://terminology.hl7.org/CodeSystem/coverage-selfpay"
ACCOUNT_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

# --------------------------------------------------------------------------- identifiers
VISIT_ACCOUNT = f"{BASE}/NamingSystem/visit-account"
"""Account.identifier: the visit (Encounter id) whose charges the Account collects."""
IDEMPOTENCY_KEY = f"{BASE}/NamingSystem/idempotency-key"
"""PaymentReconciliation.identifier: the caller's idempotency key of a payment or refund."""
SETTLEMENT_NUMBER = f"{BASE}/NamingSystem/settlement-number"
"""Claim/ClaimResponse.identifier: the settlement number (结算流水号, ``setl_id``)."""
INVOICE_NUMBER = f"{BASE}/NamingSystem/e-invoice-number"
"""Invoice.identifier: the electronic invoice number (电子票据号码)."""
PAYMENT_TRANSACTION = f"{BASE}/NamingSystem/payment-transaction"
"""PaymentReconciliation.paymentIdentifier: the provider's transaction id."""
SELF_PAY = f"{BASE}/NamingSystem/self-pay-coverage"
"""Coverage.identifier of the self-pay Coverage of a person without insurance (Patient id)."""

# --------------------------------------------------------------------------- extensions
EXT_ITEM_CLASS = f"{BASE}/StructureDefinition/charge-item-class"
EXT_REFUNDED_QUANTITY = f"{BASE}/StructureDefinition/refunded-quantity"
EXT_CHARGE_ITEM = f"{BASE}/StructureDefinition/claim-item-charge"
EXT_SETTLEMENT_TOTALS = f"{BASE}/StructureDefinition/settlement-totals"
EXT_SETTLEMENT = f"{BASE}/StructureDefinition/settlement"
EXT_REVERSED = f"{BASE}/StructureDefinition/settlement-reversed"
EXT_REPLACES = f"{BASE}/StructureDefinition/invoice-replaces"
EXT_REQUEST = f"{BASE}/StructureDefinition/idempotency-request"
EXT_CREDIT_DUE = f"{BASE}/StructureDefinition/credit-due"
EXT_MEDICAL_ASSISTANCE = f"{BASE}/StructureDefinition/medical-assistance"
EXT_PERSONAL_ACCOUNT = f"{BASE}/StructureDefinition/personal-account"
EXT_INSURANCE_AREA = f"{BASE}/StructureDefinition/insurance-area"
EXT_PAYMENT = f"{BASE}/StructureDefinition/invoice-payment"
EXT_PAYMENT_CHANNEL = f"{BASE}/StructureDefinition/payment-channel"
EXT_REFUNDED_ITEM = f"{BASE}/StructureDefinition/refunded-item"
EXT_CREDIT_AMOUNT = f"{BASE}/StructureDefinition/credit-amount"


def number(value: Decimal) -> int | float:
    """The JSON number of a Decimal (see the module docstring)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def decimal_of(value: Any) -> Decimal:
    """A Decimal from a stored JSON number (or its text); ValueError when it is none."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{value!r} is not a number")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not out.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return out


def money(amount: Decimal) -> dict[str, Any]:
    """A FHIR Money in yuan."""
    return {"value": number(amount.quantize(CENT)), "currency": CURRENCY}


def money_of(element: Any) -> Decimal:
    """The amount of a stored Money (0 when absent)."""
    if not isinstance(element, dict) or "value" not in element:
        return Decimal("0.00")
    return decimal_of(element["value"]).quantize(CENT)


def ref(reference: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": reference}
    if display:
        out["display"] = display
    return out


def reference_of(element: Any) -> str:
    """``Type/id`` of a Reference element ('' when absent)."""
    if isinstance(element, dict):
        return str(element.get("reference") or "")
    return ""


def local_id(reference: str, rtype: str) -> str:
    """The id of ``rtype/id`` (accepts the bare id too)."""
    return reference.strip().removeprefix(f"{rtype}/")


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def code_in(concept: Any, system: str) -> str | None:
    """The code of ``system`` in a CodeableConcept (or a list of them)."""
    concepts = concept if isinstance(concept, list) else [concept]
    for c in concepts:
        if not isinstance(c, dict):
            continue
        for cd in c.get("coding") or []:
            if isinstance(cd, dict) and cd.get("system") == system and cd.get("code"):
                return str(cd["code"])
    return None


def extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            return ext
    return None


def bare(resource: dict[str, Any]) -> dict[str, Any]:
    """A stored body ready for an update: meta dropped, the custodian tag kept."""
    body = dict(resource)
    tags = (body.pop("meta", None) or {}).get("tag")
    if tags:
        body["meta"] = {"tag": tags}
    return body


def identifier_value(resource: dict[str, Any], system: str) -> str | None:
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == system and ident.get("value"):
            return str(ident["value"])
    return None


def version_of(resource: dict[str, Any]) -> int:
    """``meta.versionId`` of a stored body (for If-Match)."""
    return int((resource.get("meta") or {}).get("versionId") or 0)
