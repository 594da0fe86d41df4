"""Citizen identity numbers (公民身份号码) as defined by GB 11643-1999.

An 18-character number is a 6-digit address code (the GB/T 2260 county-level administrative
division where the person was first registered; "region" below), the birth date ``YYYYMMDD``,
a 3-digit sequence number whose last digit is odd for men and even for women, and one check
character computed with ISO 7064 MOD 11-2 over the first 17 digits (``X`` stands for 10).

Numbers issued under the 1989 edition have 15 digits: the address code, a two-digit year
(always 19xx), month, day and the 3-digit sequence, without a check character. They are
upgraded by inserting ``19`` after the address code and appending the check character.

Everything here is a pure function. The region is checked for shape and for a GB/T 2260
province prefix (``data/regions.json``); county-level codes are not looked up, because a number
keeps the code of a county that may since have been abolished. Errors are
:class:`InvalidIdNumber` whose ``part`` names what is wrong: ``length``, ``region``,
``birth date``, ``sequence`` or ``check digit``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import orjson

from .invalid import InvalidIdentifier

__all__ = [
    "CHECK_WEIGHTS",
    "IdNumber",
    "InvalidIdNumber",
    "build",
    "check_any",
    "check_character",
    "china_today",
    "downgrade",
    "is_valid",
    "normalise",
    "parse",
    "parse_any",
    "parse_legacy",
    "provinces",
    "residence_permit_regions",
    "upgrade",
]

#: Weights of positions 1–17: W(i) = 2^(18−i) mod 11.
CHECK_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"  # indexed by (Σ aᵢ·Wᵢ) mod 11
#: Per position, digit character → aᵢ·Wᵢ: the sum is then one ``map`` (it runs on every write).
_WEIGHTED: tuple[dict[str, int], ...] = tuple(
    {str(d): d * w for d in range(10)} for w in CHECK_WEIGHTS
)
_EARLIEST = date(1800, 1, 1)
_EPOCH = date(1970, 1, 1)
_CHINA = timedelta(hours=8)
_DATA = Path(__file__).resolve().parent / "data" / "regions.json"

Sex = Literal["male", "female"]


class InvalidIdNumber(InvalidIdentifier):
    """A string that is not a valid identity number; the message says which part is wrong."""


@dataclass(frozen=True, slots=True)
class IdNumber:
    """The parts of a valid identity number (``number`` is always the 18-character form)."""

    number: str
    region: str
    birth_date: date
    sequence: int
    sex: Sex


@cache
def _regions() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = orjson.loads(_DATA.read_bytes())
    return data


def provinces() -> dict[str, str]:
    """GB/T 2260 province-level prefixes (two digits) → name."""
    return _regions()["provinces"]


def residence_permit_regions() -> dict[str, str]:
    """Address codes of residence permits for Hong Kong, Macao and Taiwan residents → name."""
    return _regions()["residence_permit_regions"]


def china_today() -> date:
    """Today's date in China Standard Time (UTC+8), the calendar birth dates are written in."""
    return _day(int((time.time() + _CHINA.total_seconds()) // 86400))


@lru_cache(maxsize=4)
def _day(days_since_epoch: int) -> date:
    return _EPOCH + timedelta(days=days_since_epoch)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def check_character(first17: str) -> str:
    """The MOD 11-2 check character (``0``–``9`` or ``X``) of the first 17 digits.

    Raises:
        InvalidIdNumber: when ``first17`` is not exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not _digits(first17):
        raise InvalidIdNumber("the check character needs exactly 17 digits", "length")
    return _CHECK_CHARS[sum(map(dict.__getitem__, _WEIGHTED, first17)) % 11]


def check_region(region: str, *, known_province: bool = True) -> None:
    """Check a 6-character address code: digits, not starting with 0, a known province.

    Raises:
        InvalidIdNumber: with ``part == "region"``.
    """
    if not _digits(region):
        raise InvalidIdNumber(f"region {region!r} (characters 1–6) must be six digits", "region")
    if region[0] == "0":
        raise InvalidIdNumber(f"region {region} is not an administrative division code", "region")
    if region in residence_permit_regions():
        raise InvalidIdNumber(
            f"region {region} is the address code of a residence permit for Hong Kong, Macao "
            "and Taiwan residents, not of an identity number",
            "region",
        )
    if known_province and region[:2] not in provinces():
        raise InvalidIdNumber(
            f"region {region} is not an administrative division code: no province "
            f"{region[:2]} in GB/T 2260",
            "region",
        )


def check_birth_date(text: str, *, today: date | None = None) -> date:
    """The birth date ``YYYYMMDD``: a calendar date from 1800-01-01 up to ``today``.

    ``today`` defaults to :func:`china_today`.

    Raises:
        InvalidIdNumber: with ``part == "birth date"``.
    """
    if len(text) != 8 or not _digits(text):
        raise InvalidIdNumber(f"birth date {text!r} must be eight digits YYYYMMDD", "birth date")
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise InvalidIdNumber(f"birth date {text} is not a calendar date", "birth date") from None
    if born < _EARLIEST:
        raise InvalidIdNumber(f"birth date {born.isoformat()} is before 1800", "birth date")
    if born > (today or china_today()):
        raise InvalidIdNumber(f"birth date {born.isoformat()} is in the future", "birth date")
    return born


def _sequence(text: str) -> int:
    if not _digits(text):
        raise InvalidIdNumber(f"sequence {text!r} must be three digits", "sequence")
    return int(text)


def _parts(number: str, born: date, sequence: int) -> IdNumber:
    return IdNumber(number, number[:6], born, sequence, "male" if sequence % 2 else "female")


def parse(number: str, *, today: date | None = None, known_province: bool = True) -> IdNumber:
    """Validate an 18-character number and return its parts.

    Checks, in order: the length; the region (characters 1–6, see :func:`check_region`); the
    birth date (7–14, see :func:`check_birth_date`); the sequence (15–17, digits); the check
    digit (18: a digit or upper-case ``X`` equal to the MOD 11-2 character of the first 17).
    A lower-case ``x`` is refused here, see :func:`normalise`.

    Raises:
        InvalidIdNumber: with the first problem found and the part it is in.
    """
    if len(number) != 18:
        raise InvalidIdNumber(
            f"an identity number has 18 characters (15 in the 1989 form), not {len(number)}",
            "length",
        )
    check_region(number[:6], known_province=known_province)
    born = check_birth_date(number[6:14], today=today)
    sequence = _sequence(number[14:17])
    check = number[17]
    if check == "x":
        raise InvalidIdNumber("check digit x must be written as upper-case X", "check digit")
    if check not in "0123456789X":
        raise InvalidIdNumber(f"check digit {check!r} must be a digit or X", "check digit")
    expected = check_character(number[:17])
    if check != expected:
        raise InvalidIdNumber(
            f"check digit is {check}, but MOD 11-2 of the first 17 digits gives {expected}",
            "check digit",
        )
    return _parts(number, born, sequence)


def parse_legacy(number15: str, *, known_province: bool = True) -> IdNumber:
    """Validate a 15-digit number of GB 11643-1989 and return the parts of its 18-character form.

    Raises:
        InvalidIdNumber: with the part that is wrong (``length``, ``region``, ``birth date``,
            ``sequence``).
    """
    if len(number15) != 15:
        raise InvalidIdNumber("a legacy identity number has exactly 15 digits", "length")
    check_region(number15[:6], known_province=known_province)
    born = check_birth_date("19" + number15[6:12], today=date(1999, 12, 31))
    sequence = _sequence(number15[12:])
    body = number15[:6] + "19" + number15[6:]
    return _parts(body + check_character(body), born, sequence)


def check_any(number: str, *, today: date | None = None) -> None:
    """Validate an 18-character or a 15-digit number without returning its parts.

    The same rules and messages as :func:`parse_any`; a valid 18-character number takes a
    short path, since this runs on every Patient written.

    Raises:
        InvalidIdNumber: with the first problem found and the part it is in.
    """
    if len(number) == 18 and _plainly_valid(number, today or china_today()):
        return
    parse_any(number, today=today)


def _plainly_valid(number: str, today: date) -> bool:
    body = number[:17]
    if not (body.isascii() and body.isdigit()) or number[:2] not in provinces():
        return False
    if number[:6] in residence_permit_regions() or check_character(body) != number[17]:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return _EARLIEST <= born <= today


def parse_any(number: str, *, today: date | None = None) -> IdNumber:
    """Parse an 18-character number or a 15-digit legacy one (:func:`parse`, :func:`parse_legacy`)."""
    if len(number) == 15:
        return parse_legacy(number)
    return parse(number, today=today)


def is_valid(number: str, *, today: date | None = None) -> bool:
    """Whether ``number`` is a valid 18-character identity number (see :func:`parse`)."""
    try:
        parse(number, today=today)
    except InvalidIdentifier:
        return False
    return True


def upgrade(number15: str) -> str:
    """Turn a 15-digit number of GB 11643-1989 into its 18-character form.

    ``130503670401001`` becomes ``130503196704010016``. The region is checked for shape only.

    Raises:
        InvalidIdNumber: when the input is not 15 digits holding a real 19xx date.
    """
    if len(number15) != 15 or not _digits(number15):
        raise InvalidIdNumber("a legacy identity number has exactly 15 digits", "length")
    return parse_legacy(number15, known_province=False).number


def downgrade(number: str) -> str:
    """The 15-digit legacy form of an 18-character number of someone born in 1900–1999.

    Raises:
        InvalidIdNumber: when the number has no legacy form.
    """
    if len(number) != 18 or number[6:8] != "19":
        raise InvalidIdNumber(
            "only numbers of people born in 19xx have a 15-digit form", "birth date"
        )
    return number[:6] + number[8:17]


def normalise(number: str) -> str:
    """Canonical 18-character form: trimmed, ``x`` upper-cased, 15-digit numbers upgraded.

    The result is not validated; pass it to :func:`parse` or :func:`is_valid`.

    Raises:
        InvalidIdNumber: when a 15-digit number holds no real date (it cannot be upgraded).
    """
    cleaned = number.strip().replace(" ", "").upper()
    if len(cleaned) == 15 and _digits(cleaned):
        return upgrade(cleaned)
    return cleaned


def build(region: str, birth_date: date, sequence: int) -> str:
    """Compose a valid 18-character number.

    Args:
        region: six-digit administrative division code.
        birth_date: the date of birth.
        sequence: 0–999; odd for a man, even for a woman.
    """
    if len(region) != 6 or not _digits(region):
        raise InvalidIdNumber("the address code has six digits", "region")
    if not 0 <= sequence <= 999:
        raise InvalidIdNumber("the sequence number is 0–999", "sequence")
    body = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return body + check_character(body)
