"""Shared parameter readers of the scheduling operations (one value per name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import error


def one(values: Mapping[str, list[Any]], name: str, required: bool = False) -> str | None:
    """The single string value of ``name`` (a reference's ``reference`` counts)."""
    found = values.get(name) or []
    if len(found) > 1:
        raise error("CH-9114", f"parameter {name!r} is given more than once", name)
    value = found[0] if found else None
    if isinstance(value, dict) and "reference" in value:
        value = value["reference"]
    if value is None or value == "":
        if required:
            raise error("CH-9114", f"parameter {name!r} is required", name)
        return None
    if not isinstance(value, str | int):
        raise error("CH-9114", f"parameter {name!r} must be a string", name)
    return str(value)


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
    returns: str,
) -> dict[str, Any]:
    """The OperationDefinition of a state-changing scheduling operation on ``rtype``."""
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
        "parameter": [
            *parameters,
            {"name": "return", "use": "out", "min": 0, "max": "1", "type": returns},
        ],
    }
