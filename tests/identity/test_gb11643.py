"""GB 11643-1999 identity numbers: check character, parsing, 15→18 upgrade."""

from __future__ import annotations

from datetime import date

import pytest

from countyhealth.identity import (
    CHECK_WEIGHTS,
    InvalidIdNumber,
    build,
    check_character,
    downgrade,
    is_valid,
    normalise,
    parse,
    upgrade,
)

TODAY = date(2026, 1, 1)


def test_weights_are_those_of_the_standard() -> None:
    assert CHECK_WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the example of GB 11643-1999 Annex A
        "513101198201130014",
        "130503196704010016",
    ],
)
def test_valid_numbers(number: str) -> None:
    assert is_valid(number, today=TODAY)
    assert check_character(number[:17]) == number[17]


def test_parse_returns_the_parts() -> None:
    parsed = parse("11010519491231002X", today=TODAY)
    assert parsed.region == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sequence == 2
    assert parsed.sex == "female"
    assert parse("513101198201130014", today=TODAY).sex == "male"


def test_upgrade_from_the_1989_edition() -> None:
    assert upgrade("130503670401001") == "130503196704010016"
    assert downgrade("130503196704010016") == "130503670401001"
    assert normalise(" 130503670401001 ") == "130503196704010016"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check character"),  # last character altered
        ("11010519491231002x", "digit or X"),  # lower case is refused by parse
        ("1101051949123100", "18 characters"),
        ("11010519490231002X", "calendar date"),  # 31 February
        ("11010520990101002X", "out of range"),  # in the future
        ("01010519491231002X", "administrative division"),
        ("1101051949123100AX", "digits"),
        ("１１０１０５１９４９１２３１００２X", "digits"),  # full-width digits
    ],
)
def test_invalid_numbers_say_why(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber, match=reason):
        parse(number, today=TODAY)
    assert not is_valid(number, today=TODAY)


def test_normalise_upper_cases_the_check_character() -> None:
    assert normalise("11010519491231002x") == "11010519491231002X"
    assert is_valid(normalise("11010519491231002x"), today=TODAY)


def test_bad_legacy_numbers() -> None:
    with pytest.raises(InvalidIdNumber):
        upgrade("13050367040100")
    with pytest.raises(InvalidIdNumber):
        upgrade("130503670231001")  # 31 February 1967
    with pytest.raises(InvalidIdNumber):
        downgrade("110105200001010011")


def test_build_round_trips_and_encodes_sex() -> None:
    for seq in (0, 1, 2, 517, 998, 999):
        number = build("339001", date(1988, 2, 29), seq)
        parsed = parse(number, today=TODAY)
        assert parsed.birth_date == date(1988, 2, 29)
        assert parsed.sex == ("male" if seq % 2 else "female")
    with pytest.raises(InvalidIdNumber):
        build("33900", date(1988, 1, 1), 1)
    with pytest.raises(InvalidIdNumber):
        build("339001", date(1988, 1, 1), 1000)


def test_a_single_digit_error_is_always_detected() -> None:
    number = "513101198201130014"
    for pos in range(17):
        for digit in "0123456789":
            if digit == number[pos]:
                continue
            altered = number[:pos] + digit + number[pos + 1 :]
            assert check_character(altered[:17]) != number[17]
