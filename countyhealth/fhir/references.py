"""The forms of ``Reference.reference`` accepted by CountyHealth.

https://hl7.org/fhir/R4/references.html#literal lists them: a relative reference
``[type]/[id]`` (optionally ``/_history/[vid]``) against the server base, an absolute URL,
a local reference ``#[id]`` to a contained resource (``#`` alone points to the container),
and in Bundles ``urn:uuid:`` / ``urn:oid:`` identifiers
(https://hl7.org/fhir/R4/bundle.html#references). A conditional reference ``[type]?[query]``
is only meaningful inside a transaction or batch Bundle
(https://hl7.org/fhir/R4/http.html#trules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from countyhealth.fhir import definitions

ReferenceKind = Literal["relative", "absolute", "local", "uuid", "oid", "conditional"]

_ID = r"[A-Za-z0-9\-.]{1,64}"
_RELATIVE = re.compile(rf"([A-Za-z]+)/({_ID})(?:/_history/({_ID}))?")
_CONDITIONAL = re.compile(r"([A-Za-z]+)\?([^\s]+)")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s/]+[^\s]*")
_LOCAL = re.compile(r"#(?:[A-Za-z0-9\-.]{1,64})?")
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OID = re.compile(r"urn:oid:[0-2](?:\.(?:0|[1-9][0-9]*))+")
_TYPE_PREFIX = re.compile(r"([A-Z][A-Za-z]+)[/?]")

EXPECTED_FORMS = (
    "Type/id, Type/id/_history/vid, an absolute URL, #id of a contained resource, "
    "urn:uuid:<uuid> or urn:oid:<oid>"
)


@dataclass(frozen=True, slots=True)
class ParsedReference:
    """A syntactically valid literal reference."""

    kind: ReferenceKind
    value: str
    resource_type: str | None = None
    id: str | None = None
    version: str | None = None


def parse_reference(value: str) -> ParsedReference | None:
    """Classify a ``Reference.reference`` value; ``None`` if it has none of the valid forms.

    Relative and conditional references must name a known concrete resource type.
    """
    if not value:
        return None
    first = value[0]
    if first == "#":
        if _LOCAL.fullmatch(value):
            return ParsedReference("local", value, id=value[1:] or None)
        return None
    if value.startswith("urn:"):
        if _UUID.fullmatch(value):
            return ParsedReference("uuid", value)
        if _OID.fullmatch(value):
            return ParsedReference("oid", value)
        return None
    match = _RELATIVE.fullmatch(value)
    if match is not None:
        if match.group(1) not in definitions.resource_types():
            return None
        return ParsedReference("relative", value, match.group(1), match.group(2), match.group(3))
    if _ABSOLUTE.fullmatch(value):
        return ParsedReference("absolute", value)
    match = _CONDITIONAL.fullmatch(value)
    if match is not None and match.group(1) in definitions.resource_types():
        return ParsedReference("conditional", value, match.group(1))
    return None


def relative_type(value: str) -> str | None:
    """The resource type at the start of a relative or conditional reference, else ``None``."""
    match = _TYPE_PREFIX.match(value)
    return match.group(1) if match is not None else None


def reference_problem(value: str) -> str | None:
    """Why ``value`` is not a valid literal reference (``None`` when it is valid).

    A conditional reference is reported too, with a reason starting ``conditional``;
    callers that accept them (transactions, batches) filter that case.
    """
    parsed = parse_reference(value)
    if parsed is None:
        match = _RELATIVE.fullmatch(value) or _CONDITIONAL.fullmatch(value)
        if match is not None:
            return f"{value!r} names unknown resource type {match.group(1)!r}"
        return f"{value!r} is not a valid reference; expected {EXPECTED_FORMS}"
    if parsed.kind == "conditional":
        return f"conditional reference {value!r} is only allowed in a transaction or batch Bundle"
    return None


_TRAILING_TARGET = re.compile(rf"(?:^|/)([A-Z][A-Za-z]+)/({_ID})(?:/_history/{_ID})?$")


def reference_target(value: str) -> tuple[str, str] | None:
    """(type, id) of a relative reference or of an absolute URL ending in ``Type/id``."""
    match = _TRAILING_TARGET.search(value)
    if match is None or match.group(1) not in definitions.resource_types():
        return None
    return match.group(1), match.group(2)
