"""Rows of failed sign-ins (``login_failure``) by key, shared by every process.

The policy — how many failures in which window — is ``countyhealth.security.throttle``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from .dialect import Engines
from .schema_accounts import login_failure


class FailureRows:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    def record(self, keys: Sequence[str], at_us: int) -> None:
        if not keys:
            return
        with self.engines.write.begin() as conn:
            conn.execute(login_failure.insert(), [{"key": k, "at_us": at_us} for k in keys])

    def since(self, keys: Sequence[str], since_us: int) -> dict[str, list[int]]:
        """The failure times of each key at or after ``since_us``, oldest first."""
        out: dict[str, list[int]] = {k: [] for k in keys}
        if not keys:
            return out
        stmt = (
            select(login_failure.c.key, login_failure.c.at_us)
            .where(login_failure.c.key.in_(list(keys)), login_failure.c.at_us >= since_us)
            .order_by(login_failure.c.at_us)
        )
        with self.engines.read.connect() as conn:
            for key, at_us in conn.execute(stmt):
                out[key].append(at_us)
        return out

    def clear(self, key: str) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(delete(login_failure).where(login_failure.c.key == key))

    def purge(self, before_us: int) -> int:
        with self.engines.write.begin() as conn:
            result = conn.execute(delete(login_failure).where(login_failure.c.at_us < before_us))
        return int(result.rowcount or 0)
