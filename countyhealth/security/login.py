"""Signing in: staff with user name and password (plus a TOTP code when they enrolled one),
residents with their phone and a one-time code.

Every failure answers the same CH-4006 whatever was wrong (unknown user, wrong password,
disabled account), so the answer does not tell which user names exist; an unknown user name
costs a password hash like a known one. Failures count towards the throttle of the account
(or phone) and of the network address; success clears the account's count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import OperationOutcomeError, error
from ..store import AccountStore, Repository, UserAccount
from . import residents, totp
from .otp import OneTimeCodes, SentCode, normalise_phone
from .passwords import Passwords
from .throttle import Throttle
from .timesource import TimeSource

RESIDENT_ROLE = "resident"
_MAX_FIELD = 1024


@dataclass(frozen=True, slots=True)
class SignedIn:
    """An account that has just proved who it is, with the patients it may see (residents)."""

    account: UserAccount
    patients: tuple[str, ...] = ()


def wrong_credentials(diagnostics: str | None = None) -> OperationOutcomeError:
    return error(
        "CH-4006",
        diagnostics or "wrong user name or password (用户名或密码错误)",
    )


def resident_username(patient_id: str) -> str:
    return f"resident-{patient_id}"


class Authenticator:
    def __init__(
        self,
        accounts: AccountStore,
        passwords: Passwords,
        throttle: Throttle,
        send_limit: Throttle,
        codes: OneTimeCodes,
        clock: TimeSource,
        repository: Callable[[], Repository],
    ) -> None:
        self.accounts = accounts
        self.passwords = passwords
        self.throttle = throttle
        self.send_limit = send_limit
        self.codes = codes
        self.clock = clock
        self.repository = repository

    # ------------------------------------------------------------------ staff

    def password_login(
        self, username: str, password: str, totp_code: str = "", address: str | None = None
    ) -> SignedIn:
        """Check a user name and password (and TOTP code); raises CH-4006 or CH-4007."""
        username = (username or "").strip()
        if not username or not password:
            raise wrong_credentials("enter a user name and a password (请输入用户名和密码)")
        if len(username) > 100 or len(password) > _MAX_FIELD or not username.isprintable():
            raise wrong_credentials()  # never reaches the database (PostgreSQL refuses NUL)
        keys = [f"user:{username.lower()}", *_address_key(address)]
        self.throttle.check(keys)
        account = self.accounts.user(username)
        usable = account is not None and account.password_hash is not None
        checked = self.passwords.check(account.password_hash if account else None, password)
        if account is None or not usable or not checked.ok:
            self.throttle.failed(keys)
            raise wrong_credentials()
        if account.totp_secret and not totp.verify(
            account.totp_secret, totp_code or "", self.clock.now_seconds()
        ):
            self.throttle.failed(keys)
            raise wrong_credentials(
                "enter the current 6-digit code of your authenticator app "
                "(请输入身份验证器中的 6 位动态码)"
            )
        if account.disabled:
            raise wrong_credentials("this account is disabled (此账号已停用)")
        if checked.rehash:
            self.accounts.set_password_hash(account.username, checked.rehash)
        self.throttle.succeeded(keys[0])
        return SignedIn(account, self._patients_of(account))

    def _patients_of(self, account: UserAccount) -> tuple[str, ...]:
        if RESIDENT_ROLE not in account.roles or not account.patient_id:
            return ()
        today = residents.today_in_china(self.clock.now_us())
        found = residents.resident_of(self.repository(), account.patient_id, today)
        return found.patients if found else (account.patient_id,)

    # ------------------------------------------------------------------ residents

    def send_code(self, phone_text: str) -> SentCode:
        """Make a one-time code for a phone (the caller delivers or, in a demo, shows it).

        A code is made whatever the phone, so the answer does not tell which numbers are
        registered; at most ``otp_max_sends`` per phone per window (CH-4007).
        """
        phone = normalise_phone(phone_text)
        key = [f"sent:{phone}"]
        self.send_limit.check(key)
        sent = self.codes.issue(phone)
        self.send_limit.failed(key)  # counts the sends
        return sent

    def code_login(self, phone_text: str, code: str, address: str | None = None) -> SignedIn:
        """Check a one-time code and find (or, the first time, create) the resident's account."""
        phone = normalise_phone(phone_text)
        keys = [f"phone:{phone}", *_address_key(address)]
        self.throttle.check(keys)
        if not self.codes.verify(phone, code or ""):
            self.throttle.failed(keys)
            raise wrong_credentials(
                "the code is wrong or has expired; ask for a new one (验证码错误或已过期，请重新获取)"
            )
        today = residents.today_in_china(self.clock.now_us())
        resident = residents.find_by_phone(self.repository(), phone, today)
        if resident is None:
            raise wrong_credentials(
                "no resident record has this phone number; ask your health centre to add it "
                "(未找到登记此手机号的居民档案，请联系卫生院)"
            )
        account = self._resident_account(resident, phone)
        if account.disabled:
            raise wrong_credentials("this account is disabled (此账号已停用)")
        self.throttle.succeeded(keys[0])
        return SignedIn(account, resident.patients)

    def _resident_account(self, resident: residents.Resident, phone: str) -> UserAccount:
        username = resident_username(resident.patient_id)
        account = self.accounts.user(username)
        if account is not None:
            return account
        try:
            return self.accounts.add_user(
                UserAccount(
                    username=username,
                    display_name=resident.display,
                    roles=(RESIDENT_ROLE,),
                    patient_id=resident.patient_id,
                    phone=phone,
                )
            )
        except OperationOutcomeError:  # created by a parallel first sign-in
            account = self.accounts.user(username)
            if account is None:
                raise
            return account


def _address_key(address: str | None) -> list[str]:
    return [f"ip:{address}"] if address else []
