"""One booking per slot at a time within a process.

When a popular slot opens, many attempts on it arrive together. Only one can win, and the
database serialises writers anyway, so letting every attempt open a write transaction just to
find the slot taken makes all of them queue for the write lock. Instead, attempts on a slot that
another thread of this process is booking wait here, then read the slot again and are refused
without a transaction. Correctness does not depend on this gate: the transaction still checks
the slot's version, and other processes are not gated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_guard = threading.Lock()
#: slot id → (its lock, how many threads hold or wait for it)
_gates: dict[str, tuple[threading.Lock, int]] = {}


@contextmanager
def slot_gate(slot_id: str) -> Iterator[None]:
    """Hold the process-wide gate of ``slot_id`` for the block."""
    with _guard:
        lock, users = _gates.get(slot_id, (None, 0))
        if lock is None:
            lock = threading.Lock()
        _gates[slot_id] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _guard:
            _, users = _gates[slot_id]
            if users == 1:
                del _gates[slot_id]
            else:
                _gates[slot_id] = (lock, users - 1)


def gates_open() -> int:
    """How many slots have a gate now (for tests: none once every booking finished)."""
    with _guard:
        return len(_gates)
