"""Web sessions: kept on the server, named by a random id in an HttpOnly cookie.

The cookie holds 256 random bits; the table holds only their SHA-256, so reading the table
does not let anyone take over a session. A session ends at sign-out, after
``session_idle_minutes`` without a request, ``session_absolute_hours`` after sign-in, or when
the account is disabled. ``last_seen`` is written at most once a minute, so a busy page does
not turn every request into a write. Each session has its own CSRF token (OWASP CSRF
Prevention Cheat Sheet, synchroniser token pattern).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from ..config import Settings
from ..store import Caller, UserAccount
from ..store.web_sessions import SessionRow, SessionRows
from .login import SignedIn
from .roles import caller_for
from .timesource import TimeSource

_TOUCH_EVERY_US = 60_000_000
_MAX_ID_LENGTH = 128


@dataclass(frozen=True, slots=True)
class WebSession:
    id_hash: str
    account: UserAccount
    csrf_token: str
    patients: tuple[str, ...]
    created_us: int
    expires_us: int

    def caller(self, network_address: str | None) -> Caller:
        """The Caller of this session's account, for the Repository (channel ``web``)."""
        a = self.account
        return caller_for(
            kind="user",
            id=a.username,
            role_codes=a.roles,
            organization=a.organization,
            actors=a.actors,
            patients=self.patients,
            display=a.display_name,
            channel="web",
            network_address=network_address,
        )


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, rows: SessionRows, clock: TimeSource, settings: Settings) -> None:
        self.rows = rows
        self.clock = clock
        self.idle_us = settings.session_idle_minutes * 60_000_000
        self.absolute_us = int(settings.session_absolute_hours * 3600 * 1_000_000)

    def start(self, signed_in: SignedIn) -> tuple[str, WebSession]:
        """A new session (always a new id: no session fixation); returns the cookie value."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock.now_us()
        row = SessionRow(
            id_hash=_hash(session_id),
            username=signed_in.account.username,
            csrf_token=secrets.token_urlsafe(32),
            patients=signed_in.patients,
            created_us=now,
            expires_us=now + self.absolute_us,
            last_seen_us=now,
        )
        self.rows.insert(row)
        if secrets.randbelow(20) == 0:
            self.rows.purge(now, now - self.idle_us)
        return session_id, WebSession(
            row.id_hash,
            signed_in.account,
            row.csrf_token,
            row.patients,
            row.created_us,
            row.expires_us,
        )

    def resolve(self, session_id: str | None) -> WebSession | None:
        """The live session of a cookie value; None when unknown, expired or disabled."""
        if not session_id or len(session_id) > _MAX_ID_LENGTH:
            return None
        id_hash = _hash(session_id)
        found = self.rows.get(id_hash)
        if found is None:
            return None
        row, account = found
        now = self.clock.now_us()
        if account.disabled or row.expires_us <= now or row.last_seen_us + self.idle_us <= now:
            self.rows.delete(id_hash)
            return None
        if now - row.last_seen_us >= _TOUCH_EVERY_US:
            self.rows.touch(id_hash, now)
        return WebSession(
            id_hash, account, row.csrf_token, row.patients, row.created_us, row.expires_us
        )

    def end(self, session_id: str | None) -> None:
        if session_id and len(session_id) <= _MAX_ID_LENGTH:
            self.rows.delete(_hash(session_id))
