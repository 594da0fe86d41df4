"""Revoked access tokens (``token_revocation``) and this process's copy of them.

Every request checks its token's ``jti`` against an in-memory set, so revocation costs no
database query per request. The set is refreshed from the table at most once per
``refresh_seconds`` — incrementally, re-reading a minute of overlap so that a revocation
committed late by another process is still picked up — and a token revoked in this process is
added at once. A revoked token therefore fails everywhere within about a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .clock import Clock
from .dialect import Engines
from .schema_accounts import token_revocation

log = logging.getLogger("countyhealth.store")

#: How far back each incremental refresh reaches before the previous one: covers revocations
#: committed out of order and clocks of other processes a little behind this one.
_OVERLAP_US = 60_000_000


class RevocationList:
    def __init__(
        self,
        engines: Engines,
        clock: Clock,
        refresh_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engines = engines
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._revoked: dict[str, int] = {}  # jti → expires_us
        self._read_until_us: int | None = None
        self._next_refresh = 0.0
        self._lock = threading.Lock()

    def revoke(self, jti: str, expires_us: int) -> None:
        """Revoke ``jti`` everywhere (idempotent); effective in this process at once."""
        now = self.clock.now_us()
        try:
            with self.engines.write.begin() as conn:
                conn.execute(
                    token_revocation.insert().values(jti=jti, expires_us=expires_us, revoked_us=now)
                )
        except IntegrityError:
            pass  # revoked before
        with self._lock:  # not lost to a refresh that is replacing the set
            self._revoked[jti] = expires_us

    def is_revoked(self, jti: str) -> bool:
        if self._monotonic() >= self._next_refresh:
            self.refresh()
        return jti in self._revoked

    def refresh(self) -> None:
        """Read revocations made since the last refresh (one thread at a time; the others go
        on with the set as it is)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            now = self.clock.now_us()
            stmt = select(token_revocation.c.jti, token_revocation.c.expires_us).where(
                token_revocation.c.expires_us > now
            )
            if self._read_until_us is not None:
                stmt = stmt.where(
                    token_revocation.c.revoked_us >= self._read_until_us - _OVERLAP_US
                )
            try:
                with self.engines.read.connect() as conn:
                    rows = conn.execute(stmt).all()
            except SQLAlchemyError:
                # Keep serving with the set as it is; the next request tries again.
                log.warning("could not refresh the token revocation list", exc_info=True)
                return
            for jti, expires_us in rows:
                self._revoked[jti] = expires_us
            if self._read_until_us is None or len(self._revoked) > 1000:
                self._revoked = {j: e for j, e in self._revoked.items() if e > now}
            self._read_until_us = now
            self._next_refresh = self._monotonic() + self.refresh_seconds
        finally:
            self._lock.release()

    def purge(self) -> int:
        """Delete rows of tokens that have expired anyway."""
        now = self.clock.now_us()
        with self.engines.write.begin() as conn:
            result = conn.execute(
                delete(token_revocation).where(token_revocation.c.expires_us <= now)
            )
        return int(result.rowcount or 0)
