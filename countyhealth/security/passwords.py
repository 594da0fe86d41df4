"""Password hashing with Argon2id (RFC 9106), the memory-hard hash OWASP recommends.

The parameters come from the settings; a hash made with other parameters still verifies and
is reported for re-hashing, so raising the cost upgrades every account at its next sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..config import Settings


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of a password check: ``ok``, and a new hash when the old one is outdated."""

    ok: bool
    rehash: str | None = None


class Passwords:
    """Hashes and checks passwords (and client secrets) with the configured Argon2id cost."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.password_time_cost,
            memory_cost=settings.password_memory_kib,
            parallelism=settings.password_parallelism,
            type=Type.ID,
        )
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def check(self, stored_hash: str | None, password: str) -> Checked:
        """Whether ``password`` matches ``stored_hash`` (None: no password; still costs a hash)."""
        if stored_hash is None:
            # Costs as much as checking a real hash, so that the time of the answer does not
            # tell which user names exist.
            if self._dummy is None:
                self._dummy = self._hasher.hash("countyhealth-no-such-account")
            self._verify(self._dummy, password)
            return Checked(False)
        if not self._verify(stored_hash, password):
            return Checked(False)
        try:
            outdated = self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            outdated = False
        return Checked(True, self._hasher.hash(password) if outdated else None)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
