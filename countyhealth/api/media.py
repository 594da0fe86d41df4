"""FHIR JSON on the wire: content types, ``_format``, ``_pretty``, ``Prefer`` and body limits.

See https://hl7.org/fhir/R4/http.html#mime-type and #ops (Prefer: return=).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..errors import OperationOutcomeError, error

FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "text/json")
_XML_HINTS = ("xml",)
_JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}


def negotiate(request: Request) -> None:
    """Refuse formats other than JSON (``_format`` or an Accept that excludes JSON) with 406."""
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt.strip().lower() not in _JSON_FORMATS:
        raise error("CH-1005", f"_format={fmt[:60]} is not supported; this server speaks JSON")
    accept = request.headers.get("accept")
    if accept:
        kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        if kinds and all(any(h in k for h in _XML_HINTS) or k == "text/turtle" for k in kinds):
            raise error("CH-1005", f"Accept: {accept[:80]} is not supported; ask for {FHIR_JSON}")


def pretty(request: Request) -> bool:
    return request.query_params.get("_pretty", "").lower() == "true"


async def read_json_body(request: Request, limit: int, *, patch: bool = False) -> Any:
    """Read and parse the request body with the size limit and content-type rules."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    allowed = (JSON_PATCH,) if patch else _JSON_TYPES
    if ctype not in allowed:
        what = JSON_PATCH if patch else f"{FHIR_JSON} or application/json"
        raise error(
            "CH-1003", f"Content-Type {ctype or '(none)'} is not accepted here; send {what}"
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise error("CH-1009", "Content-Length is not a number")
        if int(declared) > limit:
            raise error("CH-1004", f"the body has {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise error("CH-1004", f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise error("CH-1001", f"the body is not valid JSON: {exc}") from exc


def fhir_response(
    content: bytes | dict[str, Any] | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    indent: bool = False,
) -> Response:
    """A FHIR JSON response; raw stored bytes are sent as they are unless ``_pretty``."""
    if content is None:
        return Response(status_code=status, headers=headers)
    if isinstance(content, bytes):
        body = (
            orjson.dumps(orjson.loads(content), option=orjson.OPT_INDENT_2) if indent else content
        )
    else:
        body = orjson.dumps(content, option=orjson.OPT_INDENT_2 if indent else 0)
    return Response(
        body, status_code=status, headers=headers, media_type=f"{FHIR_JSON}; charset=utf-8"
    )


def outcome_response(exc: OperationOutcomeError, indent: bool = False) -> Response:
    return fhir_response(exc.to_fhir(), exc.status, dict(exc.headers), indent=indent)


def prefer_return(request: Request) -> str:
    """The ``return`` preference: minimal, representation (default) or OperationOutcome."""
    prefer = request.headers.get("prefer", "")
    for part in prefer.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "return":
            value = value.strip().strip('"')
            if value in ("minimal", "representation", "OperationOutcome"):
                return value
    return "representation"
