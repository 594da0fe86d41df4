"""FastAPI dependencies as typed aliases (the only place routes get the store and the caller)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..config import Settings
from ..store import Caller, Repository, Store
from .auth import TokenVerifier


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_caller(request: Request) -> Caller:
    verifier: TokenVerifier = request.app.state.verifier
    client = request.client.host if request.client else None
    return verifier.caller(request.headers.get("authorization"), client)


async def get_repository(request: Request, caller: Annotated[Caller, Depends(get_caller)]) -> Repository:
    return get_store(request).repository(caller)


RepoDep = Annotated[Repository, Depends(get_repository)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CallerDep = Annotated[Caller, Depends(get_caller)]
