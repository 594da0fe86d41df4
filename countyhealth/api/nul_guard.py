"""Refuse requests whose URL or headers carry the character U+0000.

No identifier, search value or header the platform understands can contain U+0000, and
PostgreSQL cannot store or even compare text that holds it: a search value or a form field
with ``%00`` would otherwise reach the database and fail there. The check runs once, before
routing, on the raw path, the raw query string and the header values (raw or
percent-encoded), and answers 400 with CH-1006 (URL) or CH-1009 (header). Bodies are checked
where they are parsed: FHIR resources by the primitive checks of :mod:`countyhealth.fhir.primitives`,
sign-in forms by :mod:`countyhealth.api.login`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import OperationOutcomeError, error
from .media import outcome_response


def _holds_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


def nul_problem(scope: Scope) -> OperationOutcomeError | None:
    """The error for a request that carries U+0000 in its URL or headers, else ``None``."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    if _holds_nul(raw_path) or "\x00" in scope.get("path", ""):
        return error("CH-1006", "the URL path contains the character U+0000 (%00)")
    if _holds_nul(scope.get("query_string", b"")):
        return error("CH-1006", "the query string contains the character U+0000 (%00)")
    for name, value in scope.get("headers", ()):
        if b"\x00" in value or b"\x00" in name:
            shown = name.decode("latin-1").replace("\x00", "\\0")[:40]
            return error("CH-1009", f"header {shown} contains the character U+0000")
    return None


class NulGuard:
    """Pure ASGI middleware answering :func:`nul_problem` requests before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = nul_problem(scope)
            if problem is not None:
                await outcome_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
