"""$export kick-off: FHIR Bulk Data Access IG v2 (https://hl7.org/fhir/uv/bulkdata/export.html).

Three definitions of one operation: ``[base]/$export`` (every resource), ``Patient/$export``
(the Patient compartments of all patients) and ``Group/[id]/$export`` (those of the Group's
Patient members). The kick-off checks the request, resolves what to export as the caller may
see it, stores a job and answers 202 with the status URL in ``Content-Location``; a bulk
worker (:mod:`countyhealth.bulk`) runs the job. Status and files are served by
``api/bulk.py``.

Parameters: ``_outputFormat`` (NDJSON only), ``_type``, ``_since``, ``_typeFilter`` (searches
``Type?params``, ORed per type) and, at Patient and Group level, ``patient``. Others
(``_elements``, ``includeAssociatedData``…) are refused unless the request says
``Prefer: handling=lenient``; they are then ignored and reported in the manifest's ``error``
file. Without ``_type`` every type the scopes allow is exported (at Patient and Group level,
the Patient compartment types) except AuditEvent, which is exported only when asked for;
without ``_type``, ``_typeFilter`` names the types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..errors import error, forbidden, information
from ..fhir import definitions
from ..fhir.instant import parse_period
from ..fhir.references import reference_target
from ..fhir.search_request import RESULT_PARAMS, SearchRequest, parse_search
from ..store import Repository
from .registry import Operation, OperationContext, OperationResult, register

_IG = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition"
_COMMON = [
    {"name": "_outputFormat", "use": "in", "min": 0, "max": "1", "type": "string"},
    {"name": "_since", "use": "in", "min": 0, "max": "1", "type": "instant"},
    {"name": "_type", "use": "in", "min": 0, "max": "*", "type": "string"},
    {"name": "_typeFilter", "use": "in", "min": 0, "max": "*", "type": "string"},
]
_PATIENT = {"name": "patient", "use": "in", "min": 0, "max": "*", "type": "Reference"}


def _definition(id_: str, title: str, **where: Any) -> dict[str, Any]:
    parameters = [*_COMMON, _PATIENT] if where.get("resource") else list(_COMMON)
    return {
        "resourceType": "OperationDefinition",
        "id": id_,
        "url": f"{_IG}/{id_}",
        "name": title,
        "status": "active",
        "kind": "operation",
        "code": "export",
        "system": False,
        "type": False,
        "instance": False,
        **where,
        "parameter": parameters,
    }


SYSTEM_DEFINITION = _definition("export", "BulkDataExport", system=True)
PATIENT_DEFINITION = _definition(
    "patient-export", "PatientLevelExport", resource=["Patient"], type=True
)
GROUP_DEFINITION = _definition(
    "group-export", "GroupLevelExport", resource=["Group"], instance=True
)

OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
_KNOWN = frozenset({"_outputFormat", "_type", "_since", "_typeFilter", "patient"})
#: A comma that starts the next query of a _typeFilter list (``…,Type?…``).
_NEXT_QUERY = re.compile(r",(?=[A-Z][A-Za-z]+\?)")


@dataclass(frozen=True, slots=True)
class ExportParams:
    """The kick-off parameters, checked for form."""

    types: tuple[str, ...]
    since_us: int | None
    type_filters: tuple[tuple[str, str], ...]  # (type, query string)
    patients: tuple[str, ...]
    unsupported: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExportJob:
    """What an export job does, as stored with the job (``bulk_job.params``)."""

    level: str  # system, patient or group
    group: str | None
    types: tuple[str, ...]
    since_us: int | None
    type_filters: tuple[tuple[str, str], ...]
    patients: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "group": self.group,
            "types": list(self.types),
            "since_us": self.since_us,
            "typeFilter": [list(f) for f in self.type_filters],
            "patients": list(self.patients),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportJob:
        return cls(
            level=data["level"],
            group=data.get("group"),
            types=tuple(data["types"]),
            since_us=data.get("since_us"),
            type_filters=tuple((t, q) for t, q in data.get("typeFilter", [])),
            patients=tuple(data.get("patients", [])),
            warnings=tuple(data.get("warnings", [])),
        )

    def filters_for(self, rtype: str) -> tuple[SearchRequest, ...]:
        """The _typeFilter searches on ``rtype`` (none: every resource of the type)."""
        return tuple(_search(t, q) for t, q in self.type_filters if t == rtype)


def _search(rtype: str, query: str) -> SearchRequest:
    pairs = parse_qsl(query, keep_blank_values=True)
    shaping = sorted({k.partition(":")[0] for k, _ in pairs} & RESULT_PARAMS)
    if shaping:
        raise error(
            "CH-8004",
            f"_typeFilter {rtype}?{query[:80]}: {', '.join(shaping)} may not be used",
            "_typeFilter",
        )
    if not pairs:
        raise error("CH-8004", f"_typeFilter {rtype}? has no search parameters", "_typeFilter")
    return parse_search((rtype,), pairs, strict=True)


def _words(values: list[Any]) -> list[str]:
    """Values that may be repeated and comma separated (export.html#query-parameters)."""
    return [w.strip() for v in values for w in str(v).split(",") if w.strip()]


def parse(values: Mapping[str, list[Any]]) -> ExportParams:
    formats = [str(v).strip().lower().replace(" ", "+") for v in values.get("_outputFormat", [])]
    for fmt in formats:
        if fmt not in OUTPUT_FORMATS:
            raise error(
                "CH-8003",
                f"_outputFormat {fmt[:60]!r} is not supported; use {OUTPUT_FORMATS[0]}",
                "_outputFormat",
            )
    types: list[str] = []
    for rtype in _words(values.get("_type", [])):
        if rtype not in definitions.resource_types():
            raise error("CH-2004", f"_type: {rtype[:64]!r} is not a resource type", "_type")
        if rtype not in types:
            types.append(rtype)
    since = None
    for text in values.get("_since", [])[:1]:
        try:
            since = parse_period(str(text))[0]
        except ValueError as exc:
            raise error("CH-1006", f"_since: {exc}", "_since") from exc
    filters: list[tuple[str, str]] = []
    for value in values.get("_typeFilter", []):
        for query in _NEXT_QUERY.split(str(value)):
            rtype, mark, rest = query.strip().partition("?")
            if not mark or rtype not in definitions.resource_types():
                raise error(
                    "CH-8004",
                    f"_typeFilter {query[:80]!r} is not a search of the form Type?parameters",
                    "_typeFilter",
                )
            if types and rtype not in types:
                raise error(
                    "CH-8004",
                    f"_typeFilter searches {rtype}, which _type leaves out",
                    "_typeFilter",
                )
            _search(rtype, rest)  # refuse unknown parameters and bad values now, not in the job
            filters.append((rtype, rest))
    patients: list[str] = []
    for value in values.get("patient", []):
        ref = value.get("reference") if isinstance(value, dict) else value
        target = reference_target(ref) if isinstance(ref, str) else None
        if target is None or target[0] != "Patient":
            raise error(
                "CH-1006", f"patient: {str(ref)[:80]!r} is not a Patient reference", "patient"
            )
        if target[1] not in patients:
            patients.append(target[1])
    unsupported = tuple(sorted(k for k in values if k not in _KNOWN))
    return ExportParams(tuple(types), since, tuple(filters), tuple(patients), unsupported)


def group_members(group: Mapping[str, Any]) -> list[str]:
    """Ids of the active Patient members of a Group (``Group.member.entity``)."""
    members: list[str] = []
    for member in group.get("member") or []:
        if not isinstance(member, dict) or member.get("inactive") is True:
            continue
        ref = (member.get("entity") or {}).get("reference")
        target = reference_target(ref) if isinstance(ref, str) else None
        if target is not None and target[0] == "Patient" and target[1] not in members:
            members.append(target[1])
    return members


def _preferences(prefer: str) -> set[str]:
    return {p.strip().lower().replace(" ", "") for p in re.split(r"[,;]", prefer) if p.strip()}


def _types(params: ExportParams, level: str, repo: Repository) -> tuple[str, ...]:
    scopes = repo.caller.scopes
    in_compartment = {"Patient", *definitions.compartment("Patient")}
    asked = params.types or tuple(dict.fromkeys(t for t, _ in params.type_filters))
    for rtype in asked:
        if level != "system" and rtype not in in_compartment:
            raise error("CH-1006", f"_type: {rtype} is not in the Patient compartment", "_type")
        if not scopes.allows(rtype, "search-type"):
            raise forbidden(f"the granted scopes do not allow exporting {rtype}")
    if asked:
        return asked
    candidates = in_compartment if level != "system" else definitions.resource_types()
    types = tuple(
        t for t in sorted(candidates) if t != "AuditEvent" and scopes.allows(t, "search-type")
    )
    if not types:
        raise forbidden("the granted scopes allow exporting no resource type")
    return types


def handle(params: ExportParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    preferences = _preferences(ctx.prefer)
    if "respond-async" not in preferences:
        raise error("CH-8002", "$export runs asynchronously: send Prefer: respond-async")
    warnings: list[str] = []
    for name in params.unsupported:
        if "handling=lenient" not in preferences:
            raise error(
                "CH-8007",
                f"$export does not support {name[:60]!r}; leave it out or send "
                "Prefer: handling=lenient to have it ignored",
                name[:60],
            )
        warnings.append(f"the parameter {name[:60]!r} is not supported and was ignored")
    level = "group" if ctx.id else ("patient" if ctx.type else "system")
    if level == "system" and params.patients:
        raise error("CH-1006", "patient applies to Patient and Group level export only", "patient")
    members: list[str] | None = None
    if ctx.id is not None:
        members = group_members(repo.read("Group", ctx.id).resource)
    for pid in params.patients:
        if members is None:
            repo.read("Patient", pid)  # an unknown patient is an error (404), as the IG asks
        elif pid not in members:
            raise error("CH-1006", f"Patient/{pid} is not a member of Group/{ctx.id}", "patient")
    job = ExportJob(
        level=level,
        group=ctx.id,
        types=_types(params, level, repo),
        since_us=params.since_us,
        type_filters=params.type_filters,
        patients=params.patients,
        warnings=tuple(warnings),
    )
    path = (
        f"/Group/{ctx.id}/$export" if ctx.id else ("/Patient/$export" if ctx.type else "/$export")
    )
    query = urlencode(ctx.query)
    request_url = f"{ctx.base_url}{path}" + (f"?{query}" if query else "")
    submitted = repo.jobs.submit("export", request_url, job.to_json())
    status_url = f"{ctx.base_url}/bulkstatus/{submitted.id}"
    return OperationResult(
        information(f"export accepted; poll {status_url} for its status"),
        202,
        {"Content-Location": status_url},
    )


SYSTEM = register(Operation(SYSTEM_DEFINITION, parse, handle))
PATIENT = register(Operation(PATIENT_DEFINITION, parse, handle))
GROUP = register(Operation(GROUP_DEFINITION, parse, handle))
