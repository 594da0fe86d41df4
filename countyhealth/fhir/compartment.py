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
from .fhirpath import Evaluator, evaluate
from .references import reference_target
from .search_params import params_for


@cache
def _evaluators(resource_type: str) -> tuple[Evaluator, ...]:
    """The compiled expressions of the parameters that place ``resource_type`` in a Patient
    compartment (the same search parameters the server indexes)."""
    params = params_for(resource_type)
    return tuple(
        params[code].evaluator  # type: ignore[misc]
        for code in definitions.compartment("Patient").get(resource_type, [])
        if code in params and params[code].evaluator is not None
    )


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
