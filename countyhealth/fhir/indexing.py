"""Index rows of a resource: the values of its search parameters, by parameter type.

For each supported parameter of the resource's type, the FHIRPath expression gives the nodes,
and the rules of https://hl7.org/fhir/R4/search.html turn each node into comparable values:
strings are normalised (see :mod:`.text`), tokens split into system/code (+ display text),
dates become the microsecond range their precision implies, quantities keep value, system, code
and a UCUM-canonical form, references become type/id/version or a URL. The store writes the
rows into one table per type in the same transaction as the resource.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from .consent_grants import GRANT_PARAM, consent_grants
from .fhirpath import Node, evaluate
from .instant import parse_period
from .pinyin import name_keys, text_keys
from .references import reference_target
from .search_params import SearchParam, applicable
from .text import normalize
from .ucum import canonical

Rows = dict[str, list[dict[str, Any]]]

#: Stand-in for an open end of a Range (portable where IEEE infinity is not).
_UNBOUNDED = 9.0e300
_MIN_US = -(2**62)
_MAX_US = 2**62
_KEY = 255
_URL = 2048
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
_QUANTITY_TYPES = frozenset(
    {"Quantity", "Age", "Count", "Distance", "Duration", "Money", "SimpleQuantity", "MoneyQuantity"}
)


def cut(value: str | None, size: int = _KEY) -> str | None:
    return value[:size] if isinstance(value, str) else None


def extract(resource: dict[str, Any], only: frozenset[str] | None = None) -> Rows:
    """All index rows of ``resource`` (without res_pk/res_type); ``only`` limits them to some
    parameter codes (a reindex of those parameters)."""
    rows: Rows = {}
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return rows
    for sp in applicable(rtype, resource):
        if only is not None and sp.code not in only:
            continue
        assert sp.evaluator is not None
        nodes = evaluate(sp.evaluator, resource)
        if not nodes:
            continue
        table = "string" if sp.phonetic else sp.type
        bucket = rows.setdefault(table, [])
        for value in _values(sp, nodes, rows):
            value["param"] = sp.code
            bucket.append(value)
    if rtype == "Consent" and (only is None or GRANT_PARAM in only):
        rows["grant"] = consent_grants(resource)
    return {k: v for k, v in rows.items() if v}


def _values(sp: SearchParam, nodes: list[Node], rows: Rows) -> Iterator[dict[str, Any]]:
    kind = sp.type
    if sp.phonetic:
        for node in nodes:
            if isinstance(node.value, dict):
                keys = name_keys(node.value)
            else:
                keys = text_keys(node.value) if isinstance(node.value, str) else []
            for key in keys:
                yield {"value_norm": key, "value_exact": key}
    elif kind == "string":
        for node in nodes:
            yield from _strings(node)
    elif kind == "token":
        for node in nodes:
            yield from token_values(node)
            if sp.code == "identifier" or _is_identifier(node):
                for extra in _of_type(node):
                    extra["param"] = f"{sp.code}:of-type"
                    rows.setdefault("token", []).append(extra)
    elif kind == "reference":
        for node in nodes:
            yield from _references(node)
            ident = node.value.get("identifier") if isinstance(node.value, dict) else None
            if isinstance(ident, dict):
                for row in token_values(Node(ident, "Identifier")):
                    row["param"] = f"{sp.code}:identifier"
                    rows.setdefault("token", []).append(row)
    elif kind == "date":
        for node in nodes:
            yield from _dates(node)
    elif kind == "number":
        for node in nodes:
            if isinstance(node.value, int | float) and not isinstance(node.value, bool):
                yield {"value_low": float(node.value), "value_high": float(node.value)}
    elif kind == "quantity":
        for node in nodes:
            yield from _quantities(node)
    elif kind == "uri":
        for node in nodes:
            if isinstance(node.value, str):
                yield {"value": node.value[:_URL]}
    elif kind == "composite":
        yield from _composites(sp, nodes)
    elif kind == "special":
        for node in nodes:
            pos = node.value
            if (
                isinstance(pos, dict)
                and _is_number(pos.get("latitude"))
                and _is_number(pos.get("longitude"))
            ):
                yield {"latitude": float(pos["latitude"]), "longitude": float(pos["longitude"])}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_identifier(node: Node) -> bool:
    return node.type == "Identifier"


# ---------------------------------------------------------------------- strings


def _strings(node: Node) -> Iterator[dict[str, Any]]:
    value = node.value
    if isinstance(value, str):
        yield _string_row(value)
        return
    if not isinstance(value, dict):
        return
    if any(k in value for k in ("family", "given")) or node.type == "HumanName":
        texts = _parts(value, _NAME_PARTS)
        family = value.get("family") if isinstance(value.get("family"), str) else ""
        given = [g for g in value.get("given") or [] if isinstance(g, str)]
        if family and given:
            # the whole name, in Chinese order (family first) and in Western order
            texts.append(family + "".join(given))
            texts.append(" ".join([*given, family]))
    elif any(k in value for k in _ADDRESS_PARTS):
        texts = _parts(value, _ADDRESS_PARTS)
    else:
        texts = [v for v in value.values() if isinstance(v, str)]
    seen: set[str] = set()
    for text in texts:
        row = _string_row(text)
        if row["value_norm"] and row["value_norm"] not in seen:
            seen.add(row["value_norm"])
            yield row


def _parts(value: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for name in names:
        part = value.get(name)
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, list):
            out.extend(p for p in part if isinstance(p, str))
    return out


def _string_row(text: str) -> dict[str, Any]:
    return {"value_norm": normalize(text), "value_exact": text}


# ---------------------------------------------------------------------- tokens


def token_values(node: Node) -> Iterator[dict[str, Any]]:
    """(system, code, text) rows of a token node (https://hl7.org/fhir/R4/search.html#token)."""
    value = node.value
    if isinstance(value, bool):
        yield {"system": None, "code": "true" if value else "false", "text_norm": None}
    elif isinstance(value, str | int):
        yield {"system": None, "code": cut(str(value)), "text_norm": None}
    elif isinstance(value, dict):
        if "coding" in value or ("text" in value and "system" not in value):
            # :text matches CodeableConcept.text and each Coding.display (search.html#modifiers)
            text = value.get("text")
            for coding in value.get("coding") or []:
                if isinstance(coding, dict):
                    yield _coding_row(coding)
            if isinstance(text, str):
                yield {"system": None, "code": None, "text_norm": cut(normalize(text))}
        elif "value" in value and (
            "system" in value
            or "use" in value
            or "type" in value
            or "assigner" in value
            or "period" in value
        ):
            # Identifier (system|value, type text) or ContactPoint (system|value)
            type_ = value.get("type")
            text = type_.get("text") if isinstance(type_, dict) else None
            yield {
                "system": cut(value.get("system"))
                if isinstance(value.get("system"), str)
                else None,
                "code": cut(str(value["value"])),
                "text_norm": cut(normalize(text)) if isinstance(text, str) else None,
            }
        elif "code" in value or "system" in value:
            yield _coding_row(value)
        elif "value" in value:
            yield {"system": None, "code": cut(str(value["value"])), "text_norm": None}


def _coding_row(coding: dict[str, Any]) -> dict[str, Any]:
    display = coding.get("display")
    label = display if isinstance(display, str) else None
    return {
        "system": cut(coding.get("system")) if isinstance(coding.get("system"), str) else None,
        "code": cut(str(coding["code"])) if "code" in coding else None,
        "text_norm": cut(normalize(label)) if label else None,
    }


def _of_type(node: Node) -> Iterator[dict[str, Any]]:
    value = node.value
    if not isinstance(value, dict) or "value" not in value:
        return
    type_ = value.get("type")
    for coding in type_.get("coding") or [] if isinstance(type_, dict) else []:
        if isinstance(coding, dict) and "code" in coding:
            yield {
                "system": cut(coding.get("system")),
                "code": cut(f"{coding['code']}|{value['value']}"),
                "text_norm": None,
            }


# ---------------------------------------------------------------------- references


def _references(node: Node) -> Iterator[dict[str, Any]]:
    value = node.value
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield reference_row(ref)
    elif isinstance(value, str):  # canonical or uri used as a reference
        url, _, version = value.partition("|")
        yield {
            "target_type": None,
            "target_id": None,
            "target_version": version or None,
            "target_url": url[:_URL],
        }


def reference_row(ref: str) -> dict[str, Any]:
    if ref.startswith("#"):
        return {
            "target_type": None,
            "target_id": None,
            "target_version": None,
            "target_url": ref[:_URL],
        }
    target = reference_target(ref)
    version = ref.rsplit("/_history/", 1)[1] if "/_history/" in ref else None
    if target is not None and "://" not in ref:
        return {
            "target_type": target[0],
            "target_id": target[1],
            "target_version": version,
            "target_url": None,
        }
    return {
        "target_type": target[0] if target else None,
        "target_id": target[1] if target else None,
        "target_version": version,
        "target_url": ref[:_URL],
    }


# ---------------------------------------------------------------------- dates


def _dates(node: Node) -> Iterator[dict[str, Any]]:
    value = node.value
    if isinstance(value, str):
        try:
            low, high = parse_period(value)
        except ValueError:
            return
        yield {"low_us": low, "high_us": high}
    elif isinstance(value, dict):
        if "start" in value or "end" in value:  # Period
            yield {
                "low_us": _bound(value.get("start"), 0, _MIN_US),
                "high_us": _bound(value.get("end"), 1, _MAX_US),
            }
        elif "event" in value or "repeat" in value:  # Timing
            for event in value.get("event") or []:
                yield from _dates(Node(event))
            repeat = value.get("repeat")
            if isinstance(repeat, dict) and isinstance(repeat.get("boundsPeriod"), dict):
                yield from _dates(Node(repeat["boundsPeriod"]))


def _bound(value: Any, index: int, default: int) -> int:
    if not isinstance(value, str):
        return default
    try:
        return parse_period(value)[index]
    except ValueError:
        return default


# ---------------------------------------------------------------------- quantities


def _quantities(node: Node) -> Iterator[dict[str, Any]]:
    value = node.value
    if not isinstance(value, dict):
        return
    if "low" in value or "high" in value:  # Range
        low, high = value.get("low") or {}, value.get("high") or {}
        lo = low.get("value") if isinstance(low, dict) else None
        hi = high.get("value") if isinstance(high, dict) else None
        unit_src = low if isinstance(low, dict) and low else high
        if isinstance(lo, int | float) or isinstance(hi, int | float):
            yield _quantity_row(
                float(lo) if isinstance(lo, int | float) else -_UNBOUNDED,
                float(hi) if isinstance(hi, int | float) else _UNBOUNDED,
                unit_src if isinstance(unit_src, dict) else {},
            )
        return
    number = value.get("value")
    if isinstance(number, int | float) and not isinstance(number, bool):
        yield _quantity_row(float(number), float(number), value)


def _quantity_row(low: float, high: float, q: dict[str, Any]) -> dict[str, Any]:
    system = q.get("system") if isinstance(q.get("system"), str) else None
    code = q.get("code") if isinstance(q.get("code"), str) else None
    if code is None and isinstance(q.get("currency"), str):
        system, code = "urn:iso:std:iso:4217", q["currency"]
    unit = q.get("unit") if isinstance(q.get("unit"), str) else None
    row: dict[str, Any] = {
        "value_low": low,
        "value_high": high,
        "system": cut(system),
        "code": cut(code),
        "unit": cut(unit),
        "canonical_low": None,
        "canonical_high": None,
        "canonical_code": None,
    }
    if system == "http://unitsofmeasure.org" and code:
        conv = canonical(code)
        if conv is not None:
            factor, base = conv
            row.update(
                canonical_low=low * factor, canonical_high=high * factor, canonical_code=base
            )
    return row


# ---------------------------------------------------------------------- composites


def _component_values(kind: str, nodes: list[Node]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for node in nodes:
        if kind == "token":
            for row in token_values(node):
                if row["code"] is None:
                    continue  # a CodeableConcept's text row: no code to combine
                out.append(
                    {"system": row["system"], "code": row["code"], "low": None, "high": None}
                )
        elif kind == "quantity":
            for row in _quantities(node):
                out.append(
                    {
                        "system": row["system"],
                        "code": row["code"],
                        "low": row["value_low"],
                        "high": row["value_high"],
                    }
                )
        elif kind == "date":
            for row in _dates(node):
                out.append(
                    {
                        "system": None,
                        "code": None,
                        "low": float(row["low_us"]),
                        "high": float(row["high_us"]),
                    }
                )
        elif kind == "string":
            for row in _strings(node):
                out.append(
                    {"system": None, "code": cut(row["value_norm"]), "low": None, "high": None}
                )
        elif kind == "number" and _is_number(node.value):
            out.append(
                {"system": None, "code": None, "low": float(node.value), "high": float(node.value)}
            )
    return out


def _composites(sp: SearchParam, nodes: list[Node]) -> Iterator[dict[str, Any]]:
    first, second = sp.components
    for node in nodes:
        c1 = _component_values(first.param_type, list(first.evaluator([node])))
        c2 = _component_values(second.param_type, list(second.evaluator([node])))
        for a, b in itertools.product(c1, c2):
            yield {
                "c1_system": a["system"],
                "c1_code": a["code"],
                "c2_system": b["system"],
                "c2_code": b["code"],
                "c2_low": b["low"],
                "c2_high": b["high"],
            }
