"""One-time codes: six digits, stored hashed, single use, a few attempts, minutes of life."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.security.otp import normalise_phone
from countyhealth.security.services import AuthServices

PHONE = "13812345678"


def test_a_code_is_used_once_and_stored_hashed(services: AuthServices) -> None:
    sent = services.codes.issue(PHONE)
    assert len(sent.code) == 6 and sent.code.isdigit()
    row = services.accounts.codes.get(PHONE)
    assert row is not None and sent.code not in row.code_hash and len(row.code_hash) == 64
    assert services.codes.verify(PHONE, sent.code)
    assert not services.codes.verify(PHONE, sent.code)


def test_three_wrong_guesses_void_the_code(services: AuthServices) -> None:
    sent = services.codes.issue(PHONE)
    wrong = f"{(int(sent.code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        assert not services.codes.verify(PHONE, wrong)
    assert not services.codes.verify(PHONE, sent.code)
    again = services.codes.issue(PHONE)  # a new code has its own attempts
    assert services.codes.verify(PHONE, again.code)


def test_a_code_expires_after_five_minutes(services: AuthServices) -> None:
    sent = services.codes.issue(PHONE)
    services.clock.advance(299)
    fresh = services.codes.issue("13912345678")
    services.clock.advance(2)
    assert not services.codes.verify(PHONE, sent.code)
    assert services.codes.verify("13912345678", fresh.code)


def test_asking_for_codes_is_limited_per_phone(services: AuthServices) -> None:
    for _ in range(5):
        services.login.send_code(PHONE)
    with pytest.raises(OperationOutcomeError) as caught:
        services.login.send_code(PHONE)
    assert caught.value.status == 429
    services.login.send_code("13912345678")


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
    ],
)
def test_phone_numbers_are_normalised(text: str, phone: str) -> None:
    assert normalise_phone(text) == phone


@pytest.mark.parametrize("text", ["", "12345", "23812345678", "1381234567x", "138123456789"])
def test_other_numbers_are_refused(text: str) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        normalise_phone(text)
    assert caught.value.status == 400
