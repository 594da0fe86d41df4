"""HTTP hardening: security headers on every response, and CORS only for configured origins.

The headers follow the OWASP HTTP Headers Cheat Sheet for a server-rendered application that
serves its own scripts and styles from ``/static`` and has no inline script:

* ``Content-Security-Policy``: only the platform's own origin for scripts, styles, fonts and
  fetches; images also as ``data:``/``blob:`` URLs (charts exported as pictures); no plugins
  (``object-src 'none'``), no ``<base>`` elsewhere, forms post only to the platform, and no
  framing (``frame-ancestors 'none'``, with ``X-Frame-Options: DENY`` for old browsers).
* ``X-Content-Type-Options: nosniff``; ``Referrer-Policy: same-origin`` (URLs of FHIR searches
  carry identifiers; ``same-origin`` sends nothing to other sites and, unlike ``no-referrer``,
  keeps the ``Origin`` header of the platform's own form posts for CSRF defences);
  ``Permissions-Policy`` switching off camera, microphone, geolocation, payment and USB;
  ``Cross-Origin-Opener-Policy: same-origin``.
* ``Cache-Control: no-store`` on everything but ``/static``: FHIR, ``/auth`` and ``/api``
  answers carry patient data or credentials and must not stay in browser or proxy caches.
  ``ETag``/``Last-Modified`` are left alone, so conditional reads (304) and ``If-Match``
  keep working; a route that sets its own ``Cache-Control`` keeps it.
* ``Strict-Transport-Security`` only when ``behind_https`` says every client arrives over
  HTTPS (on a plain-HTTP intranet it would lock browsers out).

The middleware is plain ASGI (no ``BaseHTTPMiddleware``): it adds prepared byte pairs to the
response start message and does nothing else, so the read path pays a list copy per response.
A route's own header of the same name wins.

CORS is off unless ``cors_origins`` lists origins: without it no ``Access-Control-*`` header is
ever sent, so browsers do not let other sites' scripts read answers, and a preflight gets the
router's 405. With origins, Starlette's ``CORSMiddleware`` answers for exactly those origins,
without credentials (the API takes bearer tokens, not cookies).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings

#: ``default-src 'self'`` also governs scripts, styles, fonts and fetches (no inline script or
#: style, no ``eval``); the other directives are the ones ``default-src`` does not cover or
#: that need another value.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

#: Path prefixes whose answers may be cached: the platform's own scripts, styles and images.
CACHEABLE_PREFIXES = ("/static/",)

#: Request headers a cross-origin script may send, and response headers it may read.
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Accept",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-None-Exist",
    "Prefer",
)
CORS_EXPOSED_HEADERS = (
    "ETag",
    "Last-Modified",
    "Location",
    "Content-Location",
    "X-Progress",
    "Retry-After",
)
CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The headers every response gets (besides ``Cache-Control``), as raw ASGI pairs."""
    headers = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("permissions-policy", PERMISSIONS_POLICY),
        ("cross-origin-opener-policy", "same-origin"),
    ]
    if settings.behind_https:
        headers.append(("strict-transport-security", f"max-age={settings.hsts_max_age_seconds}"))
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


class SecurityHeaders:
    """Pure ASGI middleware adding :func:`security_headers` and ``Cache-Control: no-store``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = security_headers(settings)
        self.names = frozenset(name for name, _ in self.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = not scope["path"].startswith(CACHEABLE_PREFIXES)
        extra = self.headers
        names = self.names

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
                present = {name for name, _ in raw}  # ASGI header names are lower-case
                if present.isdisjoint(names):
                    raw.extend(extra)
                else:
                    raw.extend(pair for pair in extra if pair[0] not in present)
                if no_store and b"cache-control" not in present:
                    raw.append((b"cache-control", b"no-store"))
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_hardening(app: FastAPI, settings: Settings) -> None:
    """Add CORS (only for ``settings.cors_origins``) and the security headers to ``app``.

    Middleware added later wraps what was added before, so the headers middleware comes last
    and also covers CORS preflight answers.
    """
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=list(CORS_METHODS),
            allow_headers=list(CORS_REQUEST_HEADERS),
            expose_headers=list(CORS_EXPOSED_HEADERS),
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeaders, settings=settings)
