"""Who is calling a platform route: a bearer token, or the web session cookie.

``caller_from_request`` is the one function routes use. A bearer token wins when both are
present (a token cannot be sent by another site, so it needs no CSRF check). With the session
cookie, every unsafe method (anything but GET, HEAD, OPTIONS, TRACE) must also carry the
session's CSRF token — header ``X-CSRF-Token`` (htmx, scripts) or form field ``csrf_token``
(read from the body by :class:`countyhealth.api.csrf.CsrfFormField`) — or it is refused with
403 CH-4008 (OWASP CSRF Prevention Cheat Sheet, synchroniser token pattern).
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from ..config import Settings
from ..errors import error, unauthorized
from ..security.services import AuthServices
from ..security.sessions import WebSession
from ..store import Caller

SESSION_COOKIE = "ch_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
#: Where :class:`~countyhealth.api.csrf.CsrfFormField` leaves the form's CSRF token.
CSRF_FORM_STATE = "csrf_form_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_NO_SESSION = object()


def auth_services(request: Request) -> AuthServices:
    services: AuthServices = request.app.state.auth
    return services


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def session_of(request: Request) -> WebSession | None:
    """The live web session of the request's cookie (looked up once per request)."""
    cached = getattr(request.state, "ch_session", _NO_SESSION)
    if cached is None or isinstance(cached, WebSession):
        return cached
    raw = request.cookies.get(SESSION_COOKIE)
    session = auth_services(request).sessions.resolve(raw) if raw else None
    request.state.ch_session = session
    return session


def check_csrf(request: Request, session: WebSession) -> None:
    """Refuse (403 CH-4008) an unsafe request of ``session`` without its CSRF token."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER) or getattr(request.state, CSRF_FORM_STATE, None)
    if not isinstance(given, str) or not hmac.compare_digest(
        given.encode(), session.csrf_token.encode()
    ):
        raise error(
            "CH-4008",
            f"{request.method} with the session cookie needs the session's CSRF token "
            f"(form field {CSRF_FIELD} or header X-CSRF-Token); reload the page and try again",
        )


def caller_from_request(request: Request) -> Caller:
    """The Caller of a platform request: ``Authorization: Bearer`` or the session cookie.

    Raises:
        OperationOutcomeError: 401 (CH-4001/CH-4002) without valid credentials, 403 (CH-4008)
            for an unsafe cookie-authenticated request without its CSRF token.
    """
    address = client_address(request)
    authorization = request.headers.get("authorization")
    if authorization:
        verifier = request.app.state.verifier
        caller: Caller = verifier.caller(authorization, address)
        return caller
    if SESSION_COOKIE in request.cookies:
        session = session_of(request)
        if session is None:
            raise unauthorized("the session has ended; sign in again at /auth/login")
        check_csrf(request, session)
        return session.caller(address)
    raise unauthorized("sign in at /auth/login, or send Authorization: Bearer <token>")


def require_caller(request: Request) -> Caller:
    """Router dependency: authenticate before the body is read, and keep the Caller.

    FastAPI solves a router's dependencies before it validates the request body, so an
    anonymous request gets 401 rather than a validation error about its body.
    """
    cached = getattr(request.state, "ch_caller", None)
    if isinstance(cached, Caller):
        return cached
    caller = caller_from_request(request)
    request.state.ch_caller = caller
    return caller


def cookie_secure(settings: Settings) -> bool:
    """Whether cookies are Secure: the setting, or by default outside development and test."""
    if settings.session_cookie_secure is not None:
        return settings.session_cookie_secure
    return settings.environment not in ("development", "test")


def set_session_cookie(response: Response, settings: Settings, value: str) -> None:
    # No Max-Age: the cookie ends with the browser; the server ends the session earlier.
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(settings),
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(settings)
    )
