"""TOTP (RFC 6238): codes of the current and neighbouring 30-second steps are accepted."""

from __future__ import annotations

from countyhealth.security import totp

T = 1_790_000_000.0


def test_codes_of_the_current_and_next_steps_verify() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32
    code = totp.current_code(secret, T)
    assert totp.verify(secret, code, T)
    assert totp.verify(secret, code, T + 30)  # one step of clock difference
    assert not totp.verify(secret, code, T + 120)
    assert totp.verify(secret, f" {code[:3]} {code[3:]} ", T)
    assert not totp.verify(secret, "", T)
    assert not totp.verify(secret, "12345a", T)
    assert not totp.verify(totp.new_secret(), code, T)


def test_provisioning_uri_names_the_platform_and_the_user() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "wang.li")
    assert uri.startswith("otpauth://totp/CountyHealth:wang.li?")
    assert f"secret={secret}" in uri
    assert not totp.verify("not base32!", "123456", T)
