"""Shared parameter readers of the CountyHealth operations (one value per name) and the
OperationDefinition shape of the state-changing ones."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from ..errors import error


def one(
    values: Mapping[str, list[Any]], name: str, required: bool = False, code: str = "CH-9114"
) -> str | None:
    """The single string value of ``name`` (a reference's ``reference`` counts); ``code`` is
    the error of the operation's family for a missing or repeated value."""
    found = values.get(name) or []
    if len(found) > 1:
        raise error(code, f"parameter {name!r} is given more than once", name)
    value = found[0] if found else None
    if isinstance(value, dict) and "reference" in value:
        value = value["reference"]
    if value is None or value == "":
        if required:
            raise error(code, f"parameter {name!r} is required", name)
        return None
    if not isinstance(value, str | int):
        raise error(code, f"parameter {name!r} must be a string", name)
    return str(value)


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def day(values: Mapping[str, list[Any]], name: str, code: str = "CH-9114") -> date:
    """The required date parameter ``name`` (YYYY-MM-DD)."""
    text = str(one(values, name, True, code))
    if _DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise error(code, f"{name} must be a date (YYYY-MM-DD)", name)


def local_id(reference: str | None, rtype: str) -> str | None:
    """``Type/id`` or ``id`` → ``id``; another type is an error."""
    if reference is None:
        return None
    if "/" in reference:
        kind, _, rid = reference.rpartition("/")
        if kind.split("/")[-1] != rtype:
            raise error("CH-9114", f"expected a {rtype} reference, got {reference[:80]!r}")
        return rid
    return reference


def definition(
    rtype: str,
    code: str,
    description: str,
    parameters: list[dict[str, Any]],
    *,
    instance: bool,
    returns: str | None = None,
) -> dict[str, Any]:
    """The OperationDefinition of a state-changing CountyHealth operation ``$code`` on
    ``rtype`` (POST only, https://hl7.org/fhir/R4/operations.html#request), with a ``return``
    out-parameter of type ``returns`` when given."""
    out = [{"name": "return", "use": "out", "min": 0, "max": "1", "type": returns}]
    return {
        "resourceType": "OperationDefinition",
        "id": f"{rtype}-{code}",
        "url": f"https://countyhealth.example.org/fhir/OperationDefinition/{rtype}-{code}",
        "name": code.title().replace("-", ""),
        "status": "active",
        "kind": "operation",
        "code": code,
        "description": description,
        "resource": [rtype],
        "system": False,
        "type": not instance,
        "instance": instance,
        "affectsState": True,
        "parameter": [*parameters, *(out if returns else [])],
    }


def parameter(name: str, ptype: str, use: str = "in", *, required: bool = True) -> dict[str, Any]:
    """One ``OperationDefinition.parameter`` (``max`` 1)."""
    return {"name": name, "use": use, "min": 1 if required else 0, "max": "1", "type": ptype}
