"""The clock of sign-in rules (throttling windows, code and session expiry).

Real time by default; tests move it forward with :meth:`TimeSource.advance` instead of sleeping.
"""

from __future__ import annotations

import time


class TimeSource:
    def __init__(self) -> None:
        self._offset_us = 0

    def now_us(self) -> int:
        return time.time_ns() // 1000 + self._offset_us

    def now_seconds(self) -> float:
        return self.now_us() / 1_000_000

    def advance(self, seconds: float) -> None:
        """Move this clock ``seconds`` ahead of real time (tests)."""
        self._offset_us += int(seconds * 1_000_000)
