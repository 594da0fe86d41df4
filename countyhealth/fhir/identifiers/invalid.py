"""The one exception of identifier validation."""

from __future__ import annotations

__all__ = ["InvalidIdentifier"]


class InvalidIdentifier(ValueError):
    """An identifier value that breaks the rule of its system.

    The message is a sentence for the person who typed the value; ``part`` names the part
    that is wrong (``length``, ``region``, ``birth date``, ``sequence``, ``check digit``,
    ``prefix``, ``nationality``, ``number`` or ``country``, the last meaning the issuing country
    in the system) so that callers can point at it.
    """

    def __init__(self, message: str, part: str = "number") -> None:
        super().__init__(message)
        self.part = part
