"""One error handler: every failure leaves as an OperationOutcome with a CH- code.

Bad input never becomes a 500: framework errors (unknown route, wrong method, unparseable
path) are mapped to their CH- codes here, and anything unexpected is logged and answered
with CH-1000 without leaking internals.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..errors import OperationOutcomeError, error
from .media import outcome_response

log = logging.getLogger("countyhealth.api")

_HTTP_CODES = {404: "CH-1008", 405: "CH-1007", 413: "CH-1004", 415: "CH-1003"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OperationOutcomeError)
    async def _outcome(request: Request, exc: OperationOutcomeError) -> Response:
        return outcome_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "CH-1006")
        detail = f"{request.method} {request.url.path}: {exc.detail}"
        response = outcome_response(error(code, detail))
        if exc.status_code == 405 and exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return outcome_response(error("CH-1006", f"{where}: {first.get('msg', 'invalid')}"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return outcome_response(error("CH-1000", "the server could not complete the request"))
