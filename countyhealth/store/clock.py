"""A per-process clock that never goes backwards, in microseconds since the epoch (UTC)."""

from __future__ import annotations

import threading
import time


class Clock:
    """Strictly increasing timestamps, so that versions written in order sort in order."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_us(self) -> int:
        with self._lock:
            now = time.time_ns() // 1000
            if now <= self._last:
                now = self._last + 1
            self._last = now
            return now
