"""Bearer tokens: the platform signs JWTs for its clients and checks them on every request.

Tokens are HS256 JWTs with ``iss`` (settings.token_issuer), ``sub`` (client id or user name),
``kind`` (client/user), ``scope`` (SMART scopes), ``iat``/``exp`` and a ``jti``. Verified
tokens are cached by their text until they expire, so the hot read path does not re-verify.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

import jwt

from ..config import Settings
from ..errors import OperationOutcomeError, unauthorized
from ..store import Caller, Scopes

_ALGORITHM = "HS256"


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
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM)


class TokenVerifier:
    """Checks bearer tokens and turns them into a :class:`Caller`; caches what it verified."""

    def __init__(self, settings: Settings, cache_size: int = 10_000) -> None:
        self._settings = settings
        self._cache: OrderedDict[str, tuple[Caller, float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

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
            caller = hit[0]
        else:
            caller, expires = self._verify(token)
            with self._lock:
                self._cache[token] = (caller, expires)
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        if network_address and caller.network_address != network_address:
            caller = _with_address(caller, network_address)
        return caller

    def _verify(self, token: str) -> tuple[Caller, float]:
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
            scopes = Scopes.parse(str(claims.get("scope", "")))
        except OperationOutcomeError as exc:
            raise unauthorized(exc.issues[0].diagnostics, "CH-4002") from exc
        caller = Caller(
            kind=str(claims.get("kind", "client")),
            id=str(claims["sub"]),
            scopes=scopes,
            roles=tuple(claims.get("roles", ())),
            organization=claims.get("org"),
            display=claims.get("name"),
        )
        return caller, float(claims["exp"])


def _with_address(caller: Caller, address: str) -> Caller:
    return Caller(
        caller.kind,
        caller.id,
        caller.scopes,
        caller.roles,
        caller.organization,
        address,
        caller.channel,
        caller.display,
    )
