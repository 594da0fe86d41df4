"""$validate: check a resource against the R4 definitions without storing it.

https://hl7.org/fhir/R4/resource-operation-validate.html. The answer is always an
OperationOutcome with 200 (the validation result is its content); a malformed request is 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Issue, error, operation_outcome
from ..fhir.validation import validate_resource
from ..store import Repository
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Resource-validate",
    "url": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
    "name": "Validate",
    "status": "active",
    "kind": "operation",
    "code": "validate",
    "resource": ["Resource"],
    "system": False,
    "type": True,
    "instance": True,
    "parameter": [
        {"name": "resource", "use": "in", "min": 0, "max": "1", "type": "Resource"},
        {"name": "mode", "use": "in", "min": 0, "max": "1", "type": "code"},
        {"name": "profile", "use": "in", "min": 0, "max": "1", "type": "uri"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "OperationOutcome"},
    ],
}

_MODES = ("create", "update", "delete")


@dataclass(frozen=True, slots=True)
class ValidateParams:
    resource: dict[str, Any] | None
    mode: str | None


def parse(values: Mapping[str, list[Any]]) -> ValidateParams:
    resource = (values.get("resource") or [None])[0]
    mode = (values.get("mode") or [None])[0]
    if mode is not None and mode not in _MODES:
        raise error("CH-1006", f"mode must be one of {', '.join(_MODES)}", "mode")
    if "profile" in values:
        raise error(
            "CH-1006",
            "validation against profiles other than the base R4 definitions is not supported",
            "profile",
        )
    return ValidateParams(resource if isinstance(resource, dict) else None, mode)


def handle(params: ValidateParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    resource = params.resource
    if resource is None and ctx.id is not None and ctx.type is not None:
        resource = repo.read(ctx.type, ctx.id).resource
    if params.mode == "delete":
        if ctx.id is None or ctx.type is None:
            raise error("CH-1006", "mode=delete needs an instance: [type]/[id]/$validate")
        repo.read(ctx.type, ctx.id)
        issues: list[Issue] = []
    elif resource is None:
        raise error("CH-1006", "give the resource to validate in the 'resource' parameter")
    else:
        issues = validate_resource(resource)
        rtype = resource.get("resourceType")
        if ctx.type is not None and rtype != ctx.type:
            issues.append(
                Issue(
                    "CH-2005", f"resource is a {rtype}, the URL names {ctx.type}", ["resourceType"]
                )
            )
        if params.mode == "update" and ctx.id is not None and resource.get("id") != ctx.id:
            issues.append(Issue("CH-2006", "resource id differs from the URL id", [f"{rtype}.id"]))
    if not issues:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "diagnostics": "the resource conforms to the R4 definitions",
                }
            ],
        }
    else:
        outcome = operation_outcome(issues)
    return OperationResult(outcome)


OPERATION = register(Operation(DEFINITION, parse, handle))
