"""The payment-provider interface through which the patient's cash part moves, and the
simulated provider shipped for the demo and the tests.

A real provider (a bank's POS, WeChat Pay, Alipay, the 医保 mobile payment channel) sits
behind :class:`PaymentProvider`. The settlement calls it inside its unit of work, under the
lock on the patient, with the caller's idempotency key: a provider that honours the key (the
common ``out_trade_no`` contract of Chinese payment channels) never moves money twice for one
key, even when the platform's own record of the first attempt was lost (the process died
between the two). When the platform's unit of work fails after the provider took the money, it
voids the charge (:meth:`PaymentProvider.refund` with a key of its own) before the error goes
back; a charge voided in full frees its key for a fresh attempt.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from ..errors import error
from ..scheduling.calendar import local_now


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the provider answers for one money movement: its transaction id, the amount
    (positive for a charge, positive for a refund too: ``kind`` says the direction) and
    when the money moved (µs since the epoch)."""

    provider: str
    transaction: str
    amount: Decimal
    kind: str  # "charge" or "refund"
    key: str
    at_us: int = 0


class PaymentProvider(Protocol):
    """Moves the patient's cash: ``charge`` takes money, ``refund`` gives part of a charge
    back. Both are idempotent per ``key``; both raise the payment-failed error (CH-9406)
    when the money did not move."""

    name: str

    def charge(self, key: str, amount: Decimal, description: str) -> Receipt: ...

    def refund(self, key: str, transaction: str, amount: Decimal, reason: str) -> Receipt: ...


class SimulatedProvider:
    """A payment provider that moves no real money (模拟支付, for the demo and tests).

    It keeps what it was asked in memory: :attr:`movements` lists every charge and refund it
    made (a replayed key adds nothing). ``fail_next`` makes the next calls fail with CH-9406,
    as a declined card or a timed-out channel would. ``clock`` (µs since the epoch) dates
    each movement for :meth:`statement`; the store's clock in the app.
    """

    name = "simulated"

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self._clock = clock or (lambda: time.time_ns() // 1000)
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._by_key: dict[str, Receipt] = {}
        self._refunded: dict[str, Decimal] = {}
        self.movements: list[Receipt] = []
        self.fail_next = 0

    @property
    def charges(self) -> list[Receipt]:
        """The charges made (money taken from patients)."""
        return [m for m in self.movements if m.kind == "charge"]

    @property
    def refunds(self) -> list[Receipt]:
        """The refunds made (money given back)."""
        return [m for m in self.movements if m.kind == "refund"]

    def charge(self, key: str, amount: Decimal, description: str) -> Receipt:
        _check_amount(amount)
        with self._lock:
            self._maybe_fail("charge")
            known = self._replay(key, "charge", amount)
            if known is not None:
                return known
            receipt = self._receipt(amount, "charge", key)
            self._record(receipt)
            return receipt

    def refund(self, key: str, transaction: str, amount: Decimal, reason: str) -> Receipt:
        _check_amount(amount)
        with self._lock:
            self._maybe_fail("refund")
            known = self._replay(key, "refund", amount)
            if known is not None:
                return known
            original = next(
                (m for m in self.movements if m.transaction == transaction and m.kind == "charge"),
                None,
            )
            if original is None:
                raise error("CH-9406", f"simulated provider: no charge {transaction} to refund")
            left = original.amount - self._refunded.get(transaction, Decimal(0))
            if amount > left:
                raise error(
                    "CH-9406",
                    f"simulated provider: {amount} is more than the {left} left of {transaction}",
                )
            receipt = self._receipt(amount, "refund", key)
            self._refunded[transaction] = self._refunded.get(transaction, Decimal(0)) + amount
            self._record(receipt)
            return receipt

    def statement(self, day: date) -> tuple[Decimal, Decimal]:
        """What moved on the county ``day``: (charges taken, refunds paid), both positive."""
        taken = given = Decimal("0.00")
        for m in self.movements:
            if local_now(m.at_us).date() == day:
                if m.kind == "charge":
                    taken += m.amount
                else:
                    given += m.amount
        return taken, given

    def _receipt(self, amount: Decimal, kind: str, key: str) -> Receipt:
        number = f"SIM-{next(self._numbers):08d}"
        return Receipt(self.name, number, amount, kind, key, self._clock())

    def _maybe_fail(self, what: str) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise error("CH-9406", f"simulated provider: the {what} was declined")

    def _replay(self, key: str, kind: str, amount: Decimal) -> Receipt | None:
        known = self._by_key.get(key)
        if known is None:
            return None
        if known.kind == "charge" and self._refunded.get(known.transaction) == known.amount:
            return None  # the charge under this key was given back in full: charge afresh
        if known.kind != kind or known.amount != amount:
            raise error(
                "CH-9406",
                f"simulated provider: key {key!r} was used for a {known.kind} of {known.amount}",
            )
        return known

    def _record(self, receipt: Receipt) -> None:
        self._by_key[receipt.key] = receipt
        self.movements.append(receipt)


def _check_amount(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise error("CH-9406", f"a payment moves a positive Decimal amount, not {amount!r}")
