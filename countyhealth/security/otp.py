"""One-time sign-in codes for residents: 6 digits, valid for minutes, a few attempts each.

A code is stored only as an HMAC keyed with the platform secret (a plain hash of six digits
would be reversed by trying all million of them). Each phone has at most one live code; asking
again replaces it. Attempts are counted before the comparison, in the database, so parallel
guessing gets no more tries than one guesser.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ..config import Settings
from ..errors import bad_request
from ..store.otp_codes import CodeRow, CodeRows
from .timesource import TimeSource

#: A mainland China mobile number: 11 digits starting with 1 (GB/T 37011 numbering).
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-()]")


def normalise_phone(text: str) -> str:
    """The bare 11-digit mobile number of ``text`` (spaces, dashes and +86 removed).

    Raises:
        OperationOutcomeError: CH-1006 when it is not a mainland mobile number.
    """
    phone = _SEPARATORS.sub("", text or "")[:32]
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
    if len(phone) == 13 and phone.startswith("86"):
        phone = phone[2:]
    if not _MOBILE.match(phone):
        raise bad_request(
            "enter an 11-digit mobile number, e.g. 13812345678 (请输入 11 位手机号码)", "phone"
        )
    return phone


@dataclass(frozen=True, slots=True)
class SentCode:
    phone: str
    code: str
    expires_us: int


class OneTimeCodes:
    def __init__(self, rows: CodeRows, clock: TimeSource, settings: Settings) -> None:
        self.rows = rows
        self.clock = clock
        self.ttl_us = settings.otp_ttl_seconds * 1_000_000
        self.max_attempts = settings.otp_max_attempts
        self._key = hashlib.sha256(b"countyhealth-otp\0" + settings.secret_key.encode()).digest()

    def _digest(self, phone: str, code: str) -> str:
        return hmac.new(self._key, f"{phone}\0{code}".encode(), hashlib.sha256).hexdigest()

    def issue(self, phone: str) -> SentCode:
        """A new code for ``phone`` (replacing any earlier one)."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self.clock.now_us()
        expires = now + self.ttl_us
        self.rows.put(CodeRow(phone, self._digest(phone, code), now, expires, 0))
        if secrets.randbelow(50) == 0:
            self.rows.purge(now)
        return SentCode(phone, code, expires)

    def verify(self, phone: str, code: str) -> bool:
        """Whether ``code`` is the live code of ``phone``; a right code is used up."""
        row = self.rows.get(phone)
        if row is None:
            return False
        if row.expires_us <= self.clock.now_us():
            self.rows.delete(phone, row.code_hash)
            return False
        if not self.rows.take_attempt(phone, row.code_hash, self.max_attempts):
            self.rows.delete(phone, row.code_hash)
            return False
        given = (code or "").strip()[:16]
        if not hmac.compare_digest(row.code_hash, self._digest(phone, given)):
            return False
        # Whoever deletes the row used the code; a parallel request with the same code loses.
        return self.rows.delete(phone, row.code_hash)
