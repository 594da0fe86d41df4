"""外国人永久居留身份证: the Foreign Permanent Resident ID Card of China.

Two number forms are in use (国家移民管理局, "新版外国人永久居留身份证机读信息规则 (2023版)",
cards issued from 2023-12-01; as republished by card-reader vendors, 2023-10-20):

* 2023 form: 18 characters, 17 digits and a check character computed exactly like that of a
  citizen identity number (ISO 7064 MOD 11-2, ``X`` for 10). The first digit is ``9``, which
  tells a foreigner's number from a citizen's (whose first digit, a province prefix, is 1–8).
  The remaining digits encode the province that accepted the application, the nationality as a
  numeric code, the birth date and a sequence; their positions are UNVERIFIED here, so only the
  leading ``9``, the digits and the check character are checked.
* 2017 form (and the 2004 card before it): 15 characters, 3 Latin letters (the nationality)
  then 12 digits. No check rule was found (UNVERIFIED); the shape is checked.
"""

from __future__ import annotations

from .gb11643 import check_character
from .invalid import InvalidIdentifier

__all__ = ["check"]


def _check_2023(value: str) -> None:
    if value[0] != "9":
        raise InvalidIdentifier(
            f"an 18-character permanent residence number starts with 9, not {value[0]!r}",
            "prefix",
        )
    body = value[:17]
    if not (body.isascii() and body.isdigit()):
        raise InvalidIdentifier(
            "the first 17 characters of a permanent residence number must be digits", "number"
        )
    expected = check_character(body)
    if value[17] != expected:
        raise InvalidIdentifier(
            f"check digit is {value[17]}, but MOD 11-2 of the first 17 digits gives {expected}",
            "check digit",
        )


def _check_2017(value: str) -> None:
    letters, digits = value[:3], value[3:]
    if not (letters.isascii() and letters.isalpha() and letters.isupper()):
        raise InvalidIdentifier(
            f"a 15-character permanent residence number starts with 3 capital letters "
            f"(the nationality), not {letters!r}",
            "nationality",
        )
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidIdentifier(
            "the last 12 characters of a 15-character permanent residence number must be digits",
            "number",
        )


def check(value: str) -> None:
    """Check a permanent residence number of either form.

    Raises:
        InvalidIdentifier: naming the wrong part (``length``, ``prefix``, ``nationality``,
            ``number`` or ``check digit``).
    """
    if len(value) == 18:
        _check_2023(value)
    elif len(value) == 15:
        _check_2017(value)
    else:
        raise InvalidIdentifier(
            f"a permanent residence number has 18 characters (15 before 2023-12), not {len(value)}",
            "length",
        )
