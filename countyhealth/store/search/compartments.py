"""Compartment search: ``GET [base]/Patient/123/Observation`` (https://hl7.org/fhir/R4/compartmentdefinition.html).

A resource is in the compartment of Patient/123 when one of the reference parameters the
CompartmentDefinition names for its type points at Patient/123.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, false, or_, select

from ...errors import error
from ...fhir import definitions
from ..schema import idx_reference, resource

COMPARTMENT_TYPES = ("Patient", "Encounter", "RelatedPerson", "Practitioner", "Device")


def compartment_condition(types: Sequence[str], compartment: str, cid: str) -> ColumnElement[bool]:
    if compartment not in COMPARTMENT_TYPES:
        raise error("CH-1008", f"{compartment} is not a compartment")
    members = definitions.compartment(compartment)
    conds: list[ColumnElement[bool]] = []
    for rtype in types:
        params = members.get(rtype)
        if rtype == compartment:
            conds.append(and_(resource.c.res_type == compartment, resource.c.res_id == cid))
            continue
        if not params:
            continue
        r = idx_reference
        conds.append(
            resource.c.res_pk.in_(
                select(r.c.res_pk).where(
                    r.c.res_type == rtype,
                    r.c.param.in_(params),
                    r.c.target_type == compartment,
                    r.c.target_id == cid,
                )
            )
        )
    return or_(*conds) if conds else false()
