"""The static code printed on an e-health card and the keyed digest of its PIN."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.identity.static_code import (
    PREFIX,
    card_of_static_code,
    check_pin_shape,
    looks_like_static_code,
    new_card_id,
    pin_secret,
    static_code,
)

SECRET = "a-secret-of-the-platform-0123456789abcdef"


def test_a_static_code_names_its_card_and_is_authenticated() -> None:
    card = new_card_id()
    assert len(card) == 32 and int(card, 16) >= 0
    code = static_code(SECRET, card)
    assert code.startswith(PREFIX) and looks_like_static_code(code)
    assert static_code(SECRET, card) == code  # printed once, the same every time
    assert card_of_static_code(SECRET, code) == card
    assert card_of_static_code(SECRET, f"  {code} ") == card  # scanners add whitespace


@pytest.mark.parametrize(
    "make",
    [
        lambda code: code[:-1] + ("0" if code[-1] != "0" else "1"),  # tampered tag
        lambda code: code[:10] + ("0" if code[10] != "0" else "1") + code[11:],  # other card
        lambda code: code.upper(),
        lambda code: PREFIX + "not-a-card",
        lambda code: "CHS1.",
    ],
)
def test_made_up_or_altered_static_codes_are_refused(make: object) -> None:
    code = static_code(SECRET, new_card_id())
    with pytest.raises(OperationOutcomeError) as caught:
        card_of_static_code(SECRET, make(code))  # type: ignore[operator]
    assert caught.value.code == "CH-9001"


def test_another_platform_cannot_print_a_code() -> None:
    card = new_card_id()
    with pytest.raises(OperationOutcomeError) as caught:
        card_of_static_code(SECRET, static_code("another-secret-" + "x" * 30, card))
    assert caught.value.code == "CH-9001"


@pytest.mark.parametrize("pin", ["", "12345", "1234567", "12345a", "１２３４５６"])
def test_a_pin_is_six_ascii_digits(pin: str) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        check_pin_shape(pin)
    assert caught.value.code == "CH-9007"
    assert check_pin_shape("012345") == "012345"


def test_the_pin_digest_depends_on_card_and_secret() -> None:
    a, b = new_card_id(), new_card_id()
    assert pin_secret(SECRET, a, "123456") != pin_secret(SECRET, b, "123456")
    assert pin_secret(SECRET, a, "123456") != pin_secret(SECRET + "x", a, "123456")
    assert "123456" not in pin_secret(SECRET, a, "123456")
