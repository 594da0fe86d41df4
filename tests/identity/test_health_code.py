"""The e-health card's dynamic code: opaque, authenticated, short-lived."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.identity.health_code import PREFIX, issue_code, looks_like_code, resolve_code

SECRET = "a-secret-of-the-platform-0123456789abcdef"


def test_a_code_resolves_to_its_holder_within_its_lifetime() -> None:
    code = issue_code(SECRET, "pat-000000055", "E1234567890ABCDEF", now=1_000_000)
    assert code.startswith(PREFIX) and looks_like_code(code)
    assert "pat-000000055" not in code and "E1234567890" not in code  # opaque
    holder = resolve_code(SECRET, code, ttl_seconds=300, now=1_000_299)
    assert holder.patient_id == "pat-000000055"
    assert holder.card_number == "E1234567890ABCDEF"
    assert holder.issued_at == 1_000_000


def test_codes_differ_each_time() -> None:
    assert issue_code(SECRET, "p", None, 1) != issue_code(SECRET, "p", None, 1)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda c: c, "CH-9002"),  # too old
        (lambda c: c[:-6] + "AAAAAA", "CH-9001"),  # tampered
        (lambda c: "CHC1.not-a-token", "CH-9001"),
        (lambda c: "张三", "CH-9001"),
        (lambda c: PREFIX + "é" * 10, "CH-9001"),
    ],
)
def test_bad_codes_are_refused_with_a_reason(make: object, code: str) -> None:
    issued = issue_code(SECRET, "p", None, now=1_000_000)
    with pytest.raises(OperationOutcomeError) as caught:
        resolve_code(SECRET, make(issued), ttl_seconds=300, now=1_000_301)  # type: ignore[operator]
    assert caught.value.code == code


def test_another_platform_cannot_read_the_code() -> None:
    code = issue_code(SECRET, "p", None, now=1_000_000)
    with pytest.raises(OperationOutcomeError) as caught:
        resolve_code("another-secret-" + "x" * 30, code, ttl_seconds=300, now=1_000_001)
    assert caught.value.code == "CH-9001"
