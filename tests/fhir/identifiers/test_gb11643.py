"""GB 11643-1999 identity numbers: check character, parsing part by part, 15→18 upgrade."""

from __future__ import annotations

from datetime import date

import pytest

from countyhealth.fhir.identifiers.gb11643 import (
    CHECK_WEIGHTS,
    InvalidIdNumber,
    build,
    check_character,
    downgrade,
    is_valid,
    normalise,
    parse,
    parse_any,
    parse_legacy,
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
    ("number", "part", "reason"),
    [
        ("110105194912310021", "check digit", "check digit is 1, but MOD 11-2 .* gives X"),
        ("11010519491231002x", "check digit", "upper-case X"),  # parse refuses lower case
        ("1101051949123100", "length", "18 characters"),
        ("11010519490231002X", "birth date", "19490231 is not a calendar date"),  # 31 February
        ("11010520990101002X", "birth date", "in the future"),
        ("11010517991231002X", "birth date", "before 1800"),
        ("01010519491231002X", "region", "administrative division"),
        ("99010519491231002X", "region", "no province 99"),
        ("81000019491231002X", "region", "residence permit"),
        ("1101A519491231002X", "region", "six digits"),
        ("1101051949123100AX", "sequence", "three digits"),
        ("１１０１０５１９４９１２３１００２X", "region", "six digits"),  # full-width digits
    ],
)
def test_invalid_numbers_name_the_wrong_part(number: str, part: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber, match=reason) as caught:
        parse(number, today=TODAY)
    assert caught.value.part == part
    assert not is_valid(number, today=TODAY)


def test_the_issue_vectors() -> None:
    assert is_valid("11010519491231002X", today=TODAY)
    assert is_valid("513101198201130014", today=TODAY)
    assert upgrade("130503670401001") == "130503196704010016"
    assert parse_any("130503670401001").number == "130503196704010016"


def test_legacy_numbers_are_checked_part_by_part() -> None:
    parsed = parse_legacy("130503670401001")
    assert (parsed.region, parsed.birth_date, parsed.sex) == ("130503", date(1967, 4, 1), "male")
    for number, part in [
        ("130503670231001", "birth date"),
        ("000503670401001", "region"),
        ("13050367040100A", "sequence"),
        ("1305036704010011", "length"),
    ]:
        with pytest.raises(InvalidIdNumber) as caught:
            parse_legacy(number)
        assert caught.value.part == part, number


def test_unknown_province_is_allowed_when_not_asked_for() -> None:
    number = build("990105", date(1949, 12, 31), 2)
    assert parse(number, today=TODAY, known_province=False).region == "990105"
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
