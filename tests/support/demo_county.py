"""A small seeded demo county with one demo account per role, for page and browser tests.

Built like ``make run`` builds the demo (synthetic county through the Repository, then
``countyhealth users demo``), only smaller: 300 residents. Page tests sign in with the demo
accounts exactly as a person would: staff by user name and password, the resident by phone
and one-time code.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from countyhealth.config import Settings
from countyhealth.security.demo import create_demo_accounts
from countyhealth.security.passwords import Passwords
from countyhealth.store import Store, migrate, system_caller
from countyhealth.synthetic.options import SeedOptions
from countyhealth.synthetic.seed import seed_county
from tests.support.accounts import FAST_PASSWORDS, csrf_of

RESIDENTS = 300
TEST_SECRET = "demo-county-test-secret-0123456789abcdef"


@dataclass(frozen=True)
class DemoCounty:
    settings: Settings
    accounts: dict[str, dict[str, Any]]  # role → demo account (username, password, phone…)

    def account(self, role: str) -> dict[str, Any]:
        return self.accounts[role]


def build_demo_county(
    folder: Path, residents: int = RESIDENTS, database_url: str | None = None
) -> DemoCounty:
    """Seed the county into ``database_url`` (a SQLite file under ``folder`` by default)."""
    settings = Settings(
        environment="development",
        secret_key=TEST_SECRET,
        database_url=database_url or f"sqlite:///{folder / 'demo.db'}",
        audit_flush_ms=0.5,
        audit_spool_dir=str(folder / "audit-spool"),
        bulk_dir=str(folder / "bulk"),
        payment_ledger_path=str(folder / "payments-simulated.ndjson"),
        bulk_worker=False,
        # every page test signs the resident in again; throttling has its own tests
        otp_max_sends=10_000,
        **FAST_PASSWORDS,  # type: ignore[arg-type]
    )
    migrate(settings)
    store = Store.open(settings)
    try:
        repo = store.repository(system_caller("demo"))
        seed_county(repo, SeedOptions(residents=residents, seed=1, chunk_size=500))
        made = create_demo_accounts(settings, store.accounts, Passwords(settings), repo)
    finally:
        store.close()
    accounts = {a.role: asdict(a) for a in made}
    return DemoCounty(settings, accounts)


def sign_in(client: TestClient, county: DemoCounty, role: str) -> None:
    """Sign ``client`` in as the demo account of ``role`` through the sign-in forms."""
    account = county.account(role)
    token = csrf_of(client.get("/auth/login").text)
    if role == "resident":
        page = client.post("/auth/otp", data={"phone": account["phone"], "csrf_token": token})
        code = re.search(r"<code>(\d{6})</code>", page.text)
        assert code, page.text
        answer = client.post(
            "/auth/otp/verify",
            data={"phone": account["phone"], "code": code.group(1), "csrf_token": token},
            follow_redirects=False,
        )
    else:
        answer = client.post(
            "/auth/login",
            data={
                "username": account["username"],
                "password": account["password"],
                "csrf_token": token,
            },
            follow_redirects=False,
        )
    assert answer.status_code == 303, answer.text
