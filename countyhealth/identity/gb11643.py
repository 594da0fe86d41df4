"""Citizen identity numbers (公民身份号码) as defined by GB 11643-1999.

An 18-character number is a 6-digit address code (the GB/T 2260 county-level administrative
division where the person was first registered), the birth date ``YYYYMMDD``, a 3-digit
sequence number whose last digit is odd for men and even for women, and one check character
computed with ISO 7064 MOD 11-2 over the first 17 digits (``X`` stands for 10).

Numbers issued under the 1989 edition have 15 digits: the address code, a two-digit year
(always 19xx), month, day and the 3-digit sequence, without a check character. They are
upgraded by inserting ``19`` after the address code and appending the check character.

Everything here is a pure function; nothing is looked up (the address code is checked for
shape only, see :func:`parse`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "CHECK_WEIGHTS",
    "IdNumber",
    "InvalidIdNumber",
    "build",
    "check_character",
    "downgrade",
    "is_valid",
    "normalise",
    "parse",
    "upgrade",
]

#: Weights of positions 1–17: W(i) = 2^(18−i) mod 11.
CHECK_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"  # indexed by (Σ aᵢ·Wᵢ) mod 11

Sex = Literal["male", "female"]


class InvalidIdNumber(ValueError):
    """A string that is not a valid identity number; the message says why."""


@dataclass(frozen=True, slots=True)
class IdNumber:
    """The parts of a valid 18-character identity number."""

    number: str
    region: str
    birth_date: date
    sequence: int
    sex: Sex


def check_character(first17: str) -> str:
    """The MOD 11-2 check character (``0``–``9`` or ``X``) of the first 17 digits.

    Raises:
        InvalidIdNumber: when ``first17`` is not exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidIdNumber("the check character needs exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, CHECK_WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse(number: str, *, today: date | None = None) -> IdNumber:
    """Validate an 18-character number and return its parts.

    Checks the shape (17 digits then a digit or ``X``; a lower-case ``x`` is refused here, see
    :func:`normalise`), the address code (six digits, not starting with 0), the birth date
    (a real calendar date, not after ``today`` and not before 1800-01-01) and the check
    character.

    Raises:
        InvalidIdNumber: with the first problem found.
    """
    if len(number) != 18:
        raise InvalidIdNumber(f"an identity number has 18 characters, not {len(number)}")
    body, check = number[:17], number[17]
    if not body.isascii() or not body.isdigit():
        raise InvalidIdNumber("the first 17 characters must be digits")
    if check not in "0123456789X":
        raise InvalidIdNumber("the last character must be a digit or X")
    region = body[:6]
    if region[0] == "0":
        raise InvalidIdNumber(f"{region} is not an administrative division code")
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber(f"{body[6:14]} is not a calendar date") from exc
    if born < date(1800, 1, 1) or born > (today or date.today()):
        raise InvalidIdNumber(f"birth date {born.isoformat()} is out of range")
    expected = check_character(body)
    if check != expected:
        raise InvalidIdNumber(f"check character is {check}, MOD 11-2 gives {expected}")
    sequence = int(body[14:17])
    return IdNumber(number, region, born, sequence, "male" if sequence % 2 else "female")


def is_valid(number: str, *, today: date | None = None) -> bool:
    """Whether ``number`` is a valid 18-character identity number (see :func:`parse`)."""
    try:
        parse(number, today=today)
    except InvalidIdNumber:
        return False
    return True


def upgrade(number15: str) -> str:
    """Turn a 15-digit number of GB 11643-1989 into its 18-character form.

    ``130503670401001`` becomes ``130503196704010016``.

    Raises:
        InvalidIdNumber: when the input is not 15 digits holding a real 19xx date.
    """
    if len(number15) != 15 or not number15.isascii() or not number15.isdigit():
        raise InvalidIdNumber("a legacy identity number has exactly 15 digits")
    try:
        date(1900 + int(number15[6:8]), int(number15[8:10]), int(number15[10:12]))
    except ValueError as exc:
        raise InvalidIdNumber(f"19{number15[6:12]} is not a calendar date") from exc
    body = number15[:6] + "19" + number15[6:]
    return body + check_character(body)


def downgrade(number: str) -> str:
    """The 15-digit legacy form of an 18-character number of someone born in 1900–1999.

    Raises:
        InvalidIdNumber: when the number has no legacy form.
    """
    if len(number) != 18 or number[6:8] != "19":
        raise InvalidIdNumber("only numbers of people born in 19xx have a 15-digit form")
    return number[:6] + number[8:17]


def normalise(number: str) -> str:
    """Canonical 18-character form: trimmed, ``x`` upper-cased, 15-digit numbers upgraded.

    The result is not validated; pass it to :func:`parse` or :func:`is_valid`.
    """
    cleaned = number.strip().replace(" ", "").upper()
    if len(cleaned) == 15 and cleaned.isdigit():
        return upgrade(cleaned)
    return cleaned


def build(region: str, birth_date: date, sequence: int) -> str:
    """Compose a valid 18-character number.

    Args:
        region: six-digit administrative division code.
        birth_date: the date of birth.
        sequence: 0–999; odd for a man, even for a woman.
    """
    if len(region) != 6 or not region.isdigit():
        raise InvalidIdNumber("the address code has six digits")
    if not 0 <= sequence <= 999:
        raise InvalidIdNumber("the sequence number is 0–999")
    body = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return body + check_character(body)
