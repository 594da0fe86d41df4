"""Patient/$merge, Patient/$unmerge and Task/[id]/$decide-duplicate: the identity steward's
operations on the master patient index.

R4 defines no merge; ``$merge`` takes the parameter names R5 gave it
(https://hl7.org/fhir/R5/patient-operation-merge.html): ``source-patient`` is merged into
``target-patient``. ``$unmerge`` undoes one merge, named by its ``provenance``.
``$decide-duplicate`` records a decision (merged / linked / distinct) on a duplicate-review
Task. All need the steward role; see :mod:`countyhealth.identity.merge`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import error
from ..identity.merge import merge_patients, unmerge
from ..identity.review_decisions import decide
from ..store import Repository
from ._scheduling_params import definition, one, parameter
from .registry import Operation, OperationContext, OperationResult, register


def _text(values: Mapping[str, list[Any]], name: str, required: bool = True) -> str:
    return (one(values, name, required, "CH-9502") or "").strip()[:500]


def _result(**values: Any) -> OperationResult:
    params = []
    for name, value in values.items():
        if isinstance(value, int):
            params.append({"name": name, "valueInteger": value})
        elif isinstance(value, str) and "/" in value:
            params.append({"name": name, "valueReference": {"reference": value}})
        else:
            params.append({"name": name, "valueString": str(value)})
    return OperationResult({"resourceType": "Parameters", "parameter": params})


@dataclass(frozen=True, slots=True)
class MergeParams:
    source: str
    target: str
    reason: str


def parse_merge(values: Mapping[str, list[Any]]) -> MergeParams:
    return MergeParams(
        _text(values, "source-patient"),
        _text(values, "target-patient"),
        _text(values, "reason", False),
    )


def handle_merge(params: MergeParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    done = merge_patients(repo, params.source, params.target, params.reason)
    return _result(provenance=f"Provenance/{done.provenance}", repointed=done.repointed)


@dataclass(frozen=True, slots=True)
class UnmergeParams:
    provenance: str
    reason: str


def parse_unmerge(values: Mapping[str, list[Any]]) -> UnmergeParams:
    ref = _text(values, "provenance")
    rtype, _, rid = ref.partition("/")
    if rtype != "Provenance" or not rid:
        raise error("CH-9502", "provenance is a reference Provenance/id", "provenance")
    return UnmergeParams(rid, _text(values, "reason", False))


def handle_unmerge(
    params: UnmergeParams, repo: Repository, ctx: OperationContext
) -> OperationResult:
    done = unmerge(repo, params.provenance, params.reason)
    return _result(provenance=f"Provenance/{done.provenance}", restored=done.repointed)


@dataclass(frozen=True, slots=True)
class DecideParams:
    decision: str
    survivor: str | None
    note: str


def parse_decide(values: Mapping[str, list[Any]]) -> DecideParams:
    return DecideParams(
        _text(values, "decision"),
        _text(values, "survivor", False) or None,
        _text(values, "note", False),
    )


def handle_decide(params: DecideParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    if ctx.id is None:
        raise error(
            "CH-2014", "$decide-duplicate is invoked on one Task: Task/[id]/$decide-duplicate"
        )
    review = decide(repo, ctx.id, params.decision, survivor=params.survivor, note=params.note)
    return _result(task=f"Task/{review.id}", decision=review.decision or "")


MERGE = register(
    Operation(
        definition(
            "Patient",
            "merge",
            "Merge the source record into the target: references repointed, the source "
            "inactive and replaced-by the target, a Provenance to undo it.",
            [
                parameter("source-patient", "Reference"),
                parameter("target-patient", "Reference"),
                parameter("reason", "string", required=False),
                parameter("provenance", "Reference", "out"),
                parameter("repointed", "integer", "out"),
            ],
            instance=False,
        ),
        parse_merge,
        handle_merge,
    )
)
UNMERGE = register(
    Operation(
        definition(
            "Patient",
            "unmerge",
            "Undo the merge a Provenance recorded: references point at the source record again.",
            [
                parameter("provenance", "Reference"),
                parameter("reason", "string", required=False),
                parameter("restored", "integer", "out"),
            ],
            instance=False,
        ),
        parse_unmerge,
        handle_unmerge,
    )
)
DECIDE = register(
    Operation(
        definition(
            "Task",
            "decide-duplicate",
            "The identity steward's decision on a duplicate-review Task: merged (with the "
            "surviving record), linked or distinct.",
            [
                parameter("decision", "code"),
                parameter("survivor", "Reference", required=False),
                parameter("note", "string", required=False),
                parameter("decision", "code", "out"),
            ],
            instance=True,
        ),
        parse_decide,
        handle_decide,
    )
)
