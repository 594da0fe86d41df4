"""Rows of user accounts and API clients, and the door to the other sign-in tables.

This module only stores and reads; what a password or a client assertion must satisfy is
decided in ``countyhealth.security``. Secrets arrive here already hashed.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..errors import conflict
from .account_rows import ApiClient, UserAccount, client_from_row, user_from_row
from .card_pins import CardPins
from .client_assertions import ClientAssertionLedger
from .clock import Clock
from .dialect import Engines
from .login_failures import FailureRows
from .otp_codes import CodeRows
from .revocations import RevocationList
from .schema_accounts import api_client, user_account
from .web_sessions import SessionRows

__all__ = ["AccountStore", "ApiClient", "UserAccount"]


class AccountStore:
    """Accounts and clients, and the rows of sessions, failed sign-ins, one-time codes,
    revoked tokens and used client assertions, for one process."""

    def __init__(
        self, engines: Engines, clock: Clock, revocation_refresh_seconds: float = 1.0
    ) -> None:
        self.engines = engines
        self.clock = clock
        self.sessions = SessionRows(engines)
        self.failures = FailureRows(engines)
        self.codes = CodeRows(engines)
        self.card_pins = CardPins(engines)
        self.revocations = RevocationList(engines, clock, revocation_refresh_seconds)
        self.assertions = ClientAssertionLedger(engines)

    # ------------------------------------------------------------------ users

    def add_user(self, user: UserAccount) -> UserAccount:
        """Store a new account; 409 when the user name is taken."""
        created = user.created_us or self.clock.now_us()
        try:
            with self.engines.write.begin() as conn:
                conn.execute(
                    user_account.insert().values(
                        username=user.username,
                        display_name=user.display_name,
                        password_hash=user.password_hash,
                        roles=orjson.dumps(list(user.roles)).decode(),
                        organization=user.organization,
                        actors=orjson.dumps(list(user.actors)).decode(),
                        patient_id=user.patient_id,
                        phone=user.phone,
                        totp_secret=user.totp_secret,
                        disabled=user.disabled,
                        created_us=created,
                    )
                )
        except IntegrityError as exc:
            raise conflict(f"the user name {user.username!r} is taken") from exc
        found = self.user(user.username)
        assert found is not None
        return found

    def user(self, username: str) -> UserAccount | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(user_account).where(user_account.c.username == username)
            ).first()
        return user_from_row(row) if row is not None else None

    def resident_by_phone(self, phone: str) -> UserAccount | None:
        """The resident account (one with a ``patient_id``) signed in with ``phone``."""
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(user_account)
                .where(user_account.c.phone == phone, user_account.c.patient_id.is_not(None))
                .order_by(user_account.c.created_us)
                .limit(1)
            ).first()
        return user_from_row(row) if row is not None else None

    def usernames(self, prefix: str = "") -> list[str]:
        with self.engines.read.connect() as conn:
            stmt = select(user_account.c.username).order_by(user_account.c.username)
            if prefix:
                stmt = stmt.where(user_account.c.username.startswith(prefix, autoescape=True))
            return [r[0] for r in conn.execute(stmt)]

    def users(self, offset: int = 0, limit: int = 50, *, staff: bool = True) -> list[UserAccount]:
        """One page of accounts in user-name order; ``staff`` leaves out residents' accounts
        (those bound to a Patient)."""
        stmt = select(user_account).order_by(user_account.c.username)
        if staff:
            stmt = stmt.where(user_account.c.patient_id.is_(None))
        with self.engines.read.connect() as conn:
            rows = conn.execute(stmt.offset(max(0, offset)).limit(max(0, limit))).all()
        return [user_from_row(r) for r in rows]

    def set_password_hash(self, username: str, password_hash: str) -> None:
        self._update_user(username, password_hash=password_hash)

    def set_totp_secret(self, username: str, secret: str | None) -> None:
        self._update_user(username, totp_secret=secret)

    def set_disabled(self, username: str, disabled: bool) -> None:
        self._update_user(username, disabled=disabled)
        if disabled:
            self.sessions.delete_user(username)

    def _update_user(self, username: str, **values: Any) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(
                update(user_account).where(user_account.c.username == username).values(**values)
            )

    # ------------------------------------------------------------------ API clients

    def add_client(self, client: ApiClient) -> ApiClient:
        """Register a client; 409 when the client id is taken."""
        created = client.created_us or self.clock.now_us()
        try:
            with self.engines.write.begin() as conn:
                conn.execute(
                    api_client.insert().values(
                        client_id=client.client_id,
                        secret_hash=client.secret_hash,
                        jwks=orjson.dumps(client.jwks).decode() if client.jwks else None,
                        scope=client.scope,
                        organization=client.organization,
                        access=client.access,
                        disabled=client.disabled,
                        created_us=created,
                    )
                )
        except IntegrityError as exc:
            raise conflict(f"the client id {client.client_id!r} is taken") from exc
        found = self.client(client.client_id)
        assert found is not None
        return found

    def client(self, client_id: str) -> ApiClient | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(api_client).where(api_client.c.client_id == client_id)
            ).first()
        return client_from_row(row) if row is not None else None

    def set_client_secret_hash(self, client_id: str, secret_hash: str) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(
                update(api_client)
                .where(api_client.c.client_id == client_id)
                .values(secret_hash=secret_hash)
            )
