"""A settlement as FHIR R4 resources: the Claim the visit's institution submits and the
ClaimResponse that carries the national split (https://hl7.org/fhir/R4/claim.html,
https://hl7.org/fhir/R4/claimresponse.html).

The mapping of the split of the national 医保 interface (DOMAIN.md §1.3, ``setlinfo`` of 2207
门诊结算 / 2304 住院结算):

- ``ClaimResponse.total``: one entry per field, ``category`` coded in the project system
  ``settlement-field`` with the national field name (``medfee_sumamt`` 医疗费总额,
  ``fulamt_ownpay_amt`` 全自费, ``overlmt_selfpay`` 超限价自费, ``preselfpay_amt`` 先行自付,
  ``inscp_scp_amt`` 符合政策范围, ``act_pay_dedc`` 起付线, ``hifp_pay`` 统筹基金,
  ``hifmi_pay`` 居民大病保险 / ``hifob_pay`` 职工大额, ``maf_pay`` 医疗救助, ``acct_pay``
  个人账户, ``psn_cash_pay`` 个人现金, and the sums ``fund_pay_sumamt`` 基金支付总额 and
  ``psn_part_amt`` 个人负担总金额) and, where R4 has one, the HL7 adjudication code beside it
  (``submitted`` = total, ``eligible`` = in scope, ``deductible``, ``benefit`` = fund). A
  commercial insurer's direct payment (商保直付) has no national field: ``commercial_pay``.
- ``ClaimResponse.item[n].adjudication``: the same categories for the n-th Claim item (one per
  ChargeItem, linked by the ``claim-item-charge`` extension on ``Claim.item``).
- ``ClaimResponse.payment``: what the basic-insurance funds pay the institution
  (基金支付总额: 统筹基金 + 大病保险 + 医疗救助).
- ``ClaimResponse.processNote``: the explanation, one sentence per step, in Chinese.
- the ``settlement-totals`` extension keeps what running totals need: the year, the day, the
  visit, the facility level, the policy version, the person's totals before this settlement and the increments it
  adds (:class:`~.engine_types.Totals` fields, valueDecimal).

A settlement stands while its ClaimResponse (and Claim) are ``active``; a refund reverses it
(status ``cancelled`` and the ``settlement-reversed`` extension) and files the settlement of
what remains as a new Claim related to the first (``related.relationship`` = ``prior``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..fhir.consent_grants import with_custodian
from ..scheduling.calendar import fhir_datetime
from .charges import Charge, instant
from .engine import Settlement
from .engine_types import AMOUNTS, LineSplit, Totals
from .records import (
    ADJUDICATION,
    CLAIM_TYPE,
    EX_PAYMENT_TYPE,
    EXT_CHARGE_ITEM,
    EXT_REVERSED,
    EXT_SETTLEMENT_TOTALS,
    PRICE_ITEM,
    PROCESS_PRIORITY,
    RELATED_CLAIM,
    SETTLEMENT_FIELD,
    SETTLEMENT_NUMBER,
    bare,
    coding,
    decimal_of,
    extension,
    identifier_value,
    money,
    money_of,
    number,
    ref,
    reference_of,
)
from .visits import Visit

#: split field → (national field, 中文, HL7 adjudication code or None)
FIELDS: dict[str, tuple[str, str, str | None]] = {
    "total": ("medfee_sumamt", "医疗费总额", "submitted"),
    "full_self_pay": ("fulamt_ownpay_amt", "全自费金额", None),
    "over_limit_self_pay": ("overlmt_selfpay", "超限价自费", None),
    "pre_self_pay": ("preselfpay_amt", "先行自付金额", None),
    "in_scope": ("inscp_scp_amt", "符合政策范围金额", "eligible"),
    "deductible": ("act_pay_dedc", "实际支付起付线", "deductible"),
    "fund": ("hifp_pay", "统筹基金支出", "benefit"),
    "catastrophic": ("hifmi_pay", "居民大病保险资金支出", None),
    "assistance": ("maf_pay", "医疗救助基金支出", None),
    "commercial": ("commercial_pay", "商业保险直付", None),
    "account": ("acct_pay", "个人账户支出", None),
    "cash": ("psn_cash_pay", "个人现金支出", None),
}
#: 职工医保's 大病 layer is 职工大额医疗费用补助 in the national interface
EMPLOYEE_CATASTROPHIC = ("hifob_pay", "职工大额医疗费用补助基金支出")
SUMS = {
    "fund_total": ("fund_pay_sumamt", "基金支付总额"),
    "personal_burden": ("psn_part_amt", "个人负担总金额"),
}
SPLIT = tuple(FIELDS)
LINE_FIELDS = ("amount", *SPLIT[1:])
_FIELD_OF_CODE = {code: name for name, (code, _, _) in FIELDS.items()} | {
    EMPLOYEE_CATASTROPHIC[0]: "catastrophic",
    "medfee_sumamt": "total",
}


def _category(name: str, scheme: str | None) -> dict[str, Any]:
    code, zh, hl7 = FIELDS[name]
    if name == "catastrophic" and scheme == "employee":
        code, zh = EMPLOYEE_CATASTROPHIC
    codings = [coding(SETTLEMENT_FIELD, code, zh)]
    if hl7:
        codings.append(coding(ADJUDICATION, hl7))
    return {"coding": codings, "text": zh}


def _totals_ext(name: str, totals: Totals) -> dict[str, Any]:
    return {
        "url": name,
        "extension": [{"url": f, "valueDecimal": number(getattr(totals, f))} for f in AMOUNTS],
    }


def _totals_of(ext: dict[str, Any] | None, year: int) -> Totals:
    values = {e["url"]: decimal_of(e["valueDecimal"]) for e in (ext or {}).get("extension") or []}
    return Totals(year, **{f: values.get(f, Decimal("0")) for f in AMOUNTS})


def settlement_number(now: datetime) -> str:
    """A settlement number (结算流水号): the day and a random part."""
    return f"JS{now:%Y%m%d}{uuid.uuid4().hex[:12].upper()}"


def claim_body(
    visit: Visit,
    charges: Sequence[Charge],
    quantities: Mapping[str, Decimal],
    coverages: Sequence[str],
    settlement: Settlement,
    number_: str,
    now: datetime,
    prior: str | None = None,
) -> dict[str, Any]:
    """The Claim of a settlement: one item per ChargeItem (``quantities`` settled)."""
    items = []
    for n, charge in enumerate(charges, start=1):
        quantity = quantities[charge.reference]
        items.append(
            {
                "extension": [{"url": EXT_CHARGE_ITEM, "valueReference": ref(charge.reference)}],
                "sequence": n,
                "productOrService": {
                    "coding": [coding(PRICE_ITEM, charge.code, charge.name)],
                    "text": charge.name,
                },
                "quantity": {"value": number(quantity)},
                "unitPrice": money(charge.unit_price),
                "net": money(settlement.lines[n - 1].amount),
                "encounter": [ref(visit.reference)],
            }
        )
    body: dict[str, Any] = {
        "resourceType": "Claim",
        "identifier": [{"system": SETTLEMENT_NUMBER, "value": number_}],
        "status": "active",
        "type": {"coding": [coding(CLAIM_TYPE, _claim_type(visit))]},
        "use": "claim",
        "patient": ref(f"Patient/{visit.patient}"),
        "created": instant(now),
        "provider": ref(visit.institution),
        "priority": {"coding": [coding(PROCESS_PRIORITY, "normal")]},
        "insurance": [
            {"sequence": i, "focal": i == 1, "coverage": ref(c)}
            for i, c in enumerate(coverages, start=1)
        ],
        "item": items,
        "total": money(settlement.total),
    }
    if prior:
        body["related"] = [
            {"claim": ref(prior), "relationship": {"coding": [coding(RELATED_CLAIM, "prior")]}}
        ]
    with_custodian(body, visit.institution)
    return body


def _claim_type(visit: Visit) -> str:
    return "institutional" if visit.setting == "inpatient" else "professional"


def _line_adjudication(line: LineSplit, scheme: str | None) -> list[dict[str, Any]]:
    out = [{"category": _category("total", scheme), "amount": money(line.amount)}]
    for name in SPLIT[1:]:
        value: Decimal = getattr(line, name)
        if value or name == "cash":
            out.append({"category": _category(name, scheme), "amount": money(value)})
    return out


def response_body(
    visit: Visit,
    claim: str,
    number_: str,
    settlement: Settlement,
    scheme: str | None,
    insurer: str,
    day: date,
    level: str,
    now: datetime,
) -> dict[str, Any]:
    """The ClaimResponse carrying ``settlement`` (see the module docstring)."""
    totals: list[dict[str, Any]] = [
        {"category": _category(name, scheme), "amount": money(getattr(settlement, name))}
        for name in SPLIT
    ]
    for name, (code, zh) in SUMS.items():
        totals.append(
            {
                "category": {"coding": [coding(SETTLEMENT_FIELD, code, zh)], "text": zh},
                "amount": money(getattr(settlement, name)),
            }
        )
    facts: list[dict[str, Any]] = [
        {"url": "year", "valueInteger": settlement.totals_before.year},
        {"url": "day", "valueDate": day.isoformat()},
        {"url": "visit", "valueReference": ref(visit.reference)},
        {"url": "facilityLevel", "valueCode": level},
    ]
    if settlement.policy_version:
        facts.append({"url": "policy", "valueString": settlement.policy_version})
    if settlement.fund_ratio is not None:
        facts.append({"url": "fundRatio", "valueDecimal": number(settlement.fund_ratio)})
    if settlement.commercial_plan:
        facts.append({"url": "commercialPlan", "valueString": settlement.commercial_plan})
    facts.append(_totals_ext("before", settlement.totals_before))
    facts.append(_totals_ext("increments", settlement.increments()))
    body: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "extension": [{"url": EXT_SETTLEMENT_TOTALS, "extension": facts}],
        "identifier": [{"system": SETTLEMENT_NUMBER, "value": number_}],
        "status": "active",
        "type": {"coding": [coding(CLAIM_TYPE, _claim_type(visit))]},
        "use": "claim",
        "patient": ref(f"Patient/{visit.patient}"),
        "created": instant(now),
        "insurer": ref(insurer),
        "requestor": ref(visit.institution),
        "request": ref(claim),
        "outcome": "complete",
        "disposition": "结算完成 (settled)",
        "item": [
            {"itemSequence": n, "adjudication": _line_adjudication(line, scheme)}
            for n, line in enumerate(settlement.lines, start=1)
        ],
        "total": totals,
        "payment": {
            "type": {"coding": [coding(EX_PAYMENT_TYPE, "complete")]},
            "date": day.isoformat(),
            "amount": money(settlement.fund_total),
        },
        "processNote": [
            {"number": n, "type": "display", "text": text}
            for n, text in enumerate(settlement.explain, start=1)
        ],
    }
    with_custodian(body, visit.institution)
    return body


@dataclass(frozen=True, slots=True)
class StoredSettlement:
    """A settlement read back from its ClaimResponse."""

    id: str  # ClaimResponse id
    version: int
    claim: str  # Claim/id
    number: str
    visit: str  # Encounter/id
    patient: str
    created: str
    day: date
    level: str  # facility level the visit was settled at
    standing: bool
    amounts: dict[str, Decimal]
    lines: tuple[dict[str, Decimal], ...]
    charge_items: tuple[str, ...]  # the ChargeItem of each line (from the Claim)
    quantities: tuple[Decimal, ...]
    before: Totals
    increments: Totals
    explain: tuple[str, ...]
    resource: dict[str, Any]

    @property
    def reference(self) -> str:
        return f"ClaimResponse/{self.id}"

    @property
    def year(self) -> int:
        return self.before.year


def is_settlement(response: dict[str, Any]) -> bool:
    return extension(response, EXT_SETTLEMENT_TOTALS) is not None


def _field(category: dict[str, Any]) -> str | None:
    for c in category.get("coding") or []:
        if c.get("system") == SETTLEMENT_FIELD:
            return _FIELD_OF_CODE.get(str(c.get("code")))
    return None


def _amounts(entries: list[dict[str, Any]], names: Sequence[str]) -> dict[str, Decimal]:
    out = {name: Decimal("0.00") for name in names}
    for entry in entries:
        name = _field(entry.get("category") or {})
        if name == "total" and "amount" in out:
            name = "amount"
        if name in out:
            out[name] = money_of(entry.get("amount"))
    return out


def read_settlement(response: dict[str, Any], claim: dict[str, Any]) -> StoredSettlement:
    """The settlement of a ClaimResponse and its Claim."""
    facts = {
        e.get("url"): e
        for e in (extension(response, EXT_SETTLEMENT_TOTALS) or {}).get("extension") or []
    }
    year = int(facts["year"]["valueInteger"])
    items = claim.get("item") or []
    return StoredSettlement(
        id=str(response["id"]),
        version=int((response.get("meta") or {}).get("versionId") or 0),
        claim=reference_of(response.get("request")),
        number=identifier_value(response, SETTLEMENT_NUMBER) or "",
        visit=reference_of(facts["visit"]["valueReference"]),
        patient=reference_of(response.get("patient")).removeprefix("Patient/"),
        created=str(response.get("created")),
        day=date.fromisoformat(facts["day"]["valueDate"]),
        level=str((facts.get("facilityLevel") or {}).get("valueCode") or ""),
        standing=response.get("status") == "active",
        amounts=_amounts(response.get("total") or [], SPLIT),
        lines=tuple(
            _amounts(item.get("adjudication") or [], LINE_FIELDS)
            for item in response.get("item") or []
        ),
        charge_items=tuple(
            reference_of((extension(item, EXT_CHARGE_ITEM) or {}).get("valueReference"))
            for item in items
        ),
        quantities=tuple(
            decimal_of((item.get("quantity") or {}).get("value", 0)) for item in items
        ),
        before=_totals_of(facts.get("before"), year),
        increments=_totals_of(facts.get("increments"), year),
        explain=tuple(str(n.get("text") or "") for n in response.get("processNote") or []),
        resource=response,
    )


def reversed_body(resource: dict[str, Any], by: str, reason: str, now: datetime) -> dict[str, Any]:
    """``resource`` (Claim or ClaimResponse) cancelled by the refund ``by``."""
    body = bare(resource)
    body["status"] = "cancelled"
    body["extension"] = [
        *(e for e in body.get("extension") or [] if e.get("url") != EXT_REVERSED),
        {
            "url": EXT_REVERSED,
            "extension": [
                {"url": "at", "valueDateTime": fhir_datetime(now)},
                {"url": "by", "valueReference": ref(by)},
                {"url": "reason", "valueString": reason},
            ],
        },
    ]
    return body
