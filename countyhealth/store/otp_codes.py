"""Rows of one-time sign-in codes (``otp_code``): one live code per phone, stored hashed.

Attempts are counted with a conditional UPDATE before the code is compared, so that parallel
guesses — from any number of processes — never get more than the allowed attempts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update

from .dialect import Engines
from .schema_accounts import otp_code


@dataclass(frozen=True, slots=True)
class CodeRow:
    phone: str
    code_hash: str
    created_us: int
    expires_us: int
    attempts: int


class CodeRows:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    def put(self, row: CodeRow) -> None:
        """Store the code of ``row.phone``, replacing any earlier one."""
        with self.engines.write.begin() as conn:
            conn.execute(delete(otp_code).where(otp_code.c.phone == row.phone))
            conn.execute(
                otp_code.insert().values(
                    phone=row.phone,
                    code_hash=row.code_hash,
                    created_us=row.created_us,
                    expires_us=row.expires_us,
                    attempts=row.attempts,
                )
            )

    def get(self, phone: str) -> CodeRow | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(select(otp_code).where(otp_code.c.phone == phone)).first()
        if row is None:
            return None
        return CodeRow(row.phone, row.code_hash, row.created_us, row.expires_us, row.attempts)

    def take_attempt(self, phone: str, code_hash: str, max_attempts: int) -> bool:
        """Count one attempt at the code ``code_hash`` of ``phone``; False when none is left
        (or the code was replaced meanwhile)."""
        with self.engines.write.begin() as conn:
            result = conn.execute(
                update(otp_code)
                .where(
                    otp_code.c.phone == phone,
                    otp_code.c.code_hash == code_hash,
                    otp_code.c.attempts < max_attempts,
                )
                .values(attempts=otp_code.c.attempts + 1)
            )
        return bool(result.rowcount)

    def delete(self, phone: str, code_hash: str | None = None) -> bool:
        """Remove the code of ``phone`` (only if it is still ``code_hash`` when given)."""
        stmt = delete(otp_code).where(otp_code.c.phone == phone)
        if code_hash is not None:
            stmt = stmt.where(otp_code.c.code_hash == code_hash)
        with self.engines.write.begin() as conn:
            result = conn.execute(stmt)
        return bool(result.rowcount)

    def purge(self, before_us: int) -> int:
        with self.engines.write.begin() as conn:
            result = conn.execute(delete(otp_code).where(otp_code.c.expires_us < before_us))
        return int(result.rowcount or 0)
