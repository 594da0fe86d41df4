"""Everything sign-in needs in one process, built once by the application factory."""

from __future__ import annotations

from ..config import Settings
from ..store import Repository, Store, system_caller
from .clients import ClientAuthenticator
from .login import Authenticator
from .otp import OneTimeCodes
from .passwords import Passwords
from .sessions import Sessions
from .throttle import Throttle
from .timesource import TimeSource


class AuthServices:
    """Passwords, throttles, one-time codes, sessions and client authentication over the
    account tables of ``store``. ``clock`` is shared by all of them (tests move it)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.clock = TimeSource()
        accounts = store.accounts
        self.accounts = accounts
        self.passwords = Passwords(settings)
        self.throttle = Throttle.from_settings(accounts.failures, self.clock, settings)
        self.send_limit = Throttle(
            accounts.failures, self.clock, settings.otp_max_sends, settings.login_window_seconds
        )
        self.codes = OneTimeCodes(accounts.codes, self.clock, settings)
        self.sessions = Sessions(accounts.sessions, self.clock, settings)
        self.login = Authenticator(
            accounts,
            self.passwords,
            self.throttle,
            self.send_limit,
            self.codes,
            self.clock,
            self.lookup_repository,
        )
        self.clients = ClientAuthenticator(
            settings, accounts, self.passwords, self.throttle, self.clock
        )

    def lookup_repository(self) -> Repository:
        """The Repository that finds residents' records at sign-in (audited as ``login``)."""
        return self.store.repository(system_caller("login"))

    @property
    def shows_codes(self) -> bool:
        """One-time codes appear on the page (demo only): in development and test, never else."""
        return self.settings.environment in ("development", "test")
