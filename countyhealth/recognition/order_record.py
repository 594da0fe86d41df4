"""What the recognition check found for an order and what the clinician decided, kept on the
ServiceRequest as the complex extension :data:`systems.EXT_RECOGNITION`.

``outcome`` is ``none`` (nothing qualified), ``recognisable`` (results qualified, no decision
yet), ``recognised`` (an existing result was accepted: the order is completed by reference to
it) or ``retest`` (tested again for one of the national reasons). The extension form is
described in docs/recognition.md; https://hl7.org/fhir/R4/extensibility.html#complex.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..fhir import systems
from ..scheduling.calendar import fhir_datetime, parse_datetime

OUTCOMES = ("none", "recognisable", "recognised", "retest")
DECIDED = frozenset({"recognised", "retest"})
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class OrderRecognition:
    item: str
    checked: datetime
    outcome: str
    candidates: tuple[str, ...] = ()
    result: str | None = None
    reason: str | None = None
    note: str | None = None
    avoided: Decimal | None = None

    @property
    def decided(self) -> bool:
        return self.outcome in DECIDED

    def deciding(self, outcome: str, **changes: Any) -> OrderRecognition:
        return replace(self, outcome=outcome, **changes)

    @classmethod
    def of(cls, order: dict[str, Any]) -> OrderRecognition | None:
        """The record on ``order``, or None when it was never checked."""
        ext = next(
            (e for e in order.get("extension") or [] if e.get("url") == systems.EXT_RECOGNITION),
            None,
        )
        if ext is None:
            return None
        parts: dict[str, list[dict[str, Any]]] = {}
        for part in ext.get("extension") or []:
            parts.setdefault(str(part.get("url")), []).append(part)

        def first(name: str, key: str) -> Any:
            found = parts.get(name) or [{}]
            return found[0].get(key)

        avoided = first("avoided", "valueMoney")
        return cls(
            item=str((first("item", "valueCoding") or {}).get("code") or ""),
            checked=parse_datetime(str(first("checked", "valueDateTime"))),
            outcome=str(first("outcome", "valueCode")),
            candidates=tuple(
                str(p["valueReference"]["reference"]) for p in parts.get("candidate") or []
            ),
            result=(first("result", "valueReference") or {}).get("reference"),
            reason=(first("reason", "valueCoding") or {}).get("code"),
            note=first("note", "valueString"),
            avoided=Decimal(str(avoided["value"])).quantize(CENT) if avoided else None,
        )

    def extension(self) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [
            {
                "url": "item",
                "valueCoding": {"system": systems.RECOGNITION_ITEM, "code": self.item},
            },
            {"url": "checked", "valueDateTime": fhir_datetime(self.checked)},
            {"url": "outcome", "valueCode": self.outcome},
        ]
        parts += [{"url": "candidate", "valueReference": {"reference": c}} for c in self.candidates]
        if self.result:
            parts.append({"url": "result", "valueReference": {"reference": self.result}})
        if self.reason:
            parts.append(
                {
                    "url": "reason",
                    "valueCoding": {"system": systems.RETEST_REASON, "code": self.reason},
                }
            )
        if self.note:
            parts.append({"url": "note", "valueString": self.note})
        if self.avoided is not None:
            parts.append(
                # JSON numbers: the price has two decimals, read back as Decimal (:meth:`of`)
                {"url": "avoided", "valueMoney": {"value": float(self.avoided), "currency": "CNY"}}
            )
        return {"url": systems.EXT_RECOGNITION, "extension": parts}


def with_record(order: dict[str, Any], record: OrderRecognition) -> dict[str, Any]:
    """``order`` (without ``meta`` other than its tags) carrying ``record``."""
    body = {k: v for k, v in order.items() if k != "meta"}
    tags = (order.get("meta") or {}).get("tag")
    if tags:
        body["meta"] = {"tag": tags}
    others = [e for e in order.get("extension") or [] if e.get("url") != systems.EXT_RECOGNITION]
    body["extension"] = [*others, record.extension()]
    return body
