"""What every FHIR route needs first: the Repository of the request's caller."""

from __future__ import annotations

from starlette.requests import Request

from ..store import Repository, Store
from .auth import TokenVerifier


def repository(request: Request) -> Repository:
    """The Repository for the caller of ``request`` (401 without a valid token)."""
    verifier: TokenVerifier = request.app.state.verifier
    client = request.client.host if request.client else None
    caller = verifier.caller(request.headers.get("authorization"), client)
    store: Store = request.app.state.store
    return store.repository(caller)
