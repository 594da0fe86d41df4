"""OAuth2 client credentials (RFC 6749 §4.4) for systems that call the API.

A client authenticates with its secret (``client_secret_basic`` or ``client_secret_post``,
RFC 6749 §2.3.1) or, as SMART Backend Services require, with a signed JWT
(``private_key_jwt``, RFC 7523; https://hl7.org/fhir/smart-app-launch/backend-services.html):
RS384 or ES384, ``kid`` of a key in the client's registered JWK Set, ``iss`` = ``sub`` = the
client id, ``aud`` = the token endpoint, ``exp`` at most five minutes ahead and a ``jti`` never
seen before. The granted scope is what the client asks for narrowed to what it is registered
for. Failures are :class:`OAuthError`, which the token endpoint answers in the RFC 6749 §5.2
shape rather than as an OperationOutcome.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt

from ..config import Settings
from ..errors import OperationOutcomeError
from ..store import AccountStore, ApiClient
from .passwords import Passwords
from .roles import narrow
from .throttle import Throttle
from .timesource import TimeSource

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS384", "ES384")
#: SMART Backend Services: ``exp`` "no more than five minutes in the future".
MAX_ASSERTION_SECONDS = 300
#: Tolerated difference between the client's clock and ours.
CLOCK_SKEW_SECONDS = 30


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: ``error`` code, description, HTTP status, and our CH- code."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        code: str = "CH-4010",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.code = code
        self.headers = headers or {}


def invalid_client(description: str, headers: dict[str, str] | None = None) -> OAuthError:
    return OAuthError("invalid_client", description, 401, "CH-4011", headers)


def token_endpoint(settings: Settings) -> str:
    """The public URL of POST /auth/token: the ``aud`` of client assertions."""
    if settings.token_url:
        return settings.token_url
    parts = urlsplit(settings.base_url)
    parent = parts.path.rstrip("/").rsplit("/", 1)[0] if "/" in parts.path else ""
    return urlunsplit((parts.scheme, parts.netloc, f"{parent}/auth/token", "", ""))


@dataclass(frozen=True, slots=True)
class Presented:
    """The client credentials of one token request, as sent."""

    client_id: str | None = None
    secret: str | None = None
    assertion_type: str | None = None
    assertion: str | None = None
    via_header: bool = False  # client_secret_basic


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token for ``client`` may carry."""

    client: ApiClient
    scope: str
    access: str
    organization: str | None = None
    claims: dict[str, str] = field(default_factory=dict)


class ClientAuthenticator:
    def __init__(
        self,
        settings: Settings,
        accounts: AccountStore,
        passwords: Passwords,
        throttle: Throttle,
        clock: TimeSource,
    ) -> None:
        self.settings = settings
        self.accounts = accounts
        self.passwords = passwords
        self.throttle = throttle
        self.clock = clock
        self.audience = token_endpoint(settings)

    def authenticate(self, presented: Presented, address: str | None = None) -> ApiClient:
        """The registered client that ``presented`` proves to be; raises :class:`OAuthError`."""
        uses_secret = presented.secret is not None
        uses_assertion = presented.assertion is not None or presented.assertion_type is not None
        if uses_secret and uses_assertion:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        challenge = {"WWW-Authenticate": 'Basic realm="countyhealth"'}
        if not uses_secret and not uses_assertion:
            raise invalid_client(
                "client authentication is required: client_secret_basic, client_secret_post "
                "or private_key_jwt",
                challenge,
            )
        if uses_assertion:
            client_id = self._assertion_client_id(presented)
        else:
            client_id = presented.client_id or ""
            if not client_id:
                raise OAuthError("invalid_request", "client_id is missing")
        if len(client_id) > 100 or not client_id.isprintable():
            raise invalid_client("unknown client")
        keys = [f"client:{client_id}", *([f"ip:{address}"] if address else [])]
        try:
            self.throttle.check(keys)
        except OperationOutcomeError as exc:
            raise OAuthError(
                "invalid_client", exc.issues[0].diagnostics, 429, "CH-4007", exc.headers
            ) from exc
        client = self.accounts.client(client_id)
        try:
            if uses_assertion:
                self._check_assertion(client, client_id, presented)
            else:
                stored = client.secret_hash if client is not None else None
                if not self.passwords.check(stored, presented.secret or "").ok:
                    raise invalid_client(
                        "unknown client or wrong secret",
                        challenge if presented.via_header else None,
                    )
            if client is None or client.disabled:
                raise invalid_client("unknown or disabled client")
        except OAuthError:
            self.throttle.failed(keys)
            raise
        self.throttle.succeeded(keys[0])
        return client

    # ------------------------------------------------------------------ private_key_jwt

    def _assertion_client_id(self, presented: Presented) -> str:
        if presented.assertion_type != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        if not presented.assertion:
            raise OAuthError("invalid_request", "client_assertion is missing")
        try:
            claims = jwt.decode(presented.assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise invalid_client(f"client_assertion is not a JWT: {exc}") from exc
        iss, sub = claims.get("iss"), claims.get("sub")
        if not isinstance(iss, str) or not iss or iss != sub:
            raise invalid_client("the assertion's iss and sub must both be the client id")
        if presented.client_id is not None and presented.client_id != iss:
            raise invalid_client("client_id differs from the assertion's iss")
        return iss

    def _check_assertion(
        self, client: ApiClient | None, client_id: str, presented: Presented
    ) -> None:
        assertion = presented.assertion or ""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise invalid_client(f"client_assertion is not a JWT: {exc}") from exc
        alg = header.get("alg")
        if alg not in ASSERTION_ALGORITHMS:
            raise invalid_client(
                f"the assertion must be signed with {' or '.join(ASSERTION_ALGORITHMS)}"
            )
        if header.get("typ") not in (None, "JWT"):
            raise invalid_client("the assertion's typ must be JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise invalid_client("the assertion's header must name its key (kid)")
        if client is None or not client.jwks:
            raise invalid_client("unknown client, or no JWK Set registered for it")
        keys = _keys_for(client.jwks, kid, str(alg))
        if not keys:
            raise invalid_client(f"no registered {alg} key has kid {kid[:60]!r}")
        claims = None
        for key in keys:
            try:
                claims = jwt.decode(
                    assertion,
                    key,
                    algorithms=[str(alg)],
                    audience=self.audience,
                    issuer=client_id,
                    leeway=CLOCK_SKEW_SECONDS,
                    options={"require": ["exp", "iss", "sub", "aud", "jti"]},
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise invalid_client(f"the assertion is not valid: {exc}") from exc
        if claims is None:
            raise invalid_client("the assertion's signature does not verify")
        # PyJWT checked exp against the system clock: the same clock here.
        now = time.time()
        exp = float(claims["exp"])
        if exp > now + MAX_ASSERTION_SECONDS + CLOCK_SKEW_SECONDS:
            raise invalid_client("the assertion's exp must be at most five minutes ahead")
        jti = str(claims["jti"])
        if not jti or len(jti) > 200 or not jti.isprintable():
            raise invalid_client("the assertion's jti must be 1 to 200 printable characters")
        keep_until_us = int((exp + CLOCK_SKEW_SECONDS) * 1_000_000)
        if not self.accounts.assertions.use(client_id, jti, keep_until_us, int(now * 1_000_000)):
            raise invalid_client("this assertion was used before (jti replayed)")

    # ------------------------------------------------------------------ scope

    def grant(self, client: ApiClient, asked: str | None) -> Grant:
        """The scope a token for ``client`` gets: ``asked`` narrowed to the registered scope
        (all of it when nothing is asked)."""
        if asked is None or not asked.strip():
            scope = client.scope
        else:
            try:
                scope = narrow(client.scope, asked)
            except OperationOutcomeError as exc:
                raise OAuthError("invalid_scope", exc.issues[0].diagnostics) from exc
            if not scope:
                raise OAuthError(
                    "invalid_scope", "none of the requested scopes is granted to this client"
                )
        access = client.access or ("consent" if client.organization else "all")
        claims = {"access": access}
        if client.organization:
            claims["org"] = client.organization
        return Grant(client, scope, access, client.organization, claims)


def _keys_for(jwks: dict[str, Any], kid: str, alg: str) -> list[Any]:
    """The public keys of ``jwks`` with ``kid`` that can verify ``alg``."""
    out: list[Any] = []
    kty, crv = ("RSA", None) if alg.startswith("RS") else ("EC", "P-384")
    entries = jwks.get("keys") if isinstance(jwks, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kid") != kid or entry.get("kty") != kty:
            continue
        if crv and entry.get("crv") != crv:
            continue
        if entry.get("alg") not in (None, alg):
            continue
        try:
            out.append(jwt.PyJWK(entry, algorithm=alg).key)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
    return out


def load_jwks(text: str) -> dict[str, Any]:
    """Parse and check a JWK Set for registration: every key usable for RS384 or ES384 and
    named by a ``kid``, none with private parts.

    Raises:
        ValueError: with a message saying what is wrong.
    """
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise ValueError('a JWK Set is a JSON object {"keys": [...]} with at least one key')
    for entry in data["keys"]:
        if not isinstance(entry, dict) or not entry.get("kid"):
            raise ValueError("every key needs a kid")
        if "d" in entry:
            raise ValueError(f"key {entry['kid']!r} holds a private key: register the public key")
        alg = "RS384" if entry.get("kty") == "RSA" else "ES384"
        if not _keys_for({"keys": [entry]}, entry["kid"], alg):
            raise ValueError(f"key {entry['kid']!r} is not an RSA or P-384 EC public key")
    return data
