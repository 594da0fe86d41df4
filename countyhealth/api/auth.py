"""Bearer tokens: the platform signs JWTs for its clients and checks them on every request.

Tokens are HS256 JWTs with ``iss`` (settings.token_issuer), ``sub`` (client id or user name),
``kind`` (client/user/system), ``scope`` (SMART scopes), ``iat``/``exp`` and a ``jti``, and
optionally what the Repository needs to know of the caller: ``org``, ``access``, ``roles``,
``actors``, ``patients``, ``privileges``, ``name``. Verified tokens are cached by their text
until they expire, so the hot read path does not re-verify; a revoked ``jti`` is refused even
from the cache (the revocation list is in memory, refreshed from the database about once a
second, see ``store/revocations.py``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Protocol

import jwt

from ..config import Settings
from ..errors import OperationOutcomeError, unauthorized
from ..security.roles import caller_for
from ..store import Caller, Scopes
from ..store.context import ACCESS_MODES

_ALGORITHM = "HS256"
_KINDS = ("client", "user", "system")


class RevocationCheck(Protocol):
    def is_revoked(self, jti: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: int  # seconds since the epoch
    scope: str


def issue_access_token(
    settings: Settings,
    subject: str,
    scope: str,
    *,
    kind: str = "client",
    lifetime_seconds: int | None = None,
    extra: dict[str, Any] | None = None,
) -> IssuedToken:
    """Sign an access token for ``subject`` with ``scope``; returns it with its jti and expiry."""
    Scopes.parse(scope)  # refuse malformed scopes at issue time
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.token_issuer,
        "sub": subject,
        "kind": kind,
        "scope": scope,
        "iat": now,
        "exp": now + (lifetime_seconds or settings.token_lifetime_seconds),
        "jti": str(uuid.uuid4()),
    }
    if extra:
        claims.update(extra)
    token = jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM)
    return IssuedToken(token, str(claims["jti"]), int(claims["exp"]), scope)


def issue_token(
    settings: Settings,
    subject: str,
    scope: str,
    *,
    kind: str = "client",
    lifetime_seconds: int | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Sign an access token for ``subject`` with ``scope``."""
    return issue_access_token(
        settings, subject, scope, kind=kind, lifetime_seconds=lifetime_seconds, extra=extra
    ).token


def token_claims(settings: Settings, token: str) -> dict[str, Any] | None:
    """The claims of a token this platform signed, expired or not; None when it is not one
    (for revocation, RFC 7009: an unknown token is not an error)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[_ALGORITHM],
            issuer=settings.token_issuer,
            options={"verify_exp": False, "require": ["exp", "sub", "iss"]},
        )
    except jwt.PyJWTError:
        return None
    return claims


class TokenVerifier:
    """Checks bearer tokens and turns them into a :class:`Caller`; caches what it verified."""

    def __init__(
        self,
        settings: Settings,
        cache_size: int = 10_000,
        revocations: RevocationCheck | None = None,
    ) -> None:
        self._settings = settings
        self._cache: OrderedDict[str, tuple[Caller, float, str]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._revocations = revocations

    def caller(self, authorization: str | None, network_address: str | None) -> Caller:
        """The caller of a request from its Authorization header; raises 401 outcomes."""
        if not authorization:
            raise unauthorized("this endpoint needs an Authorization: Bearer token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("use the Bearer scheme: Authorization: Bearer <token>")
        token = token.strip()
        now = time.time()
        with self._lock:
            hit = self._cache.get(token)
        if hit is not None and hit[1] > now:
            caller, _, jti = hit
        else:
            caller, expires, jti = self._verify(token)
            with self._lock:
                self._cache[token] = (caller, expires, jti)
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        if self._revocations is not None and jti and self._revocations.is_revoked(jti):
            raise unauthorized("the token has been revoked", "CH-4002")
        if network_address and caller.network_address != network_address:
            caller = _with_address(caller, network_address)
        return caller

    def _verify(self, token: str) -> tuple[Caller, float, str]:
        try:
            claims = jwt.decode(
                token,
                self._settings.secret_key,
                algorithms=[_ALGORITHM],
                issuer=self._settings.token_issuer,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("the token has expired", "CH-4002") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized(f"the token is not valid: {exc}", "CH-4002") from exc
        try:
            caller = caller_from_claims(claims)
        except OperationOutcomeError as exc:
            raise unauthorized(exc.issues[0].diagnostics, "CH-4002") from exc
        return caller, float(claims["exp"]), str(claims.get("jti") or "")


def caller_from_claims(claims: dict[str, Any]) -> Caller:
    """The Caller a verified token stands for.

    ``user`` tokens with roles get the scopes, reach and privileges of their roles
    (``roles.caller_for``), narrowed to the token's ``scope``; ``access`` and ``privileges``
    claims, when present, replace what the roles give. Other tokens carry their scopes as
    they are; their reach is the ``access`` claim or, without it: ``system`` → all, a
    ``client`` of an organisation → consent, a client without one → all, a user without
    roles → none.

    Raises:
        OperationOutcomeError: for a malformed claim or an unknown role.
    """
    kind = str(claims.get("kind", "client"))
    if kind not in _KINDS:
        raise unauthorized(f"unknown token kind {kind[:20]!r}", "CH-4002")
    subject = str(claims["sub"])
    org = claims.get("org")
    if org is not None and not isinstance(org, str):
        raise unauthorized("the org claim must be a string", "CH-4002")
    name = claims.get("name")
    display = name if isinstance(name, str) else None
    access = claims.get("access")
    if access is not None and access not in ACCESS_MODES:
        raise unauthorized(f"unknown access {str(access)[:20]!r}", "CH-4002")
    roles = _strings(claims, "roles")
    actors = _strings(claims, "actors")
    patients = _strings(claims, "patients")
    if kind == "user" and roles:
        caller = caller_for(
            kind="user",
            id=subject,
            role_codes=roles,
            organization=org,
            actors=actors,
            patients=patients,
            display=display,
            scope=str(claims["scope"]) if "scope" in claims else None,
        )
        if access is not None:
            caller = replace(caller, access=access)
        if "privileges" in claims:
            caller = replace(caller, privileges=_strings(claims, "privileges"))
        return caller
    default = {"system": "all", "client": "consent" if org else "all"}.get(kind, "none")
    return Caller(
        kind=kind,
        id=subject,
        scopes=Scopes.parse(str(claims.get("scope", ""))),
        roles=roles,
        organization=org,
        display=display,
        access=access or default,
        actors=actors,
        patients=patients,
        privileges=_strings(claims, "privileges"),
    )


def _strings(claims: dict[str, Any], name: str) -> tuple[str, ...]:
    value = claims.get(name, ())
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise unauthorized(f"the {name} claim must be a list of strings", "CH-4002")
    return tuple(value)


def _with_address(caller: Caller, address: str) -> Caller:
    return replace(caller, network_address=address)
