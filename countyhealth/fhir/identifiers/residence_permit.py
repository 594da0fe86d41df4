"""港澳台居民居住证: residence permits for Hong Kong, Macao and Taiwan residents (since 2018).

The permit number follows the rules of the citizen identity number (GB 11643-1999: address
code, birth date ``YYYYMMDD``, 3-digit sequence, MOD 11-2 check digit), with the address code
810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan) (《港澳台居民居住证申领发放办法》,
国办发〔2018〕81号).
"""

from __future__ import annotations

from datetime import date

from .gb11643 import (
    IdNumber,
    InvalidIdNumber,
    check_birth_date,
    check_character,
    residence_permit_regions,
)

__all__ = ["parse"]


def parse(number: str, *, today: date | None = None) -> IdNumber:
    """Validate a residence-permit number and return its parts.

    Raises:
        InvalidIdNumber: naming the wrong part (``length``, ``region``, ``birth date``,
            ``sequence`` or ``check digit``).
    """
    if len(number) != 18:
        raise InvalidIdNumber(
            f"a residence permit number has 18 characters, not {len(number)}", "length"
        )
    region = number[:6]
    if region not in residence_permit_regions():
        allowed = ", ".join(sorted(residence_permit_regions()))
        raise InvalidIdNumber(
            f"region {region!r} is not that of a residence permit ({allowed})", "region"
        )
    born = check_birth_date(number[6:14], today=today)
    digits = number[14:17]
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidIdNumber(f"sequence {digits!r} must be three digits", "sequence")
    expected = check_character(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(
            f"check digit is {number[17]}, but MOD 11-2 of the first 17 digits gives {expected}",
            "check digit",
        )
    sequence = int(digits)
    return IdNumber(number, region, born, sequence, "male" if sequence % 2 else "female")
