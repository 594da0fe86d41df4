"""The simulated provider's file ledger: shared by processes, kept across restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from countyhealth.billing.provider_ledger import LedgerSimulatedProvider
from countyhealth.errors import OperationOutcomeError
from countyhealth.scheduling.calendar import local_now

NOW_US = int(datetime(2026, 12, 7, 4, 0, tzinfo=UTC).timestamp() * 1_000_000)


def _provider(path: Path) -> LedgerSimulatedProvider:
    return LedgerSimulatedProvider(path, clock=lambda: NOW_US)


def test_two_instances_share_one_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ndjson"
    first, second = _provider(path), _provider(path)
    paid = first.charge("k1", Decimal("12.50"), "visit 1")
    again = second.charge("k1", Decimal("12.50"), "visit 1")  # the key is honoured across them
    assert again == paid
    other = second.charge("k2", Decimal("3.00"), "visit 2")
    assert other.transaction != paid.transaction
    back = first.refund("r1", paid.transaction, Decimal("2.50"), "one item")
    with pytest.raises(OperationOutcomeError) as too_much:
        second.refund("r2", paid.transaction, Decimal("10.01"), "more than is left")
    assert too_much.value.code == "CH-9406"
    day = local_now(NOW_US).date()
    restarted = _provider(path)
    assert restarted.statement(day) == (Decimal("15.50"), Decimal("2.50"))
    assert [m.transaction for m in restarted.movements] == [
        paid.transaction,
        other.transaction,
        back.transaction,
    ]


def test_a_declined_charge_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ndjson"
    provider = _provider(path)
    provider.fail_next = 1
    with pytest.raises(OperationOutcomeError):
        provider.charge("k1", Decimal("1.00"), "x")
    assert path.read_bytes() == b""
