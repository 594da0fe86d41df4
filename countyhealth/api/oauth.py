"""OAuth2 for systems: the token endpoint (client credentials), revocation, SMART discovery.

``POST /auth/token`` follows RFC 6749 §4.4 with the client authentication of SMART Backend
Services (https://hl7.org/fhir/smart-app-launch/backend-services.html); ``POST /auth/revoke``
follows RFC 7009. These endpoints speak OAuth, not FHIR: errors are
``{"error": ..., "error_description": ...}`` (RFC 6749 §5.2), and answers are never cached.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from ..security.clients import (
    ASSERTION_ALGORITHMS,
    OAuthError,
    Presented,
    invalid_client,
    token_endpoint,
)
from .auth import issue_access_token, token_claims
from .login import form_body
from .principal import auth_services, client_address

router = APIRouter(tags=["oauth"])
#: the SMART discovery document lives under /fhir: registered before the /fhir mount
smart_router = APIRouter(tags=["oauth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"
_MAX_BODY = 64 * 1024


def _error(exc: OAuthError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status,
        headers={**_NO_STORE, **exc.headers},
    )


async def _params(request: Request) -> dict[str, str]:
    """The form parameters (RFC 6749 §3.2: form-encoded, each at most once; an empty value
    counts as absent)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != _FORM:
        raise OAuthError("invalid_request", f"send the parameters as {_FORM}")
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise OAuthError("invalid_request", "the request body is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "the form body is not valid UTF-8") from exc
    out: dict[str, str] = {}
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise OAuthError("invalid_request", "a parameter contains the character U+0000")
        if key in out:
            raise OAuthError("invalid_request", f"{key[:40]} is given more than once")
        if value:
            out[key] = value
    return out


def _presented(request: Request, params: dict[str, str]) -> Presented:
    """The client credentials of a request: Basic header, form fields, or an assertion."""
    header = request.headers.get("authorization")
    challenge = {"WWW-Authenticate": 'Basic realm="countyhealth"'}
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise invalid_client("authenticate the client with the Basic scheme", challenge)
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise invalid_client("the Basic credentials are not valid base64", challenge) from exc
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            raise invalid_client("Basic credentials are client_id:client_secret", challenge)
        # RFC 6749 §2.3.1: both are form-encoded before they are joined.
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if "client_secret" in params or "client_assertion" in params:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        if params.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
        return Presented(client_id=client_id, secret=secret, via_header=True)
    return Presented(
        client_id=params.get("client_id"),
        secret=params.get("client_secret"),
        assertion_type=params.get("client_assertion_type"),
        assertion=params.get("client_assertion"),
    )


@router.post(
    "/auth/token",
    summary="OAuth2 token endpoint: client credentials (secret or SMART private_key_jwt)",
    openapi_extra=form_body(
        "grant_type",
        "scope",
        "client_id",
        "client_secret",
        "client_assertion_type",
        "client_assertion",
    ),
)
async def token(request: Request) -> Response:
    services = auth_services(request)
    settings = services.settings
    try:
        params = await _params(request)
        presented = _presented(request, params)
        client = await run_in_threadpool(
            services.clients.authenticate, presented, client_address(request)
        )
        grant_type = params.get("grant_type")
        if grant_type is None:
            raise OAuthError("invalid_request", "grant_type is missing")
        if grant_type != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type", "this server issues tokens for client_credentials only"
            )
        grant = services.clients.grant(client, params.get("scope"))
    except OAuthError as exc:
        return _error(exc)
    lifetime = settings.oauth_token_lifetime_seconds
    issued = issue_access_token(
        settings,
        client.client_id,
        grant.scope,
        kind="client",
        lifetime_seconds=lifetime,
        extra=dict(grant.claims),
    )
    return JSONResponse(
        {
            "access_token": issued.token,
            "token_type": "bearer",
            "expires_in": lifetime,
            "scope": grant.scope,
        },
        headers=_NO_STORE,
    )


@router.post(
    "/auth/revoke",
    summary="OAuth2 token revocation (RFC 7009) by the client the token was issued to",
    openapi_extra=form_body(
        "token",
        "token_type_hint",
        "client_id",
        "client_secret",
        "client_assertion_type",
        "client_assertion",
    ),
)
async def revoke(request: Request) -> Response:
    services = auth_services(request)
    try:
        params = await _params(request)
        presented = _presented(request, params)
        client = await run_in_threadpool(
            services.clients.authenticate, presented, client_address(request)
        )
        text = params.get("token")
        if text is None:
            raise OAuthError("invalid_request", "token is missing")
        claims = token_claims(services.settings, text)
        # RFC 7009 §2.2: a token that is not valid (anymore) needs no revocation.
        if claims is not None:
            if claims.get("kind", "client") != "client" or claims.get("sub") != client.client_id:
                raise OAuthError("unauthorized_client", "this token was not issued to this client")
            jti = claims.get("jti")
            if isinstance(jti, str) and jti:
                try:
                    expires_us = int(float(claims["exp"]) * 1_000_000)
                except (TypeError, ValueError, OverflowError):
                    expires_us = services.clock.now_us() + 86_400_000_000
                await run_in_threadpool(services.accounts.revocations.revoke, jti, expires_us)
    except OAuthError as exc:
        return _error(exc)
    return Response(status_code=200, headers=_NO_STORE)


@smart_router.get(
    "/fhir/.well-known/smart-configuration",
    summary="SMART configuration: how systems obtain tokens (SMART App Launch 2.x §2.1)",
    include_in_schema=False,  # part of the FHIR endpoint, like /fhir/metadata
)
def smart_configuration(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    endpoint = token_endpoint(settings)
    return {
        "token_endpoint": endpoint,
        "revocation_endpoint": endpoint.rsplit("/", 1)[0] + "/revoke",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": ["system/*.rs", "system/*.cruds", "system/*.read", "system/*.*"],
        "capabilities": [
            "client-confidential-asymmetric",
            "client-confidential-symmetric",
            "permission-v1",
            "permission-v2",
        ],
    }
