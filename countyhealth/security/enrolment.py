"""Adding accounts and API clients (``countyhealth users add``, ``clients add``, the demo).

Everything is checked before anything is stored: user names and references have their
shapes, roles exist and suit the kind of account, an account with consent-based access
belongs to an organisation (the same rule the Caller is built with), passwords are long
enough, and a JWK Set holds usable public keys.
"""

from __future__ import annotations

import re
import secrets

from ..config import Settings
from ..errors import bad_request
from ..store import AccountStore, ApiClient, Scopes, UserAccount
from ..store.context import ACCESS_MODES
from .clients import load_jwks
from .passwords import Passwords
from .roles import caller_for, role

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
_ID = r"[A-Za-z0-9\-.]{1,64}"
_ORGANIZATION = re.compile(rf"^Organization/{_ID}$")
_ACTOR = re.compile(rf"^(Practitioner|PractitionerRole)/{_ID}$")
_PATIENT_ID = re.compile(rf"^{_ID}$")


def new_secret() -> str:
    """A random password or client secret (about 128 bits), readable and typeable."""
    return secrets.token_urlsafe(16)


def add_user(
    accounts: AccountStore,
    passwords: Passwords,
    settings: Settings,
    *,
    username: str,
    roles: list[str] | tuple[str, ...],
    organization: str | None = None,
    actors: list[str] | tuple[str, ...] = (),
    display_name: str = "",
    password: str | None = None,
    phone: str | None = None,
    patient_id: str | None = None,
    totp_secret: str | None = None,
) -> UserAccount:
    """Check and store a new account; raises CH-1006 (what is wrong) or 409 (name taken)."""
    if not _NAME.match(username):
        raise bad_request(
            "a user name is 1–100 letters, digits, '.', '_', '@' or '-', starting with a "
            "letter or digit",
            "username",
        )
    if not roles:
        raise bad_request("an account needs at least one role", "role")
    for code in roles:
        if role(code).kind != "user":
            raise bad_request(f"{code} is a role of API clients: use `countyhealth clients add`")
    if organization is not None and not _ORGANIZATION.match(organization):
        raise bad_request("the organisation is a reference like Organization/org-h01", "org")
    for actor in actors:
        if not _ACTOR.match(actor):
            raise bad_request(
                f"{actor[:80]!r}: an actor is Practitioner/<id> or PractitionerRole/<id>", "actor"
            )
    if "resident" in roles and patient_id is None:
        raise bad_request("a resident's account is bound to their Patient id", "patient")
    if patient_id is not None and not _PATIENT_ID.match(patient_id):
        raise bad_request("a Patient id is 1–64 letters, digits, '-' or '.'", "patient")
    if password is not None and len(password) < settings.password_min_length:
        raise bad_request(
            f"a password has at least {settings.password_min_length} characters", "password"
        )
    # The rules of the Caller this account will be (e.g. consent-based access needs an org).
    caller_for(
        kind="user",
        id=username,
        role_codes=tuple(roles),
        organization=organization,
        actors=tuple(actors),
    )
    return accounts.add_user(
        UserAccount(
            username=username,
            display_name=display_name or username,
            roles=tuple(roles),
            organization=organization,
            actors=tuple(actors),
            patient_id=patient_id,
            phone=phone,
            password_hash=passwords.hash(password) if password else None,
            totp_secret=totp_secret,
        )
    )


def add_client(
    accounts: AccountStore,
    passwords: Passwords,
    *,
    client_id: str,
    scope: str,
    organization: str | None = None,
    access: str | None = None,
    secret: str | None = None,
    jwks_text: str | None = None,
) -> ApiClient:
    """Check and register an API client with a secret, a JWK Set, or both."""
    if not _NAME.match(client_id):
        raise bad_request("a client id is 1–100 letters, digits, '.', '_', '@' or '-'", "client_id")
    if not Scopes.parse(scope).grants:
        raise bad_request(
            "the scope names no SMART scope (e.g. 'system/*.rs system/Observation.c')", "scope"
        )
    if organization is not None and not _ORGANIZATION.match(organization):
        raise bad_request("the organisation is a reference like Organization/org-h01", "org")
    if access is not None and access not in ACCESS_MODES:
        raise bad_request(f"access is one of {', '.join(ACCESS_MODES)}", "access")
    if access == "consent" and organization is None:
        raise bad_request("consent-based access needs the client's organisation", "org")
    if secret is None and jwks_text is None:
        raise bad_request("a client needs a secret or a JWK Set (or both)")
    if secret is not None and len(secret) < 16:
        raise bad_request("a client secret has at least 16 characters", "secret")
    jwks = None
    if jwks_text is not None:
        try:
            jwks = load_jwks(jwks_text)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise bad_request(f"the JWK Set is not usable: {exc}", "jwks") from exc
    return accounts.add_client(
        ApiClient(
            client_id=client_id,
            scope=" ".join(scope.split()),
            organization=organization,
            access=access,
            secret_hash=passwords.hash(secret) if secret is not None else None,
            jwks=jwks,
        )
    )
