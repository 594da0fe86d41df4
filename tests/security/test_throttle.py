"""Throttling: the sixth failure within the window is refused with 429 until it has passed."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.security.throttle import Throttle
from countyhealth.security.timesource import TimeSource
from countyhealth.store import Store


def test_sixth_attempt_is_refused_until_the_window_has_passed(store: Store) -> None:
    clock = TimeSource()
    throttle = Throttle(store.accounts.failures, clock, max_failures=5, window_seconds=900)
    keys = ["user:wang.li", "ip:10.1.2.3"]
    for _ in range(5):
        throttle.check(keys)
        throttle.failed(keys)
    with pytest.raises(OperationOutcomeError) as caught:
        throttle.check(keys)
    assert caught.value.code == "CH-4007" and caught.value.status == 429
    assert 0 < int(caught.value.headers["Retry-After"]) <= 900
    # The address is locked for other accounts too; another account elsewhere is not.
    with pytest.raises(OperationOutcomeError):
        throttle.check(["user:other", "ip:10.1.2.3"])
    throttle.check(["user:other", "ip:10.9.9.9"])
    clock.advance(890)
    with pytest.raises(OperationOutcomeError):
        throttle.check(keys)  # refused attempts did not extend the lock…
    clock.advance(11)
    throttle.check(keys)  # …which ends with the window


def test_success_clears_the_account_but_not_the_address(store: Store) -> None:
    clock = TimeSource()
    throttle = Throttle(store.accounts.failures, clock, max_failures=2, window_seconds=60)
    throttle.failed(["user:a", "ip:1"])
    throttle.succeeded("user:a")
    throttle.failed(["user:a", "ip:1"])
    throttle.check(["user:a"])
    with pytest.raises(OperationOutcomeError):
        throttle.check(["ip:1"])
