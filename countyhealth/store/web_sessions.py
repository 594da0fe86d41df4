"""Rows of server-side web sessions (``web_session``), read together with their account.

The session policy (lifetimes, when to refresh ``last_seen``) is in
``countyhealth.security.sessions``; this module only stores what it decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, select, update

from .account_rows import UserAccount, user_from_row
from .dialect import Engines
from .schema_accounts import user_account, web_session


@dataclass(frozen=True, slots=True)
class SessionRow:
    id_hash: str
    username: str
    csrf_token: str
    patients: tuple[str, ...]
    created_us: int
    expires_us: int
    last_seen_us: int


class SessionRows:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    def insert(self, row: SessionRow) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(
                web_session.insert().values(
                    id_hash=row.id_hash,
                    username=row.username,
                    csrf_token=row.csrf_token,
                    patients=orjson.dumps(list(row.patients)).decode(),
                    created_us=row.created_us,
                    expires_us=row.expires_us,
                    last_seen_us=row.last_seen_us,
                )
            )

    def get(self, id_hash: str) -> tuple[SessionRow, UserAccount] | None:
        """The session and its account in one query (None when either is gone)."""

        cols = [
            web_session.c.id_hash,
            web_session.c.csrf_token,
            web_session.c.patients,
            web_session.c.created_us,
            web_session.c.expires_us,
            web_session.c.last_seen_us,
            *user_account.c,
        ]
        stmt = (
            select(*cols)
            .select_from(
                web_session.join(user_account, user_account.c.username == web_session.c.username)
            )
            .where(web_session.c.id_hash == id_hash)
        )
        with self.engines.read.connect() as conn:
            row: Any = conn.execute(stmt).first()
        if row is None:
            return None
        session = SessionRow(
            id_hash=row.id_hash,
            username=row.username,
            csrf_token=row.csrf_token,
            patients=tuple(orjson.loads(row.patients)),
            created_us=row.created_us,
            expires_us=row.expires_us,
            last_seen_us=row.last_seen_us,
        )
        return session, user_from_row(row)

    def touch(self, id_hash: str, last_seen_us: int) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(
                update(web_session)
                .where(web_session.c.id_hash == id_hash)
                .values(last_seen_us=last_seen_us)
            )

    def delete(self, id_hash: str) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(delete(web_session).where(web_session.c.id_hash == id_hash))

    def delete_user(self, username: str) -> None:
        """End every session of ``username`` (account disabled, password changed)."""
        with self.engines.write.begin() as conn:
            conn.execute(delete(web_session).where(web_session.c.username == username))

    def purge(self, expired_before_us: int, idle_before_us: int) -> int:
        """Delete sessions past their absolute expiry or idle since ``idle_before_us``."""
        with self.engines.write.begin() as conn:
            result = conn.execute(
                delete(web_session).where(
                    (web_session.c.expires_us < expired_before_us)
                    | (web_session.c.last_seen_us < idle_before_us)
                )
            )
        return int(result.rowcount or 0)
