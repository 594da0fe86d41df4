"""The registry of FHIR $operations.

Each operation is one module: its OperationDefinition as data, a typed parameter object and a
handler ``(params, repo, ctx) -> OperationResult``. One parser reads parameters from a GET query
string or a POST ``Parameters`` body (https://hl7.org/fhir/R4/operations.html). The
CapabilityStatement lists exactly the registered operations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..errors import error
from ..store import Repository


@dataclass(frozen=True, slots=True)
class OperationContext:
    """Where an operation was invoked: type and instance level fill ``type`` / ``id``."""

    type: str | None
    id: str | None
    base_url: str
    #: the request's query parameters (for page links of operations that page)
    query: tuple[tuple[str, str], ...] = ()
    #: the request's ``Prefer`` header (asynchronous operations need ``respond-async``)
    prefer: str = ""


@dataclass(slots=True)
class OperationResult:
    resource: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Operation:
    """A registered operation: definition (data), parameter parser and handler."""

    definition: dict[str, Any]
    parse: Callable[[Mapping[str, list[Any]]], Any]
    handler: Callable[[Any, Repository, OperationContext], OperationResult]
    #: an early refusal that only reads a row or two: the HTTP layer runs it on the event loop
    #: where single-row reads are inline, so that a request bound to fail (a slot someone else
    #: took) is answered without a worker thread. The handler must make the same checks again.
    precheck: Callable[[Any, Repository, OperationContext], None] | None = None

    @property
    def code(self) -> str:
        return str(self.definition["code"])

    def allowed_at(self, ctx: OperationContext) -> bool:
        d = self.definition
        if ctx.id is not None:
            return bool(d.get("instance"))
        if ctx.type is not None:
            return bool(d.get("type"))
        return bool(d.get("system"))

    def applies_to(self, rtype: str | None) -> bool:
        resources = self.definition.get("resource") or []
        return rtype is None or "Resource" in resources or rtype in resources


#: Keyed by OperationDefinition id: one code may have a definition per level or type (the
#: Bulk Data IG defines ``export`` for the system, for Patient and for Group instances).
_REGISTRY: dict[str, Operation] = {}


def register(operation: Operation) -> Operation:
    _REGISTRY[str(operation.definition["id"])] = operation
    return operation


def operations() -> list[Operation]:
    """Every registered operation, by code and definition id."""
    return list(_sorted_operations(len(_REGISTRY)))


@cache
def _sorted_operations(_registered: int) -> tuple[Operation, ...]:
    # keyed by the registry's size, which only grows (modules register when imported)
    from . import (  # noqa: F401  (they register themselves)
        appointment_change,
        billing_ops,
        book,
        break_glass,
        everything,
        export,
        find_slots,
        health_card_ops,
        patient_match,
        patient_merge,
        queue_ops,
        recognition_kpis,
        recognition_ops,
        referral_kpis,
        referral_ops,
        scheduling_kpis,
        validate,
    )

    return tuple(sorted(_REGISTRY.values(), key=lambda op: (op.code, str(op.definition["id"]))))


def find(code: str, ctx: OperationContext | None = None) -> Operation:
    """The operation ``code``; with ``ctx``, the definition of it that applies there."""
    named = [op for op in _sorted_operations(len(_REGISTRY)) if op.code == code]
    if not named:
        raise error("CH-2014", f"${code[:60]} is not an operation of this server")
    if ctx is None:
        return named[0]
    for op in named:
        if op.allowed_at(ctx) and op.applies_to(ctx.type):
            return op
    level = "an instance" if ctx.id else ("a type" if ctx.type else "the system")
    raise error("CH-2014", f"${code} cannot be invoked on {level}")


def parameters_from_body(body: Any) -> dict[str, list[Any]]:
    """Split a ``Parameters`` body into name → values (value[x], resource or parts)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise error("CH-1006", "an operation body must be a Parameters resource", "resourceType")
    out: dict[str, list[Any]] = {}
    for i, param in enumerate(body.get("parameter") or []):
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            raise error("CH-1006", "each parameter needs a name", f"Parameters.parameter[{i}]")
        if "resource" in param:
            value: Any = param["resource"]
        elif "part" in param:
            value = param["part"]
        else:
            value = next((v for k, v in param.items() if k.startswith("value")), None)
        out.setdefault(param["name"], []).append(value)
    return out


def parameters_from_query(
    query: Mapping[str, str], multi: Callable[[str], list[str]]
) -> dict[str, list[Any]]:
    return {k: multi(k) for k in query if k not in ("_format", "_pretty")}
