"""Short human texts for FHIR datatypes (CodeableConcept, Quantity, references, periods)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def concept(value: dict[str, Any] | None) -> str:
    """CodeableConcept.text, else the first coding's display, else its code."""
    if not value:
        return ""
    if value.get("text"):
        return str(value["text"])
    for coding in value.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"])
    for coding in value.get("coding") or []:
        if coding.get("code"):
            return str(coding["code"])
    return ""


def first_code(value: dict[str, Any] | None, system: str | None = None) -> str | None:
    for coding in (value or {}).get("coding") or []:
        if system is None or coding.get("system") == system:
            code = coding.get("code")
            if code:
                return str(code)
    return None


def concepts(values: list[dict[str, Any]] | None) -> str:
    return "、".join(t for t in (concept(v) for v in values or []) if t)


def quantity(value: dict[str, Any] | None) -> str:
    if not value or value.get("value") is None:
        return ""
    number = Decimal(str(value["value"]))
    unit = value.get("unit") or value.get("code") or ""
    return f"{number.normalize():f} {unit}".strip()


def reference_id(value: dict[str, Any] | None, rtype: str | None = None) -> str | None:
    """The id of a relative reference ``Type/id`` (of ``rtype`` when given)."""
    ref = (value or {}).get("reference") or ""
    kind, _, rid = ref.partition("/")
    if not rid or "/" in rid or (rtype is not None and kind != rtype):
        return None
    return rid


def when(resource: dict[str, Any], *fields: str) -> str | None:
    """The first of ``fields`` present: a dateTime, or a Period's start."""
    for name in fields:
        value = resource.get(name)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and value.get("start"):
            return str(value["start"])
    return None
