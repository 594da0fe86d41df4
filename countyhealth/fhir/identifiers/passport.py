"""Passport numbers (shape only) and the issuing country in the identifier system.

The system of a passport number is ``…/NamingSystem/passport/{ISO 3166-1 alpha-3}`` (see
:func:`countyhealth.fhir.systems.passport_system`). Passport numbering is national; what all
machine-readable passports share is the document-number field of ICAO Doc 9303 (Part 4, TD3
MRZ): at most 9 characters, capital Latin letters and digits. A floor of 5 characters keeps
obvious fragments out (the floor is this project's plausibility rule, UNVERIFIED against every
issuing state).
"""

from __future__ import annotations

from .invalid import InvalidIdentifier

__all__ = ["check_country", "check_number"]

_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def check_country(code: str) -> None:
    """Check the issuing-country segment of a passport system: three capital letters.

    Raises:
        InvalidIdentifier: with ``part == "country"``.
    """
    if len(code) != 3 or not (code.isascii() and code.isalpha() and code.isupper()):
        raise InvalidIdentifier(
            f"the passport system ends in the issuing country as an ISO 3166 alpha-3 code "
            f"(…/passport/RUS), not {code!r}",
            "country",
        )


def check_number(value: str) -> None:
    """Check a passport number: 5–9 capital letters and digits (ICAO Doc 9303).

    Raises:
        InvalidIdentifier: with ``part == "number"``.
    """
    if not 5 <= len(value) <= 9 or not _ALLOWED.issuperset(value):
        raise InvalidIdentifier(
            f"a passport number has 5–9 capital letters and digits (ICAO Doc 9303), not {value!r}",
            "number",
        )
