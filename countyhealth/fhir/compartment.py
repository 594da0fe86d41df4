"""Membership of resources in the Patient compartment.

The R4 CompartmentDefinition for Patient (https://hl7.org/fhir/R4/compartmentdefinition-patient.html)
names, per resource type, the search parameters whose references place a resource in a
patient's compartment. The audit trail and consent rules use it to tell which patients a
resource is about.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from . import definitions
from .fhirpath import Evaluator, UnsupportedExpression, compile_expression, evaluate
from .references import reference_target


@cache
def _evaluators(resource_type: str) -> tuple[Evaluator, ...]:
    params = definitions.compartment("Patient").get(resource_type, [])
    by_code = {
        sp["code"]: sp
        for sp in definitions.search_parameters()
        if resource_type in sp["base"] and sp.get("expression")
    }
    out = []
    for code in params:
        sp = by_code.get(code)
        if sp is None:
            continue
        # An expression covers all base types joined by '|'; keep this type's branches.
        branches = [
            b.strip()
            for b in _split_union(sp["expression"])
            if b.strip().lstrip("(").startswith(resource_type + ".")
        ]
        for branch in branches:
            try:
                out.append(compile_expression(branch))
            except UnsupportedExpression:
                continue
    return tuple(out)


def _split_union(expression: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(expression):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i])
            start = i + 1
    parts.append(expression[start:])
    return parts


def is_patient_data(resource_type: str) -> bool:
    """True for Patient and every type in the Patient compartment."""
    return resource_type == "Patient" or resource_type in definitions.compartment("Patient")


def patient_ids(resource: dict[str, Any]) -> list[str]:
    """Ids of the patients a resource belongs to (its Patient compartments), in order."""
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        rid = resource.get("id")
        return [rid] if isinstance(rid, str) else []
    if not isinstance(rtype, str):
        return []
    found: list[str] = []
    for ev in _evaluators(rtype):
        for node in evaluate(ev, resource):
            ref = node.value.get("reference") if isinstance(node.value, dict) else None
            target = reference_target(ref) if isinstance(ref, str) else None
            if target is not None and target[0] == "Patient" and target[1] not in found:
                found.append(target[1])
    return found
