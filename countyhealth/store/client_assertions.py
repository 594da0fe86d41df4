"""Tokens already used, kept until they expire (table ``client_assertion_jti``).

A client assertion may be presented once: the primary key (namespace, token id) refuses a
second insert in any process, so two simultaneous replays cannot both succeed. The namespace
is the client id for SMART client assertions and ``e-health-code`` for single-use e-health
card codes (setting ``health_code_single_use``).
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from .dialect import Engines
from .schema_accounts import client_assertion_jti


class ClientAssertionLedger:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    def use(self, client_id: str, jti: str, expires_us: int, now_us: int) -> bool:
        """Record the assertion ``jti`` of ``client_id``; False when it was used before."""
        try:
            with self.engines.write.begin() as conn:
                conn.execute(
                    delete(client_assertion_jti).where(client_assertion_jti.c.expires_us < now_us)
                )
                conn.execute(
                    client_assertion_jti.insert().values(
                        client_id=client_id, jti=jti, expires_us=expires_us
                    )
                )
        except IntegrityError:
            return False
        return True
