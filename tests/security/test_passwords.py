"""Argon2id password hashes: right and wrong passwords, and upgrades of old parameters."""

from __future__ import annotations

from countyhealth.config import Settings
from countyhealth.security.passwords import Passwords
from tests.support.accounts import FAST_PASSWORDS

CHEAP = Settings(environment="development", **FAST_PASSWORDS)  # type: ignore[arg-type]


def test_right_and_wrong_passwords() -> None:
    passwords = Passwords(CHEAP)
    stored = passwords.hash("青山 correct horse")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert passwords.check(stored, "青山 correct horse").ok
    assert not passwords.check(stored, "青山 correct hors").ok
    assert not passwords.check(stored, "").ok
    assert not passwords.check(None, "anything").ok  # no account: still a hash's work
    assert not passwords.check("not-a-hash", "anything").ok
    assert passwords.hash("same") != passwords.hash("same")  # salted


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in() -> None:
    old = Passwords(CHEAP).hash("correct horse battery")
    current = Passwords(Settings(environment="development"))  # RFC 9106 parameters
    checked = current.check(old, "correct horse battery")
    assert checked.ok and checked.rehash is not None
    assert "m=65536,t=3,p=4" in checked.rehash
    again = current.check(checked.rehash, "correct horse battery")
    assert again.ok and again.rehash is None
    assert current.check(old, "wrong").rehash is None
