"""HTTP adapter for $operations: GET query or POST body → registered handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..errors import error
from ..operations import OperationContext, find
from ..operations.registry import Operation, parameters_from_body, parameters_from_query
from ..store import Repository
from .media import fhir_response, pretty


@dataclass(frozen=True, slots=True)
class OperationCall:
    """An operation found and its parameters read, ready to run."""

    operation: Operation
    params: Any
    ctx: OperationContext


def dispatch_operation(
    request: Request, repo: Repository, rtype: str | None, rid: str | None, code: str, body: Any
) -> Response:
    """Run operation ``code`` at system, type or instance level."""
    return run_operation(request, repo, prepare_operation(request, repo, rtype, rid, code, body))


def run_operation(request: Request, repo: Repository, call: OperationCall) -> Response:
    """Run a prepared operation call (blocking: in a worker thread)."""
    result = call.operation.handler(call.params, repo, call.ctx)
    return fhir_response(result.resource, result.status, result.headers, indent=pretty(request))


def precheck_inline(repo: Repository, call: OperationCall) -> None:
    """Run the operation's early refusal now, where the backend reads single rows inline (see
    :attr:`Operation.precheck`); raises the refusal."""
    if call.operation.precheck is not None and repo.store.engines.reads_inline:
        call.operation.precheck(call.params, repo, call.ctx)


def prepare_operation(
    request: Request, repo: Repository, rtype: str | None, rid: str | None, code: str, body: Any
) -> OperationCall:
    """Find operation ``code`` for the level invoked and read its parameters (no I/O)."""
    if rtype is not None:
        repo.check_type(rtype)
    ctx = OperationContext(
        rtype,
        rid,
        repo.store.settings.base_url,
        tuple(request.query_params.multi_items()),
        prefer=request.headers.get("prefer", ""),
    )
    operation = find(code, ctx)
    if body is None and operation.definition.get("affectsState"):
        raise error("CH-1007", f"${code} changes state: invoke it with POST")
    if body is None:
        values = parameters_from_query(request.query_params, request.query_params.getlist)
    elif isinstance(body, dict) and body.get("resourceType") != "Parameters":
        values = {"resource": [body]}  # a lone resource body (operations.html#request)
    else:
        values = parameters_from_body(body)
    return OperationCall(operation, operation.parse(values), ctx)
