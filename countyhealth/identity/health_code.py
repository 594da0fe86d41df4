"""The dynamic QR code of the e-health card (电子健康卡, "看病不用卡，只需一个码").

The code a resident shows at a desk is an opaque, authenticated, short-lived token: a Fernet
token (AES-128-CBC with HMAC-SHA256, with its creation time inside; the ``cryptography``
package) over the Patient id and the card number, under a key derived from the platform's
secret. Nobody can read or forge it without the key, and it is refused after
``health_code_ttl_seconds`` (5 minutes by default), so a photo of it is worth little for long.
It needs no table: any server process with the same secret resolves it.

The code carries the prefix ``CHC1.`` so that a desk's scanner (which types what it reads
into the search box) is recognised as a card and not taken for a name.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import orjson
from cryptography.fernet import Fernet, InvalidToken

from ..errors import error

PREFIX = "CHC1."
#: A Fernet token of this payload is ~160 characters; anything much longer is not a code.
MAX_LENGTH = 400
_KEY_CONTEXT = b"countyhealth e-health card code v1\x00"


@dataclass(frozen=True, slots=True)
class CardHolder:
    patient_id: str
    card_number: str | None
    issued_at: int


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(_KEY_CONTEXT + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def looks_like_code(text: str) -> bool:
    return text.startswith(PREFIX) and len(text) <= MAX_LENGTH


def issue_code(secret: str, patient_id: str, card_number: str | None, now: int) -> str:
    """A code for ``patient_id`` created at ``now`` (Unix seconds)."""
    payload = orjson.dumps({"p": patient_id, "c": card_number})
    return PREFIX + _fernet(secret).encrypt_at_time(payload, now).decode("ascii")


def resolve_code(secret: str, code: str, ttl_seconds: int, now: int) -> CardHolder:
    """Who the code was issued to.

    Raises:
        OperationOutcomeError: CH-9001 for anything that is not a code of this platform,
            CH-9002 for a code older than ``ttl_seconds``.
    """
    if not looks_like_code(code):
        raise error("CH-9001", "this is not an e-health card code of the platform", "code")
    token = code[len(PREFIX) :].encode("ascii", errors="replace")
    fernet = _fernet(secret)
    try:
        payload = fernet.decrypt_at_time(token, ttl_seconds, now)
    except InvalidToken:
        try:
            fernet.extract_timestamp(token)
        except InvalidToken:
            raise error(
                "CH-9001", "this is not an e-health card code of the platform", "code"
            ) from None
        raise error(
            "CH-9002",
            "the e-health code has expired; ask the resident to refresh it (电子健康码已过期，请刷新)",
            "code",
        ) from None
    data = orjson.loads(payload)
    return CardHolder(str(data["p"]), data.get("c"), fernet.extract_timestamp(token))
