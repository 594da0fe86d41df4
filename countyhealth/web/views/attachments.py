"""Inline attachments of reports for signed-in readers: ``/app/attachments/{type}/{id}/{n}``.

The shared reports viewer links key images and documents held inline (base64 ``data``) here:
the holder — a Media or a DiagnosticReport (``presentedForm[n]``) — is read through the
caller's Repository, so the access rule and the audit apply exactly as on the FHIR read, and
the bytes are answered with their content type. Types outside a short list of safe ones are
sent as a download; the platform's headers (nosniff, CSP) apply to every answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...errors import error
from ...records.attachments import SERVED_INLINE, attachment_of, decode, media_type
from ..routing import PageRoute, repository

router = APIRouter(
    prefix="/app/attachments",
    route_class=PageRoute,
    # a page route: without a session it sends the browser to sign in; errors are pages
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)
_HOLDERS = ("Media", "DiagnosticReport")


@router.get("/{rtype}/{rid}/{index}")
def attachment(request: Request, rtype: str, rid: str, index: int) -> Response:
    if rtype not in _HOLDERS:
        raise error("CH-2004", f"attachments are served from {' or '.join(_HOLDERS)}", "type")
    holder = repository(request).read(rtype, rid[:64]).resource
    found = attachment_of(holder, index)
    content = decode(found.get("data")) if found else None
    if content is None:
        raise error("CH-2001", f"{rtype}/{rid[:64]} holds no inline attachment {index}")
    kind = media_type(found or {})[0]
    headers = {"Cache-Control": "private, no-store"}
    if kind not in SERVED_INLINE:
        kind = "application/octet-stream"
        headers["Content-Disposition"] = "attachment"
    return Response(content, media_type=kind, headers=headers)
