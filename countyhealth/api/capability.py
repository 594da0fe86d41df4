"""The CapabilityStatement, generated from the interactions and operations really served.

https://hl7.org/fhir/R4/capabilitystatement.html — nothing here is written by hand per type:
interactions come from :mod:`.rest`, operations from the operation registry, resource types from
the R4 definitions.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .. import __version__
from ..fhir import definitions
from ..fhir.search_params import ORDERED_TYPES, PREFIXES, params_for
from ..operations import operations
from .rest import SYSTEM_INTERACTIONS, TYPE_INTERACTIONS


@cache
def capability_statement(base_url: str) -> dict[str, Any]:
    ops = operations()
    resources = []
    revincludes: dict[str, list[str]] = {}
    for source in definitions.resource_types():
        for code, sp in params_for(source).items():
            if sp.type == "reference":
                for target in sp.targets or ("Resource",):
                    revincludes.setdefault(target, []).append(f"{source}:{code}")
    for rtype in sorted(definitions.resource_types()):
        entry: dict[str, Any] = {
            "type": rtype,
            "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "conditionalRead": "modified-since",
        }
        params = params_for(rtype)
        entry["searchParam"] = [
            {
                "name": code,
                "definition": sp.url,
                "type": sp.type,
                "documentation": "modifiers: "
                + (", ".join(sorted(sp.modifiers)) or "none")
                + ("; prefixes: " + ", ".join(PREFIXES) if sp.type in ORDERED_TYPES else ""),
            }
            for code, sp in sorted(params.items())
        ]
        references = sorted(c for c, sp in params.items() if sp.type == "reference")
        entry["searchInclude"] = ["*", *(f"{rtype}:{c}" for c in references)]
        entry["searchRevInclude"] = sorted(revincludes.get(rtype, []))
        type_ops = [
            {"name": op.code, "definition": op.definition["url"]}
            for op in ops
            if (op.definition.get("type") or op.definition.get("instance")) and op.applies_to(rtype)
        ]
        if type_ops:
            entry["operation"] = type_ops
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "publisher": "CountyHealth",
        "kind": "instance",
        "software": {"name": "CountyHealth", "version": __version__},
        "implementation": {"description": "CountyHealth FHIR R4 data core", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer JWT issued by the platform; SMART scopes.",
                },
                "resource": resources,
                "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
                "searchParam": [
                    {"name": code, "definition": sp.url, "type": sp.type}
                    for code, sp in sorted(params_for("Resource").items())
                ],
                "operation": [
                    {"name": op.code, "definition": op.definition["url"]}
                    for op in ops
                    if op.definition.get("system")
                ],
            }
        ],
    }
