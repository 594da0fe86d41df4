"""HTTP adapter for $operations: GET query or POST body → registered handler."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..errors import error
from ..operations import OperationContext, find
from ..operations.registry import parameters_from_body, parameters_from_query
from ..store import Repository
from .media import fhir_response, pretty


def dispatch_operation(
    request: Request, repo: Repository, rtype: str | None, rid: str | None, code: str, body: Any
) -> Response:
    """Run operation ``code`` at system, type or instance level."""
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
    result = operation.handler(operation.parse(values), repo, ctx)
    return fhir_response(result.resource, result.status, result.headers, indent=pretty(request))
