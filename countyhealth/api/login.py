"""Sign-in pages and routes: staff password, resident phone + one-time code, sign-out, "me".

Form posts answer pages: success redirects (303) to ``next``; a failure shows the page again
with a readable message and the outcome's status (401, 403, 429…). A client that asks for JSON
(``Accept: application/json``) gets JSON instead: "me" on success, an OperationOutcome on
failure. The sign-in forms carry a CSRF token of their own (double-submit cookie
``ch_login_csrf``), so another site cannot sign a browser in to an account of its choosing
(login CSRF, OWASP CSRF Prevention Cheat Sheet).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..errors import OperationOutcomeError, error, unauthorized
from ..security.demo import read_demo_file
from ..security.masking import mask_phone
from ..security.roles import roles
from ..security.sessions import WebSession
from ..store import Caller
from ..web.i18n import LANGUAGE_COOKIE, messages, negotiate
from .media import outcome_response
from .principal import (
    CSRF_FIELD,
    SESSION_COOKIE,
    auth_services,
    caller_from_request,
    check_csrf,
    clear_session_cookie,
    client_address,
    cookie_secure,
    session_of,
    set_session_cookie,
)

log = logging.getLogger("countyhealth.auth")

router = APIRouter(prefix="/auth", tags=["auth"])

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
LOGIN_CSRF_COOKIE = "ch_login_csrf"
AFTER_LOGIN = "/app"
_MAX_FIELD = 2048


def build_templates() -> Environment:
    """The Jinja2 environment of the sign-in pages (autoescaped)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def form_body(*fields: str) -> dict[str, Any]:
    """OpenAPI description of a form body (the routes read it themselves)."""
    schema = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in fields},
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


# ---------------------------------------------------------------------- helpers


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


def safe_next(value: str | None, default: str = "") -> str:
    """A local path to go to next (after signing in…); anything else becomes ``default``."""
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and len(value) <= 500
        and value.isprintable()
    ):
        return value
    return default or AFTER_LOGIN


def _login_token(request: Request) -> str:
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if 20 <= len(current) <= 64 and current.replace("-", "").replace("_", "").isalnum():
        return current
    return secrets.token_urlsafe(32)


def _check_login_csrf(request: Request, fields: dict[str, str]) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    given = fields.get(CSRF_FIELD) or request.headers.get("x-csrf-token", "")
    if not cookie or not given or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise error(
            "CH-4008",
            "the sign-in form has expired or came from another site; reload the page and try "
            "again (表单已过期，请刷新页面后重试)",
        )


async def _read_form(request: Request) -> dict[str, str]:
    """The first value of each text field of a form body (files are refused)."""
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception as exc:  # malformed multipart, too many fields, a file…
        raise error("CH-1006", "the form could not be read (表单无法解析)") from exc
    try:
        out: dict[str, str] = {}
        for key, value in form.multi_items():
            if "\x00" in key or (isinstance(value, str) and "\x00" in value):
                raise error(
                    "CH-1006", "a form field contains the character U+0000 (表单含非法字符)"
                )
            if isinstance(value, str) and key not in out:
                out[key] = value[:_MAX_FIELD]
        return out
    finally:
        await form.close()


def _render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    env: Environment = request.app.state.auth_templates
    token = _login_token(request)
    text = messages(
        negotiate(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
    )
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = env.get_template(template).render(
        csrf_token=token,
        _=text,
        lang=text.language,
        html_lang=text.html_lang,
        here=here if request.method == "GET" else "/auth/login",
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request.app.state.settings),
        path="/auth",
    )
    return response


def _login_page(
    request: Request,
    *,
    session: WebSession | None = None,
    next_url: str = AFTER_LOGIN,
    failure: OperationOutcomeError | None = None,
    username: str = "",
    phone: str = "",
) -> HTMLResponse:
    all_roles = roles()
    session_roles = (
        [all_roles[c] for c in session.account.roles if c in all_roles] if session else []
    )
    return _render(
        request,
        "auth/login.html",
        status=failure.status if failure else 200,
        headers=dict(failure.headers) if failure else None,
        session=session,
        roles=session_roles,
        next_url=next_url,
        username=username,
        phone=phone,
        message=failure.issues[0].diagnostics if failure else None,
        message_kind="error",
        code=failure.code if failure else None,
        demo_accounts=read_demo_file(request.app.state.settings),
    )


def _me(caller: Caller, session: WebSession | None) -> dict[str, Any]:
    me: dict[str, Any] = {
        "kind": caller.kind,
        "id": caller.id,
        "display": caller.display,
        "roles": list(caller.roles),
        "organization": caller.organization,
        "access": caller.access,
        "actors": list(caller.actors),
        "patients": list(caller.patients),
        "privileges": list(caller.privileges),
        "scope": caller.scopes.text(),
        "channel": caller.channel,
    }
    if session is not None:
        me["csrf_token"] = session.csrf_token
        me["session_expires_us"] = session.expires_us
    return me


def _signed_in(request: Request, session_id: str, session: WebSession, next_url: str) -> Response:
    settings = request.app.state.settings
    response: Response
    if wants_json(request):
        response = JSONResponse(_me(session.caller(client_address(request)), session))
    else:
        response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, settings, session_id)
    return response


async def _start_session(request: Request, signed_in: Any) -> tuple[str, WebSession]:
    services = auth_services(request)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await run_in_threadpool(services.sessions.end, previous)
    return await run_in_threadpool(services.sessions.start, signed_in)


# ---------------------------------------------------------------------- routes


@router.get(
    "/login",
    response_class=HTMLResponse,
    summary="Sign-in page: staff user name and password, resident phone",
)
def login_page(request: Request, next_url: str | None = Query(None, alias="next")) -> Response:
    return _login_page(request, session=session_of(request), next_url=safe_next(next_url))


@router.get("/style.css", include_in_schema=False)
def stylesheet() -> Response:
    css = (TEMPLATES / "auth" / "style.css").read_text("utf-8")
    return Response(css, media_type="text/css")


@router.post(
    "/login",
    summary="Staff sign-in with user name, password and (if enrolled) a TOTP code",
    response_class=HTMLResponse,
    openapi_extra=form_body("username", "password", "totp", "csrf_token", "next"),
)
async def login(request: Request) -> Response:
    fields: dict[str, str] = {}
    try:
        fields = await _read_form(request)
        _check_login_csrf(request, fields)
        services = auth_services(request)
        signed_in = await run_in_threadpool(
            services.login.password_login,
            fields.get("username", ""),
            fields.get("password", ""),
            fields.get("totp", ""),
            client_address(request),
        )
        session_id, session = await _start_session(request, signed_in)
    except OperationOutcomeError as exc:
        if wants_json(request):
            return outcome_response(exc)
        return _login_page(
            request,
            next_url=safe_next(fields.get("next")),
            failure=exc,
            username=fields.get("username", "")[:100],
        )
    log.info("signed in: %s (%s)", session.account.username, ",".join(session.account.roles))
    return _signed_in(request, session_id, session, safe_next(fields.get("next")))


@router.post(
    "/otp",
    summary="Resident sign-in, step 1: send a one-time code to a phone",
    response_class=HTMLResponse,
    openapi_extra=form_body("phone", "csrf_token", "next"),
)
async def send_code(request: Request) -> Response:
    services = auth_services(request)
    fields: dict[str, str] = {}
    try:
        fields = await _read_form(request)
        _check_login_csrf(request, fields)
        sent = await run_in_threadpool(services.login.send_code, fields.get("phone", ""))
    except OperationOutcomeError as exc:
        if wants_json(request):
            return outcome_response(exc)
        return _login_page(
            request,
            next_url=safe_next(fields.get("next")),
            failure=exc,
            phone=fields.get("phone", "")[:20],
        )
    demo_code = sent.code if services.shows_codes else None
    if demo_code is None:
        # No SMS gateway is part of the platform yet: outside development and test the code
        # is never shown, so residents cannot sign in this way until one is configured.
        log.warning("one-time code for %s not delivered: no SMS gateway", mask_phone(sent.phone))
    ttl = services.settings.otp_ttl_seconds
    if wants_json(request):
        body: dict[str, Any] = {"phone": mask_phone(sent.phone), "expires_in": ttl}
        if demo_code is not None:
            body["demo_code"] = demo_code
            body["demo_note"] = "演示用 / demo only"
        return JSONResponse(body)
    return _render(
        request,
        "auth/otp.html",
        phone=sent.phone,
        masked_phone=mask_phone(sent.phone),
        minutes=max(1, ttl // 60),
        demo_code=demo_code,
        next_url=safe_next(fields.get("next")),
    )


@router.post(
    "/otp/verify",
    summary="Resident sign-in, step 2: check the one-time code and start a session",
    response_class=HTMLResponse,
    openapi_extra=form_body("phone", "code", "csrf_token", "next"),
)
async def verify_code(request: Request) -> Response:
    services = auth_services(request)
    fields: dict[str, str] = {}
    try:
        fields = await _read_form(request)
        _check_login_csrf(request, fields)
        signed_in = await run_in_threadpool(
            services.login.code_login,
            fields.get("phone", ""),
            fields.get("code", ""),
            client_address(request),
        )
        session_id, session = await _start_session(request, signed_in)
    except OperationOutcomeError as exc:
        if wants_json(request):
            return outcome_response(exc)
        phone = fields.get("phone", "")[:20]
        if exc.code in ("CH-4006",) and phone:
            return _render(
                request,
                "auth/otp.html",
                status=exc.status,
                headers=dict(exc.headers),
                phone=phone,
                masked_phone=mask_phone(phone),
                minutes=max(1, services.settings.otp_ttl_seconds // 60),
                demo_code=None,
                next_url=safe_next(fields.get("next")),
                message=exc.issues[0].diagnostics,
                message_kind="error",
                code=exc.code,
            )
        return _login_page(
            request, next_url=safe_next(fields.get("next")), failure=exc, phone=phone
        )
    log.info("resident signed in: %s", session.account.username)
    return _signed_in(request, session_id, session, safe_next(fields.get("next")))


@router.post(
    "/logout",
    summary="End the web session (needs its CSRF token)",
    response_class=HTMLResponse,
    openapi_extra=form_body("csrf_token"),
)
def logout(request: Request) -> Response:
    services = auth_services(request)
    try:
        session = session_of(request)
        if session is None:
            raise unauthorized("there is no session to end")
        check_csrf(request, session)
    except OperationOutcomeError as exc:
        if wants_json(request):
            return outcome_response(exc)
        return _login_page(request, failure=exc)
    services.sessions.end(request.cookies.get(SESSION_COOKIE))
    response: Response
    if wants_json(request):
        response = JSONResponse({"signed_out": True})
    else:
        response = RedirectResponse("/auth/login", status_code=303)
    clear_session_cookie(response, services.settings)
    return response


@router.get("/me", summary="Who am I: the caller of this request (session or bearer token)")
def me(request: Request) -> dict[str, Any]:
    caller = caller_from_request(request)
    session = None if request.headers.get("authorization") else session_of(request)
    return _me(caller, session)
