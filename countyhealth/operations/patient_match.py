"""Patient/$match: find the records the index holds for a person (master patient index).

https://hl7.org/fhir/R4/patient-operation-match.html: the input ``resource`` is a Patient
(it need not be stored); ``onlyCertainMatches`` asks for certain matches only; ``count`` caps
the answer. The answer is a ``searchset`` Bundle, best first, each entry with
``search.mode = match``, ``search.score`` (the match probability, 0–1) and the match-grade
extension (certain / probable / possible,
https://hl7.org/fhir/R4/extension-match-grade.html). Matching considers every record of the
医共体; the answer holds the records the caller may read, and says when others were left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import error
from ..fhir.validation import check_resource
from ..identity.mpi import Thresholds, match_patient, visible_to_caller
from ..store import Repository
from .registry import Operation, OperationContext, OperationResult, register

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
MAX_COUNT = 50

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Patient-match",
    "url": "http://hl7.org/fhir/OperationDefinition/Patient-match",
    "name": "Match",
    "status": "active",
    "kind": "operation",
    "code": "match",
    "description": "Records the master patient index holds for the Patient given: the identity "
    "number decides (certain) when both carry the same valid one; otherwise a Fellegi–Sunter "
    "model over name characters and pinyin, birth date, sex, phone, address and guardian.",
    "resource": ["Patient"],
    "system": False,
    "type": True,
    "instance": False,
    "affectsState": False,
    "parameter": [
        {"name": "resource", "use": "in", "min": 1, "max": "1", "type": "Resource"},
        {"name": "onlyCertainMatches", "use": "in", "min": 0, "max": "1", "type": "boolean"},
        {"name": "count", "use": "in", "min": 0, "max": "1", "type": "integer"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "Bundle"},
    ],
}


@dataclass(frozen=True, slots=True)
class MatchParams:
    resource: dict[str, Any]
    only_certain: bool
    count: int


def _flag(values: Mapping[str, list[Any]]) -> bool:
    raw = (values.get("onlyCertainMatches") or [False])[0]
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    raise error("CH-9502", "onlyCertainMatches is true or false", "onlyCertainMatches")


def _count(values: Mapping[str, list[Any]]) -> int:
    raw = (values.get("count") or [10])[0]
    try:
        count = int(raw)
    except (TypeError, ValueError):
        raise error("CH-9502", "count is a whole number", "count") from None
    if not 1 <= count <= MAX_COUNT:
        raise error("CH-9502", f"count is between 1 and {MAX_COUNT}", "count")
    return count


def parse(values: Mapping[str, list[Any]]) -> MatchParams:
    resources = values.get("resource") or []
    if len(resources) != 1 or not isinstance(resources[0], dict):
        raise error("CH-9502", "$match needs exactly one Patient in 'resource'", "resource")
    resource = resources[0]
    if resource.get("resourceType") != "Patient":
        raise error("CH-9502", "the 'resource' of Patient/$match must be a Patient", "resource")
    check_resource(resource)
    return MatchParams(resource, _flag(values), _count(values))


def handle(params: MatchParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    thresholds = Thresholds.of(repo.store.settings)
    candidates = match_patient(repo, params.resource, thresholds)
    if params.only_certain:
        candidates = [c for c in candidates if c.grade == "certain"]
    candidates = candidates[: params.count]
    shown, hidden = visible_to_caller(repo, candidates)
    entries: list[dict[str, Any]] = []
    for c in shown:
        resource = c.resource
        entries.append(
            {
                "fullUrl": f"{ctx.base_url}/Patient/{resource['id']}",
                "resource": resource,
                "search": {
                    "extension": [{"url": MATCH_GRADE, "valueCode": c.grade}],
                    "mode": "match",
                    "score": round(c.score.probability, 6),
                },
            }
        )
    if hidden:
        entries.append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "information",
                            "code": "suppressed",
                            "diagnostics": "records the caller may not read were left out",
                        }
                    ],
                },
                "search": {"mode": "outcome"},
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(shown),
        "entry": entries,
    }
    if not entries:
        bundle.pop("entry")
    return OperationResult(bundle)


OPERATION = register(Operation(DEFINITION, parse, handle))
