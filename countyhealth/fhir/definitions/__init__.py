"""Read-only access to the FHIR R4 definitions derived from the official package.

The data in ``r4/`` is produced by ``tools/derive_fhir_definitions.py`` from
``hl7.fhir.r4.examples@4.0.1`` (CC0-1.0); ``r4/PROVENANCE.json`` records the tarball SHA-256
and counts. Nothing is read at import time: every accessor loads its file on first use and
caches the result (``functools.cache``). Returned dicts and lists are shared; do not mutate
them.

See https://hl7.org/fhir/R4/structuredefinition.html, https://hl7.org/fhir/R4/valueset.html,
https://hl7.org/fhir/R4/searchparameter.html and https://hl7.org/fhir/R4/compartmentdefinition.html.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Any

import orjson

DATA_DIR = Path(__file__).resolve().parent / "r4"

__all__ = [
    "DATA_DIR",
    "abstract_resource_types",
    "compartment",
    "compartment_names",
    "complex_types",
    "not_expandable_valuesets",
    "primitive_max_length",
    "primitive_regexes",
    "primitive_types",
    "provenance",
    "required_codes",
    "required_codings",
    "resource_types",
    "search_parameters",
    "structure",
    "type_names",
]


@cache
def _load(name: str) -> Any:
    with gzip.open(DATA_DIR / name, "rb") as fh:
        return orjson.loads(fh.read())


def _structure_file() -> dict[str, Any]:
    data: dict[str, Any] = _load("structure.json.gz")
    return data


@cache
def provenance() -> dict[str, Any]:
    """The provenance record: package, version, tarball sha256, licence, date, counts."""
    data: dict[str, Any] = orjson.loads((DATA_DIR / "PROVENANCE.json").read_bytes())
    return data


@cache
def resource_types() -> frozenset[str]:
    """Names of the concrete (non-abstract) R4 resource types (146 in 4.0.1)."""
    return frozenset(_structure_file()["resourceTypes"])


@cache
def abstract_resource_types() -> frozenset[str]:
    """Names of the abstract resource types: ``Resource`` and ``DomainResource``."""
    return frozenset(_structure_file()["abstractResourceTypes"])


@cache
def complex_types() -> frozenset[str]:
    """Names of the complex datatypes (``HumanName``, ``Reference``, ``Element`` …)."""
    return frozenset(_structure_file()["complexTypes"])


@cache
def primitive_types() -> frozenset[str]:
    """Names of the primitive datatypes (``string``, ``dateTime``, ``xhtml`` …)."""
    return frozenset(_structure_file()["primitiveTypes"])


@cache
def type_names() -> frozenset[str]:
    """Every type that has a definition: resources (abstract too), complex and primitive types."""
    return frozenset(_structure_file()["types"])


def structure(type_name: str) -> dict[str, Any]:
    """The derived definition of one type.

    Returns a dict with ``kind`` (``resource``, ``complex-type`` or ``primitive-type``),
    ``abstract``, optional ``base`` and ``elements``: the snapshot elements below the root, each
    ``{"path", "min", "max", "type": [{"code", "targets"?, "attribute"?}],
    "contentReference"?, "binding"?, "summary"?}`` where ``binding`` is the canonical URL
    (without version) of a required binding, ``targets`` are the resource types a Reference
    may point to, and ``attribute`` marks a FHIRPath ``System.*`` typed element
    (``Element.id``, ``Extension.url``) that has no ``_name`` companion in JSON.

    Raises:
        KeyError: ``type_name`` is not an R4 type.
    """
    types: dict[str, dict[str, Any]] = _structure_file()["types"]
    return types[type_name]


@cache
def primitive_regexes() -> dict[str, str]:
    """Primitive type → regex of its value (XML Schema syntax, implicitly anchored).

    Taken from the ``http://hl7.org/fhir/StructureDefinition/regex`` extension on the
    ``value`` element of each primitive type (https://hl7.org/fhir/R4/datatypes.html#primitive).
    """
    return dict(_structure_file()["primitiveRegex"])


@cache
def primitive_max_length() -> dict[str, int]:
    """Primitive type → maximum length of its value, where the definitions set one."""
    return dict(_structure_file()["primitiveMaxLength"])


def _valuesets() -> dict[str, Any]:
    data: dict[str, Any] = _load("valuesets.json.gz")
    return data


@cache
def required_codings(valueset_url: str) -> dict[str, frozenset[str]] | None:
    """Codes of a required-binding value set, by code system.

    Args:
        valueset_url: canonical URL, with or without ``|version``.

    Returns:
        ``{system: codes}``, or ``None`` when the value set could not be expanded from the
        package (external code systems such as BCP-13, ISO 4217 or UCUM) or is not used by a
        required binding; such value sets are not checked.
    """
    expansion = _valuesets()["expanded"].get(valueset_url.split("|", 1)[0])
    if expansion is None:
        return None
    return {system: frozenset(codes) for system, codes in expansion.items()}


@cache
def required_codes(valueset_url: str) -> frozenset[str] | None:
    """All codes (of any system) of a required-binding value set, or ``None`` if not expandable."""
    codings = required_codings(valueset_url)
    if codings is None:
        return None
    return frozenset().union(*codings.values())


@cache
def not_expandable_valuesets() -> dict[str, str]:
    """Required-binding value sets that are not checked, with the reason."""
    return dict(_valuesets()["notExpandable"])


def search_parameters() -> list[dict[str, Any]]:
    """Every R4 SearchParameter (1,375): url, code, base, type, expression, target …"""
    data: list[dict[str, Any]] = _load("search_parameters.json.gz")
    return data


def compartment_names() -> list[str]:
    """The compartment codes: Device, Encounter, Patient, Practitioner, RelatedPerson."""
    data: dict[str, Any] = _load("compartments.json.gz")
    return list(data)


def compartment(name: str) -> dict[str, list[str]]:
    """Resource type → search parameter codes that put a resource in compartment ``name``.

    Resource types that can never be in the compartment are absent.

    Raises:
        KeyError: ``name`` is not one of :func:`compartment_names`.
    """
    data: dict[str, dict[str, list[str]]] = _load("compartments.json.gz")
    return data[name]
