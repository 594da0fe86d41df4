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
def capability_statement(base_url: str, token_url: str | None = None) -> dict[str, Any]:
    """The server's CapabilityStatement (https://hl7.org/fhir/R4/capabilitystatement.html).

    With ``token_url``, ``rest.security`` names SMART-on-FHIR and carries the ``oauth-uris``
    extension with the token and revocation endpoints, as SMART App Launch 1.0 describes for
    servers (https://hl7.org/fhir/smart-app-launch/1.0.0/conformance/index.html); the same
    endpoints are in ``/fhir/.well-known/smart-configuration``.
    """
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
                "security": _security(token_url),
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


_SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def _security(token_url: str | None) -> dict[str, Any]:
    codes = ["OAuth"] + (["SMART-on-FHIR"] if token_url else [])
    security: dict[str, Any] = {
        "cors": False,
        "service": [{"coding": [{"system": _SECURITY_SERVICE, "code": c}]} for c in codes],
        "description": "Bearer JWT issued by the platform (POST /auth/token: client "
        "credentials with a client secret or a SMART Backend Services JWT assertion); SMART "
        "v2 scopes, narrowed by the caller's role, organisation and the patients' consents.",
    }
    if token_url:
        revoke = token_url.rsplit("/", 1)[0] + "/revoke"
        security["extension"] = [
            {
                "url": _OAUTH_URIS,
                "extension": [
                    {"url": "token", "valueUri": token_url},
                    {"url": "revoke", "valueUri": revoke},
                ],
            }
        ]
    return security
