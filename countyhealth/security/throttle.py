"""Throttling of failed sign-ins: after too many failures of a key within a window, further
attempts are refused with 429 (CH-4007) until enough failures have left the window.

Keys name what is being guessed at and from where — ``user:<name>``, ``phone:<number>``,
``client:<id>``, ``ip:<address>`` — so both guessing one account from many places and many
accounts from one place are slowed down. Failures are rows in the database, so the limit holds
across every server process. Refused attempts are not counted: a locked key opens again when
the window has passed, however often it was tried meanwhile (OWASP Authentication Cheat Sheet,
"Account lockout").
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import Settings
from ..errors import OperationOutcomeError, error
from ..store.login_failures import FailureRows
from .timesource import TimeSource

#: How often (µs) a process deletes failure rows that have left every window.
_PURGE_EVERY_US = 600_000_000


class Throttle:
    def __init__(
        self,
        rows: FailureRows,
        clock: TimeSource,
        max_failures: int,
        window_seconds: int,
    ) -> None:
        self.rows = rows
        self.clock = clock
        self.max_failures = max_failures
        self.window_us = window_seconds * 1_000_000
        self._last_purge_us = 0

    @classmethod
    def from_settings(cls, rows: FailureRows, clock: TimeSource, settings: Settings) -> Throttle:
        return cls(rows, clock, settings.login_max_failures, settings.login_window_seconds)

    def wait_seconds(self, keys: Sequence[str]) -> int:
        """Seconds until every key in ``keys`` may be tried again (0: now)."""
        now = self.clock.now_us()
        wait_us = 0
        for times in self.rows.since(keys, now - self.window_us).values():
            if len(times) >= self.max_failures:
                # The key opens when the failure that keeps the count at the limit leaves.
                opens = times[len(times) - self.max_failures] + self.window_us
                wait_us = max(wait_us, opens - now)
        return -(-wait_us // 1_000_000) if wait_us > 0 else 0

    def check(self, keys: Sequence[str]) -> None:
        """Raise 429 (CH-4007, with Retry-After) when one of ``keys`` is locked."""
        wait = self.wait_seconds(keys)
        if wait:
            raise throttled(wait)

    def failed(self, keys: Sequence[str]) -> None:
        now = self.clock.now_us()
        self.rows.record(keys, now)
        if now - self._last_purge_us > _PURGE_EVERY_US:
            self._last_purge_us = now
            self.rows.purge(now - self.window_us)

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key`` (the account's, never the address's)."""
        self.rows.clear(key)


def throttled(wait_seconds: int) -> OperationOutcomeError:
    minutes = max(1, -(-wait_seconds // 60))
    exc = error(
        "CH-4007",
        f"too many failed attempts; try again in {minutes} minute(s) "
        f"(尝试次数过多，请 {minutes} 分钟后再试)",
    )
    exc.headers["Retry-After"] = str(wait_seconds)
    return exc
