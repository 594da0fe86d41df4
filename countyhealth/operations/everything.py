"""Patient/$everything: a patient's record — the Patient and every resource of its compartment.

https://hl7.org/fhir/R4/patient-operation-everything.html. AuditEvents are left out unless
``_type=AuditEvent`` asks for them. Supports ``_since`` (resources
changed at or after an instant), ``_type`` (restrict the types) and ``_count`` with paging
links. The search runs through the Repository, so scopes (and, later, consent) decide what is
returned, and the access is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..errors import error
from ..fhir import definitions
from ..fhir.search_request import parse_search
from ..rest.results import searchset_bundle
from ..store import Repository
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Patient-everything",
    "url": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    "name": "Everything",
    "status": "active",
    "kind": "operation",
    "code": "everything",
    "resource": ["Patient"],
    "system": False,
    "type": False,
    "instance": True,
    "parameter": [
        {"name": "_since", "use": "in", "min": 0, "max": "1", "type": "instant"},
        {"name": "_type", "use": "in", "min": 0, "max": "*", "type": "code"},
        {"name": "_count", "use": "in", "min": 0, "max": "1", "type": "integer"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "Bundle"},
    ],
}


@dataclass(frozen=True, slots=True)
class EverythingParams:
    since: str | None
    types: tuple[str, ...]
    count: str | None
    page: str | None


def parse(values: Mapping[str, list[Any]]) -> EverythingParams:
    members = ("Patient", *definitions.compartment("Patient"))
    types: list[str] = []
    for value in values.get("_type", []):
        for t in str(value).split(","):
            t = t.strip()
            if t and t not in members:
                raise error(
                    "CH-1006", f"_type: {t[:64]} is not in the Patient compartment", "_type"
                )
            if t:
                types.append(t)
    first = {k: (str(v[0]) if v else None) for k, v in values.items()}
    # The audit trail is in the Patient compartment but not part of the clinical record: it
    # is returned only when asked for with _type=AuditEvent.
    default = tuple(t for t in members if t != "AuditEvent")
    return EverythingParams(
        first.get("_since"), tuple(types) or default, first.get("_count"), first.get("_page")
    )


def handle(params: EverythingParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    assert ctx.id is not None
    repo.read("Patient", ctx.id)  # 404/410 for an unknown patient, and the read is audited
    readable = tuple(t for t in params.types if repo.caller.scopes.allows(t, "search-type"))
    if not readable:
        raise error("CH-4003", "the granted scopes allow none of the requested types")
    criteria: list[tuple[str, str]] = []
    if params.since:
        criteria.append(("_lastUpdated", f"ge{params.since}"))
    if params.count:
        criteria.append(("_count", params.count))
    if params.page:
        criteria.append(("_page", params.page))
    req = parse_search(
        readable,
        criteria,
        strict=True,
        default_count=repo.store.settings.default_page_size,
        max_count=repo.store.settings.max_page_size,
    )
    page = repo.search(req, compartment_of=("Patient", ctx.id))
    path = f"/Patient/{ctx.id}/$everything"
    kept = [(k, v) for k, v in ctx.query if k not in ("_page", "_format", "_pretty")]
    bundle = searchset_bundle(
        page,
        self_url=f"{ctx.base_url}{path}" + (f"?{urlencode(kept)}" if kept else ""),
        page_url=lambda token: f"{ctx.base_url}{path}?{urlencode([*kept, ('_page', token)])}",
        summary=None,
        elements=(),
        base=ctx.base_url,
        warnings=[],
    )
    return OperationResult(bundle)


OPERATION = register(Operation(DEFINITION, parse, handle))
