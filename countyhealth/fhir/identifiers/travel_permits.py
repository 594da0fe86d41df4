"""Mainland travel permits of Hong Kong, Macao and Taiwan residents (shape only).

* 港澳居民来往内地通行证 ("home-return permit"): ``H`` (Hong Kong) or ``M`` (Macao) and 8 digits
  on the card issued since 2013; records of the earlier permits carry 10 digits (the 8-digit
  number and a 2-digit issue count). UNVERIFIED: no published check-digit rule was found, and
  the meaning of the last two digits of the 10-digit form is as commonly described, not from
  the issuing authority.
* 台湾居民来往大陆通行证 (台胞证): 8 digits on the card issued since 2015; the earlier booklet
  numbers carry 10 digits (the 8-digit number and a 2-digit issue count). UNVERIFIED in the
  same way; one-off short-term permits (letters and digits) are not accepted.

Other forms are refused until their rule is known.
"""

from __future__ import annotations

from .invalid import InvalidIdentifier

__all__ = ["check_hong_kong_macao", "check_taiwan"]


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def check_hong_kong_macao(value: str) -> None:
    """Check a 港澳居民来往内地通行证 number: ``H``/``M`` then 8 or 10 digits.

    Raises:
        InvalidIdentifier: with ``part`` ``prefix`` or ``number``.
    """
    if not value or value[0] not in "HM":
        raise InvalidIdentifier(
            "a Hong Kong/Macao travel permit number starts with H (Hong Kong) or M (Macao)",
            "prefix",
        )
    rest = value[1:]
    if not _digits(rest) or len(rest) not in (8, 10):
        raise InvalidIdentifier(
            f"after {value[0]} a travel permit number has 8 digits (10 with the issue count), "
            f"not {rest!r}",
            "number",
        )


def check_taiwan(value: str) -> None:
    """Check a 台湾居民来往大陆通行证 number: 8 digits, or 10 with the issue count.

    Raises:
        InvalidIdentifier: with ``part == "number"``.
    """
    if not _digits(value) or len(value) not in (8, 10):
        raise InvalidIdentifier(
            f"a Taiwan travel permit number has 8 digits (10 with the issue count), not {value!r}",
            "number",
        )
