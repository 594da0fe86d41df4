"""The mutual-recognition operations on ServiceRequest (检查检验结果互认).

- ``ServiceRequest/$recognition-check`` (type level, GET or POST, changes nothing): ``patient``
  and ``code`` (LOINC, provincial item code or ``system|code``) → the results that qualify now.
- ``ServiceRequest/[id]/$recognition-check`` (POST): the same for an order, and what it found
  is kept on the order (extension ``recognition``).
- ``ServiceRequest/[id]/$recognise`` (POST, ``result``): the order is completed by reference to
  an existing result.
- ``ServiceRequest/[id]/$retest`` (POST, ``reason`` one of the six national codes, ``note``):
  the clinician tests again; the reason is kept.

The answer of the check is a ``Parameters`` resource (docs/recognition.md): ``item``
(Coding), ``recognisable`` (boolean), ``window`` (days), the ``order`` for the instance form,
and one ``suggestion`` per qualifying result with parts ``report``, ``observation``,
``organization``, ``effective``, ``age`` (days), ``value`` and ``mark``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import error
from ..fhir import systems
from ..recognition.check import CheckResult, parse_code, recognition_check
from ..recognition.orders import check_order, recognise, retest
from ..scheduling.calendar import fhir_datetime
from ..store import Repository
from ._scheduling_params import definition, local_id, one
from .registry import Operation, OperationContext, OperationResult, register

_UCUM = "http://unitsofmeasure.org"
_CODE = "CH-9201"


def _days(value: int) -> dict[str, Any]:
    return {"value": value, "unit": "d", "system": _UCUM, "code": "d"}


def check_parameters(result: CheckResult, order: str | None = None) -> dict[str, Any]:
    """The FHIR form of a check's answer (see the module docstring)."""
    params: list[dict[str, Any]] = []
    if result.item is not None:
        params.append(
            {
                "name": "item",
                "valueCoding": {
                    "system": systems.RECOGNITION_ITEM,
                    "code": result.item.code,
                    "display": result.item.name,
                },
            }
        )
    params.append({"name": "recognisable", "valueBoolean": result.recognisable})
    if result.item is not None and result.item.window_days is not None:
        params.append({"name": "window", "valueQuantity": _days(result.item.window_days)})
    params.append({"name": "checked", "valueDateTime": fhir_datetime(result.at)})
    if order:
        params.append({"name": "order", "valueReference": {"reference": order}})
    for s in result.suggestions:
        params.append(
            {
                "name": "suggestion",
                "part": [
                    {"name": "report", "valueReference": {"reference": s.report}},
                    {"name": "observation", "valueReference": {"reference": s.observation}},
                    {
                        "name": "organization",
                        "valueReference": {
                            "reference": s.organization,
                            "display": s.organization_name,
                        },
                    },
                    {"name": "effective", "valueDateTime": fhir_datetime(s.effective)},
                    {"name": "age", "valueQuantity": _days(s.age_days)},
                    {"name": "value", "valueString": s.value},
                    {
                        "name": "mark",
                        "valueCoding": {"system": systems.RECOGNITION_MARK, "display": s.mark},
                    },
                ],
            }
        )
    return {"resourceType": "Parameters", "parameter": params}


@dataclass(frozen=True, slots=True)
class CheckParams:
    patient: str
    code: str


def _parse_check(values: Mapping[str, list[Any]]) -> CheckParams:
    patient = local_id(one(values, "patient", True, _CODE), "Patient")
    code = str(one(values, "code", True, _CODE))
    return CheckParams(str(patient), code)


def _check(params: CheckParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    if ctx.id is not None:
        _, result = check_order(repo, ctx.id)
        return OperationResult(check_parameters(result, f"ServiceRequest/{ctx.id}"))
    return OperationResult(
        check_parameters(recognition_check(repo, params.patient, parse_code(params.code)))
    )


def _need_instance(ctx: OperationContext, code: str) -> str:
    if ctx.id is None:
        raise error("CH-2014", f"${code} is invoked on one order: ServiceRequest/[id]/${code}")
    return ctx.id


@dataclass(frozen=True, slots=True)
class DecisionParams:
    result: str | None
    reason: str | None
    note: str | None


def _parse_decision(values: Mapping[str, list[Any]]) -> DecisionParams:
    return DecisionParams(
        one(values, "result", False, _CODE),
        one(values, "reason", False, _CODE),
        one(values, "note", False, _CODE),
    )


def _recognise(params: DecisionParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    order = _need_instance(ctx, "recognise")
    if not params.result:
        raise error(_CODE, "parameter 'result' is required", "result")
    stored = recognise(repo, order, params.result)
    return OperationResult(stored.resource, headers={"ETag": stored.etag})


def _retest(params: DecisionParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    stored = retest(repo, _need_instance(ctx, "retest"), params.reason, params.note)
    return OperationResult(stored.resource, headers={"ETag": stored.etag})


_CHECK_IN = [
    {"name": "patient", "use": "in", "min": 1, "max": "1", "type": "Reference"},
    {"name": "code", "use": "in", "min": 1, "max": "1", "type": "string"},
]
CHECK = register(
    Operation(
        {
            **definition(
                "ServiceRequest",
                "recognition-check",
                "The results from other institutions of the county medical community that "
                "qualify for mutual recognition of an item ordered for a patient now: marked, "
                "within the item's window and readable by the caller.",
                _CHECK_IN,
                instance=False,
                returns="Parameters",
            ),
            "affectsState": False,
        },
        _parse_check,
        _check,
    )
)
CHECK_ORDER = register(
    Operation(
        {
            **definition(
                "ServiceRequest",
                "recognition-check",
                "Run the recognition check for an order and keep what it found on the order.",
                [],
                instance=True,
                returns="Parameters",
            ),
            "id": "ServiceRequest-recognition-check-order",
            "url": "https://countyhealth.example.org/fhir/OperationDefinition/"
            "ServiceRequest-recognition-check-order",
        },
        lambda v: CheckParams("", ""),
        _check,
    )
)
RECOGNISE = register(
    Operation(
        definition(
            "ServiceRequest",
            "recognise",
            "Complete an order by reference to an existing result the recognition check "
            "suggested (DiagnosticReport or Observation).",
            [{"name": "result", "use": "in", "min": 1, "max": "1", "type": "Reference"}],
            instance=True,
            returns="ServiceRequest",
        ),
        _parse_decision,
        _recognise,
    )
)
RETEST = register(
    Operation(
        definition(
            "ServiceRequest",
            "retest",
            "Test again despite a recognisable result, for one of the six national reasons "
            "(国卫医发〔2022〕6号); 'other' needs a note.",
            [
                {"name": "reason", "use": "in", "min": 1, "max": "1", "type": "code"},
                {"name": "note", "use": "in", "min": 0, "max": "1", "type": "string"},
            ],
            instance=True,
            returns="ServiceRequest",
        ),
        _parse_decision,
        _retest,
    )
)
