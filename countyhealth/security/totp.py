"""Time-based one-time passwords (RFC 6238) as an optional second factor for staff.

Compatible with common authenticator apps (30-second steps, 6 digits, SHA-1). A code of the
previous or next step is accepted too, for clocks a little apart.
"""

from __future__ import annotations

import pyotp


def new_secret() -> str:
    """A random base32 seed (160 bits) for a new authenticator."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str = "CountyHealth") -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually shown as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def current_code(secret: str, at_seconds: float) -> str:
    """The code at ``at_seconds`` (for tests and for enrolment checks)."""
    return pyotp.TOTP(secret).at(int(at_seconds))


def verify(secret: str, code: str, at_seconds: float) -> bool:
    """Whether ``code`` is valid at ``at_seconds`` (± one step)."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return False
    try:
        return bool(pyotp.TOTP(secret).verify(code, for_time=int(at_seconds), valid_window=1))
    except (ValueError, TypeError):  # a seed that is not base32, or too short
        return False
