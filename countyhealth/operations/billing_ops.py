"""The pay-at-most-once operations (最多付一次; :mod:`countyhealth.billing`).

- ``Encounter/[id]/$charge`` (POST: ``code``, ``quantity``, optionally ``performer``): a
  ChargeItem on the visit, answered 201 with the ChargeItem.
- ``Encounter/[id]/$bill`` (GET or POST, changes nothing): the bill as a ``Parameters`` —
  ``state``, one ``line`` per charge with its part of the split, the ``split``, the
  ``explain`` sentences and, once settled, the ``invoice``.
- ``Encounter/[id]/$pay`` (POST: ``idempotencyKey``): the one settlement of the visit; the
  answer names the Invoice, Claim, ClaimResponse and PaymentReconciliation, with the split
  and the cash taken.
- ``Encounter/[id]/$close-on-credit`` (POST): close the visit unpaid (信用就医), to be paid
  by the ``due`` day.
- ``Invoice/[id]/$refund`` (POST: ``idempotencyKey``, ``reason``, ``chargeItem`` references
  refunded in full and ``item`` parts ``chargeItem`` + ``quantity`` for part of one; none:
  the whole invoice): the replacement invoice, the cash given back and the split of what
  remains.
- ``$billing-kpis`` (system level, GET or POST): the KPIs of :mod:`countyhealth.billing.kpis`
  as a summary MeasureReport.

The idempotency key of ``$pay`` and ``$refund`` is the ``idempotencyKey`` parameter: the same
key with the same request answers the recorded payment or refund (``replayed`` true) and moves
no money; the same key with another request is refused with CH-9407. An HTTP
``Idempotency-Key`` header is not read (operations see their parameters, not the request's
headers). Money is a FHIR Money in CNY whose value is the exact decimal of the amount
(https://hl7.org/fhir/R4/datatypes.html#Money); the parts of a ``split`` are named after the
settlement fields (``total``, ``fullSelfPay``, ``overLimitSelfPay``, ``preSelfPay``,
``inScope``, ``deductible``, ``fund``, ``catastrophic``, ``assistance``, ``commercial``,
``account``, ``cash``; the national 医保 field of each is in
:data:`countyhealth.billing.settlements.FIELDS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..billing import (
    Bill,
    BillLine,
    Payment,
    PaymentProvider,
    Refund,
    add_charge,
    bill,
    close_on_credit,
    pay,
    payment_provider,
    refund,
)
from ..billing.kpis import MAX_DAYS, MEASURE, billing_kpis, check_period, to_measure_report
from ..billing.records import ITEM_CLASS, PRICE_ITEM, coding, money, number, reference_of
from ..billing.settlements import LINE_FIELDS, SPLIT
from ..billing.visits import encounter_id_of, load_visit, read_encounter
from ..errors import OperationOutcomeError, error, not_found
from ..scheduling.calendar import local_now
from ..store import Repository
from ._kpi_params import KpiParams, kpi_definition, parse_kpi_params
from ._scheduling_params import definition, one
from .registry import Operation, OperationContext, OperationResult, register

_CODE = "CH-9401"


# ---------------------------------------------------------------------- parameters


def _visit(ctx: OperationContext, code: str) -> str:
    if ctx.id is None:
        raise error("CH-2014", f"${code} is invoked on one visit: Encounter/[id]/${code}")
    return ctx.id


def _number(value: Any, name: str) -> object:
    """A decimal parameter as the services take it: a JSON number with a fraction becomes the
    shortest text of its value (exact for the quantities the services accept: at most three
    decimals and four digits), a Quantity its value; anything else goes to the service, which
    refuses it with its reason (a charge quantity: CH-9401)."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        raise error(_CODE, f"parameter {name!r} must be a number", name)
    return value


def _single(values: Mapping[str, list[Any]], name: str) -> Any:
    found = values.get(name) or []
    if len(found) > 1:
        raise error(_CODE, f"parameter {name!r} is given more than once", name)
    if not found or found[0] is None or found[0] == "":
        raise error(_CODE, f"parameter {name!r} is required", name)
    return found[0]


def _organization(values: Mapping[str, list[Any]]) -> str | None:
    performer = one(values, "performer", False, _CODE)
    if performer is None:
        return None
    kind, _, rid = performer.rpartition("/")
    if kind and kind.split("/")[-1] != "Organization":
        raise error(
            _CODE, f"performer must be an Organization, not {performer[:80]!r}", "performer"
        )
    return f"Organization/{rid}"


@dataclass(frozen=True, slots=True)
class ChargeParams:
    code: str
    quantity: object
    performer: str | None


def _parse_charge(values: Mapping[str, list[Any]]) -> ChargeParams:
    code = _single(values, "code")
    if isinstance(code, dict):  # a Coding of the price catalogue
        code = code.get("code") if code.get("system") in (None, PRICE_ITEM) else None
    if not isinstance(code, str):
        raise error(_CODE, "code is a price-catalogue item code", "code")
    return ChargeParams(
        code, _number(_single(values, "quantity"), "quantity"), _organization(values)
    )


@dataclass(frozen=True, slots=True)
class KeyParams:
    key: str


def _parse_key(values: Mapping[str, list[Any]]) -> KeyParams:
    return KeyParams(str(one(values, "idempotencyKey", True, _CODE)))


@dataclass(frozen=True, slots=True)
class RefundParams:
    key: str
    reason: str
    items: dict[str, object] | None  # ChargeItem/id → quantity (None: all that remains)


def _parse_refund(values: Mapping[str, list[Any]]) -> RefundParams:
    key = str(one(values, "idempotencyKey", True, _CODE))
    reason = one(values, "reason", True, _CODE) or ""
    asked: list[tuple[str, object]] = [
        (_charge_item(v), None) for v in values.get("chargeItem") or []
    ]
    for parts in values.get("item") or []:
        if not isinstance(parts, list):
            raise error(_CODE, "item has the parts chargeItem and quantity", "item")
        named: dict[str, list[Any]] = {}
        for p in parts:
            if isinstance(p, dict) and isinstance(p.get("name"), str):
                value = next((v for k, v in p.items() if k.startswith("value")), None)
                named.setdefault(p["name"], []).append(value)
        asked.append(
            (
                _charge_item(_single(named, "chargeItem")),
                _number(_single(named, "quantity"), "item"),
            )
        )
    items: dict[str, object] = {}
    for reference, quantity in asked:
        if reference in items:
            raise error(_CODE, f"{reference} is named twice", "chargeItem")
        items[reference] = quantity
    return RefundParams(key, reason, items or None)


def _charge_item(value: Any) -> str:
    text = value.get("reference") if isinstance(value, dict) else value
    if not isinstance(text, str) or not text.strip():
        raise error(_CODE, "chargeItem is a Reference to a ChargeItem", "chargeItem")
    kind, _, rid = text.strip().rpartition("/")
    if (kind and kind.split("/")[-1] != "ChargeItem") or not rid:
        raise error(_CODE, f"{text[:80]!r} is not a ChargeItem", "chargeItem")
    return f"ChargeItem/{rid}"


# ---------------------------------------------------------------------- answers


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


def _ref(name: str, reference: str, display: str | None = None) -> dict[str, Any]:
    value = {"reference": reference} | ({"display": display} if display else {})
    return {"name": name, "valueReference": value}


def _money(name: str, amount: Decimal) -> dict[str, Any]:
    return {"name": name, "valueMoney": money(amount)}


def _split(
    name: str, amounts: Mapping[str, Decimal], fields: Iterable[str] = SPLIT
) -> dict[str, Any]:
    return {"name": name, "part": [_money(_camel(f), amounts[f]) for f in fields]}


def _parameters(params: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": params}


def _line(line: BillLine) -> dict[str, Any]:
    parts = [
        _ref("chargeItem", line.charge, line.name),
        {"name": "code", "valueCoding": coding(PRICE_ITEM, line.code, line.name)},
        {"name": "name", "valueString": line.name},
        {"name": "class", "valueCoding": coding(ITEM_CLASS, line.item_class)},
        {"name": "quantity", "valueDecimal": number(line.quantity)},
        _money("unitPrice", line.unit_price),
        _money("amount", line.amounts["amount"]),
        _ref("organization", line.organization, line.organization_name),
        {"name": "status", "valueCode": line.status},
    ]
    if line.refunded:
        parts.append({"name": "refunded", "valueDecimal": number(line.refunded)})
    parts.append(_split("split", line.amounts, LINE_FIELDS[1:]))
    return {"name": "line", "part": parts}


def bill_parameters(b: Bill) -> dict[str, Any]:
    """The FHIR form of a bill (see the module docstring)."""
    params: list[dict[str, Any]] = [
        _ref("encounter", f"Encounter/{b.encounter}"),
        _ref("patient", f"Patient/{b.patient}"),
        _ref("institution", b.institution),
        {"name": "setting", "valueCode": b.setting},
        {"name": "state", "valueCode": b.state},
        {"name": "preview", "valueBoolean": b.preview},
    ]
    if b.facility_level:
        params.append({"name": "facilityLevel", "valueCode": b.facility_level})
    params += [_line(line) for line in b.lines]
    params.append(_split("split", b.amounts))
    params.append(_money("toPay", b.to_pay))
    params += [{"name": "explain", "valueString": text} for text in b.explain]
    if b.invoice:
        params.append(_ref("invoice", f"Invoice/{b.invoice}"))
    if b.settlement:
        params.append(_ref("claimResponse", f"ClaimResponse/{b.settlement}"))
    if b.credit_due is not None:
        params.append({"name": "due", "valueDate": b.credit_due.isoformat()})
        params.append({"name": "overdue", "valueBoolean": b.overdue})
    return _parameters(params)


def _shares(name: str, shares: Iterable[tuple[str, Decimal]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "part": [_ref("organization", org), _money("amount", amount)]}
        for org, amount in shares
    ]


def payment_parameters(p: Payment) -> dict[str, Any]:
    """The FHIR form of a payment."""
    params = [
        _ref("encounter", f"Encounter/{p.encounter}"),
        _ref("invoice", f"Invoice/{p.invoice}", p.invoice_number),
        _ref("claim", f"Claim/{p.claim}"),
        _ref("claimResponse", f"ClaimResponse/{p.claim_response}"),
        _ref("paymentReconciliation", f"PaymentReconciliation/{p.reconciliation}"),
        {"name": "idempotencyKey", "valueString": p.key},
        _split("split", p.amounts),
        _money("cash", p.cash),
        *_shares("institution", p.institutions),
        {"name": "provider", "valueCode": p.provider},
        {"name": "paid", "valueDateTime": p.paid_at},
        {"name": "replayed", "valueBoolean": p.replayed},
    ]
    if p.transaction:
        params.append({"name": "transaction", "valueString": p.transaction})
    params += [{"name": "explain", "valueString": text} for text in p.explain]
    return _parameters(params)


def refund_parameters(r: Refund) -> dict[str, Any]:
    """The FHIR form of a refund."""
    params = [
        _ref("paymentReconciliation", f"PaymentReconciliation/{r.reconciliation}"),
        {"name": "idempotencyKey", "valueString": r.key},
        _ref("invoice", f"Invoice/{r.invoice}"),
        _ref("reversed", f"ClaimResponse/{r.reversed}"),
    ]
    if r.replacement:
        params.append(_ref("replacement", f"Invoice/{r.replacement}"))
    if r.settlement:
        params.append(_ref("claimResponse", f"ClaimResponse/{r.settlement}"))
    params += [
        {
            "name": "item",
            "part": [_ref("chargeItem", item), {"name": "quantity", "valueDecimal": number(q)}],
        }
        for item, q in r.items
    ]
    params += [
        _money("cash", r.cash),
        _split("split", r.amounts),
        _split("returned", r.returned),
        *_shares("institution", r.institutions),
        {"name": "reason", "valueString": r.reason},
        {"name": "refunded", "valueDateTime": r.refunded_at},
        {"name": "replayed", "valueBoolean": r.replayed},
    ]
    if r.transaction:
        params.append({"name": "transaction", "valueString": r.transaction})
    return _parameters(params)


# ---------------------------------------------------------------------- handlers


def _charge(params: ChargeParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    stored = add_charge(repo, _visit(ctx, "charge"), params.code, params.quantity, params.performer)
    return OperationResult(
        stored.resource,
        status=201,
        headers={
            "ETag": stored.etag,
            "Location": f"{ctx.base_url}/ChargeItem/{stored.id}/_history/{stored.version}",
        },
    )


def _bill(params: object, repo: Repository, ctx: OperationContext) -> OperationResult:
    return OperationResult(bill_parameters(bill(repo, _visit(ctx, "bill"))))


def _provider(repo: Repository, merchant: str) -> PaymentProvider:
    """The provider through which ``merchant`` (the institution holding the visit) takes the
    cash: each institution has its own merchant account."""
    return payment_provider(repo.store.settings, repo.store.clock.now_us, merchant)


def _pay(params: KeyParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    eid = encounter_id_of(_visit(ctx, "pay"))
    merchant = load_visit(repo.elevated(), read_encounter(repo, eid)).institution
    paid = pay(repo, eid, params.key, _provider(repo, merchant))
    return OperationResult(payment_parameters(paid))


def _close_on_credit(params: object, repo: Repository, ctx: OperationContext) -> OperationResult:
    closed = close_on_credit(repo, _visit(ctx, "close-on-credit"))
    answer: list[dict[str, Any]] = [
        _ref("encounter", f"Encounter/{closed.encounter}"),
        {"name": "state", "valueCode": closed.state},
        _money("owed", closed.amounts["cash"]),
    ]
    if closed.credit_due is not None:
        answer.append({"name": "due", "valueDate": closed.credit_due.isoformat()})
    return OperationResult(_parameters(answer))


def _refund(params: RefundParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    if ctx.id is None:
        raise error("CH-2014", "$refund is invoked on one invoice: Invoice/[id]/$refund")
    try:
        invoice = repo.read("Invoice", ctx.id)  # the caller must see the invoice
    except OperationOutcomeError as exc:
        if exc.code == "CH-2002":
            raise not_found("Invoice", ctx.id) from exc
        raise
    done = refund(
        repo,
        ctx.id,
        params.items,
        idempotency_key=params.key,
        reason=params.reason,
        provider=_provider(repo, reference_of(invoice.resource.get("issuer"))),
    )
    return OperationResult(refund_parameters(done))


def _kpis(params: KpiParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    kpis = billing_kpis(repo, params.first, params.last, params.organization)
    return OperationResult(to_measure_report(kpis, local_now(repo.store.clock.now_us())))


# ---------------------------------------------------------------------- definitions


def _in(name: str, kind: str, min_: int = 0, max_: str = "1") -> dict[str, Any]:
    return {"name": name, "use": "in", "min": min_, "max": max_, "type": kind}


def _encounter(
    code: str,
    description: str,
    parameters: list[dict[str, Any]],
    parse: Any,
    handler: Any,
    returns: str = "Parameters",
    affects_state: bool = True,
) -> Operation:
    body = definition("Encounter", code, description, parameters, instance=True, returns=returns)
    body["affectsState"] = affects_state
    return register(Operation(body, parse, handler))


CHARGE = _encounter(
    "charge",
    "Charge quantity × a price-catalogue item to the visit (a ChargeItem at the catalogue "
    "price of the day, performed by the caller's institution or the named performer); "
    "charges accumulate across departments and member institutions until the visit is paid.",
    [_in("code", "code", 1), _in("quantity", "decimal", 1), _in("performer", "Reference")],
    _parse_charge,
    _charge,
    returns="ChargeItem",
)
BILL = _encounter(
    "bill",
    "The bill of the visit: its charges with the 医保 split line by line (a preview while "
    "unpaid, the standing settlement once paid), the split, the explanation and the invoice.",
    [],
    lambda values: None,
    _bill,
    affects_state=False,
)
PAY = _encounter(
    "pay",
    "Settle the visit once (最多付一次): the split by the 医保 policy of the day, the cash part "
    "through the payment provider, the e-invoice. The idempotency key makes a retry answer the "
    "same payment; reused for another request it is refused.",
    [_in("idempotencyKey", "string", 1)],
    _parse_key,
    _pay,
)
CLOSE_ON_CREDIT = _encounter(
    "close-on-credit",
    "Close the visit unpaid under credit-based care (信用就医), to be paid by the due day.",
    [],
    lambda values: None,
    _close_on_credit,
)
REFUND = register(
    Operation(
        definition(
            "Invoice",
            "refund",
            "Refund ChargeItems of a paid invoice (in full, or part of their quantity) or the "
            "whole invoice: the settlement is reversed, what remains settled again and "
            "invoiced, and the cash difference given back; idempotent by key.",
            [
                _in("idempotencyKey", "string", 1),
                _in("reason", "string", 1),
                _in("chargeItem", "Reference", 0, "*"),
                {
                    "name": "item",
                    "use": "in",
                    "min": 0,
                    "max": "*",
                    "part": [_in("chargeItem", "Reference", 1), _in("quantity", "decimal", 1)],
                },
            ],
            instance=True,
            returns="Parameters",
        ),
        _parse_refund,
        _refund,
    )
)
KPIS = register(
    Operation(
        kpi_definition(
            "billing-kpis",
            "BillingKpis",
            "Visits with charges and settled, smart-settlement rate (outpatient and wards), "
            "payments per visit (target 1.0), minutes from last charge to payment (median and "
            "90th percentile), refunds and visits on credit, over whole county days (at most "
            f"{MAX_DAYS}), for the county or the visits one institution holds, as a summary "
            f"MeasureReport of {MEASURE}.",
        ),
        lambda values: parse_kpi_params(values, _CODE, check_period),
        _kpis,
    )
)
