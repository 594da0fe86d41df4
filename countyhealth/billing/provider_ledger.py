"""The simulated payment provider with its ledger in a file (模拟支付台账).

The in-memory :class:`~.provider.SimulatedProvider` forgets everything when the process ends
and is not shared by the server's worker processes, so the demo's daily reconciliation could
not compare the platform's cash with "the provider's statement". This variant keeps every
movement as one JSON line in a file: each call takes an exclusive lock on the file, reads the
ledger, does what the simulated provider does, and appends what moved — so every worker sees
one ledger, a key is honoured across processes and restarts, and :meth:`statement` reads the
file. It is still a simulation: no money moves anywhere.
"""

from __future__ import annotations

import fcntl
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson

from ..config import Settings
from .provider import Receipt, SimulatedProvider


class LedgerSimulatedProvider(SimulatedProvider):
    """:class:`SimulatedProvider` whose movements live in ``path`` (JSON lines)."""

    def __init__(self, path: Path, clock: Callable[[], int] | None = None) -> None:
        super().__init__(clock)
        self.path = path
        self._refund_of: dict[str, str] = {}  # refund transaction → the charge it gives back
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    @contextmanager
    def _ledger(self) -> Iterator[None]:
        with self.path.open("r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._load(handle.read())
                before = len(self.movements)
                yield
                added = self.movements[before:]
                if added:
                    handle.seek(0, os.SEEK_END)
                    handle.write(b"".join(self._line(m) + b"\n" for m in added))
                    handle.flush()
                    os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _load(self, content: bytes) -> None:
        self._by_key.clear()
        self._refunded.clear()
        self._refund_of.clear()
        self.movements.clear()
        for raw in content.splitlines():
            if not raw.strip():
                continue
            data = orjson.loads(raw)
            receipt = Receipt(
                str(data["provider"]),
                str(data["transaction"]),
                Decimal(str(data["amount"])),
                str(data["kind"]),
                str(data["key"]),
                int(data["at_us"]),
            )
            self._record(receipt)
            if receipt.kind == "refund" and data.get("of"):
                of = str(data["of"])
                self._refund_of[receipt.transaction] = of
                self._refunded[of] = self._refunded.get(of, Decimal(0)) + receipt.amount
        self._numbers = itertools.count(len(self.movements) + 1)

    def charge(self, key: str, amount: Decimal, description: str) -> Receipt:
        with self._ledger():
            return super().charge(key, amount, description)

    def refund(self, key: str, transaction: str, amount: Decimal, reason: str) -> Receipt:
        with self._ledger():
            receipt = super().refund(key, transaction, amount, reason)
            self._refund_of[receipt.transaction] = transaction
            return receipt

    def statement(self, day: date) -> tuple[Decimal, Decimal]:
        with self._ledger():
            return super().statement(day)

    def _line(self, receipt: Receipt) -> bytes:
        return orjson.dumps(
            {
                "provider": receipt.provider,
                "transaction": receipt.transaction,
                "amount": str(receipt.amount),
                "kind": receipt.kind,
                "key": receipt.key,
                "at_us": receipt.at_us,
                "of": self._refund_of.get(receipt.transaction),
            }
        )


def payment_provider(
    settings: Settings, clock: Callable[[], int], merchant: str
) -> LedgerSimulatedProvider:
    """The provider through which ``merchant`` (``Organization/id``, the institution holding the
    visit) takes payments: the simulated one, one ledger per institution beside the
    ``payment_ledger_path`` setting, as each hospital has its own merchant account (cheap to
    make: the file holds the state)."""
    base = Path(settings.payment_ledger_path)
    org = merchant.removeprefix("Organization/").replace("/", "_") or "platform"
    return LedgerSimulatedProvider(base.with_name(f"{base.stem}-{org}{base.suffix}"), clock)
