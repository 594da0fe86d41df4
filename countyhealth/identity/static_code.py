"""The static code printed on a resident's e-health card, and its second factor (a PIN).

The national e-health card has two kinds of QR code (DOMAIN §2c): a dynamic code generated
before each use (:mod:`.health_code`) and a static code printed on the card, which "needs a
matching password or SMS code at use". The static code here is ``CHS1.`` + the card id (32
hexadecimal characters, the ``E_HEALTH_CARD`` identifier of the Patient) + ``.`` + a 16-hex
authentication tag (HMAC-SHA256 under a key derived from the platform's secret), so a code
cannot be made up from a card id that leaked, and a typo is refused before any lookup.

Scanners do not parse the code: the platform resolves it (:mod:`.card_use`). The PIN is 6
digits chosen at issuance; the Patient keeps only an Argon2id hash (RFC 9106) of an HMAC of it
keyed with the platform's secret, so neither a copy of the record nor of the secret alone lets
anyone try the million PINs offline.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from ..errors import error

PREFIX = "CHS1."
_CARD_ID = re.compile(r"[0-9a-f]{32}")
_CODE = re.compile(r"CHS1\.([0-9a-f]{32})\.([0-9a-f]{16})")
_PIN = re.compile(r"[0-9]{6}")
_TAG_CONTEXT = b"countyhealth e-health card static code v1\x00"
_PIN_CONTEXT = b"countyhealth e-health card pin v1\x00"


def new_card_id() -> str:
    """A fresh opaque card id: 128 random bits as 32 lowercase hexadecimal characters."""
    return secrets.token_hex(16)


def _key(context: bytes, secret: str) -> bytes:
    return hashlib.sha256(context + secret.encode("utf-8")).digest()


def static_code(secret: str, card_id: str) -> str:
    """The text of the QR printed on card ``card_id``."""
    if not _CARD_ID.fullmatch(card_id):
        raise error("CH-9007", "an e-health card id is 32 hexadecimal characters", "card")
    tag = hmac.new(_key(_TAG_CONTEXT, secret), card_id.encode("ascii"), hashlib.sha256)
    return f"{PREFIX}{card_id}.{tag.hexdigest()[:16]}"


def looks_like_static_code(text: str) -> bool:
    return text.startswith(PREFIX) and len(text) <= 64


def card_of_static_code(secret: str, code: str) -> str:
    """The card id a static code was printed for.

    Raises:
        OperationOutcomeError: CH-9001 when ``code`` is not a static code of this platform.
    """
    match = _CODE.fullmatch(code.strip())
    if match is None or not hmac.compare_digest(static_code(secret, match[1]), match[0]):
        raise error("CH-9001", "this is not an e-health card code of the platform", "code")
    return match[1]


def check_pin_shape(pin: str) -> str:
    """``pin`` when it is 6 digits.

    Raises:
        OperationOutcomeError: CH-9007 otherwise.
    """
    if not _PIN.fullmatch(pin or ""):
        raise error("CH-9007", "the card PIN is 6 digits (密码为 6 位数字)", "pin")
    return pin


def pin_secret(secret: str, card_id: str, pin: str) -> str:
    """What is hashed for the PIN of ``card_id``: an HMAC of card id and PIN under the
    platform's secret (the same PIN on two cards gives different values)."""
    mac = hmac.new(_key(_PIN_CONTEXT, secret), f"{card_id}\0{pin}".encode(), hashlib.sha256)
    return mac.hexdigest()
