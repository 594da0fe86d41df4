"""What an account and an API client look like, and how their rows become them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row


@dataclass(frozen=True, slots=True)
class UserAccount:
    """A person who signs in: staff (user name and password) or a resident (phone)."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    organization: str | None = None
    actors: tuple[str, ...] = ()
    patient_id: str | None = None
    phone: str | None = None
    password_hash: str | None = None
    totp_secret: str | None = None
    disabled: bool = False
    created_us: int = 0


@dataclass(frozen=True, slots=True)
class ApiClient:
    """A system that obtains tokens with OAuth2 client credentials."""

    client_id: str
    scope: str
    organization: str | None = None
    access: str | None = None
    secret_hash: str | None = None
    jwks: dict[str, Any] | None = None
    disabled: bool = False
    created_us: int = 0


def user_from_row(row: Row[Any]) -> UserAccount:
    return UserAccount(
        username=row.username,
        display_name=row.display_name,
        roles=tuple(orjson.loads(row.roles)),
        organization=row.organization,
        actors=tuple(orjson.loads(row.actors)),
        patient_id=row.patient_id,
        phone=row.phone,
        password_hash=row.password_hash,
        totp_secret=row.totp_secret,
        disabled=bool(row.disabled),
        created_us=row.created_us,
    )


def client_from_row(row: Row[Any]) -> ApiClient:
    return ApiClient(
        client_id=row.client_id,
        scope=row.scope,
        organization=row.organization,
        access=row.access,
        secret_hash=row.secret_hash,
        jwks=orjson.loads(row.jwks) if row.jwks else None,
        disabled=bool(row.disabled),
        created_us=row.created_us,
    )
