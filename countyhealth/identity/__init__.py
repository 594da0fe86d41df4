"""Identity: resident identity numbers (GB 11643) and, later, the master patient index."""

from ..fhir.identifiers.gb11643 import (
    CHECK_WEIGHTS,
    IdNumber,
    InvalidIdNumber,
    build,
    check_character,
    downgrade,
    is_valid,
    normalise,
    parse,
    upgrade,
)

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
