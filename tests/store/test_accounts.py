"""The account tables on SQLite and PostgreSQL: accounts, clients, sessions, failed sign-ins,
one-time codes, revoked tokens and used client assertions."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.store import ApiClient, Store, UserAccount
from countyhealth.store.otp_codes import CodeRow
from countyhealth.store.revocations import RevocationList
from countyhealth.store.web_sessions import SessionRow


def test_accounts_are_stored_and_names_are_unique(store: Store) -> None:
    accounts = store.accounts
    added = accounts.add_user(
        UserAccount(
            username="wang.li",
            display_name="王丽",
            roles=("county-clinician", "nurse"),
            organization="Organization/org-h01",
            actors=("Practitioner/prac-0001", "PractitionerRole/role-0001"),
            password_hash="$argon2id$x",
        )
    )
    assert added.created_us > 0
    assert accounts.user("wang.li") == added
    assert added.roles == ("county-clinician", "nurse")
    assert added.actors == ("Practitioner/prac-0001", "PractitionerRole/role-0001")
    assert accounts.user("nobody") is None
    with pytest.raises(OperationOutcomeError) as caught:
        accounts.add_user(UserAccount(username="wang.li", display_name="x", roles=("nurse",)))
    assert caught.value.status == 409
    accounts.set_password_hash("wang.li", "$argon2id$y")
    accounts.set_totp_secret("wang.li", "JBSWY3DPEHPK3PXP")
    changed = accounts.user("wang.li")
    assert changed is not None
    assert (changed.password_hash, changed.totp_secret) == ("$argon2id$y", "JBSWY3DPEHPK3PXP")
    assert accounts.usernames("wang") == ["wang.li"]
    assert accounts.usernames("demo-") == []


def test_api_clients_keep_their_jwks_and_scope(store: Store) -> None:
    jwks = {"keys": [{"kty": "EC", "crv": "P-384", "kid": "k1", "x": "a", "y": "b"}]}
    store.accounts.add_client(
        ApiClient(
            client_id="his-1",
            scope="system/*.rs",
            organization="Organization/org-h01",
            jwks=jwks,
        )
    )
    client = store.accounts.client("his-1")
    assert client is not None
    assert (client.jwks, client.scope, client.secret_hash, client.access) == (
        jwks,
        "system/*.rs",
        None,
        None,
    )
    with pytest.raises(OperationOutcomeError):
        store.accounts.add_client(ApiClient(client_id="his-1", scope="system/*.rs"))
    assert store.accounts.client("his-2") is None


def test_sessions_are_read_with_their_account_and_end(store: Store) -> None:
    accounts = store.accounts
    accounts.add_user(UserAccount(username="mother", display_name="李梅", roles=("resident",)))
    row = SessionRow("h" * 64, "mother", "csrf", ("p1", "p2"), 1_000, 5_000, 1_000)
    accounts.sessions.insert(row)
    found = accounts.sessions.get("h" * 64)
    assert found is not None
    assert found[0] == row
    assert found[1].display_name == "李梅"
    accounts.sessions.touch("h" * 64, 2_000)
    touched = accounts.sessions.get("h" * 64)
    assert touched is not None and touched[0].last_seen_us == 2_000
    accounts.set_disabled("mother", True)  # ends every session of the account
    assert accounts.sessions.get("h" * 64) is None
    accounts.sessions.insert(SessionRow("a" * 64, "mother", "c", (), 0, 100, 0))
    accounts.sessions.insert(SessionRow("b" * 64, "mother", "c", (), 0, 10_000, 9_000))
    assert accounts.sessions.purge(expired_before_us=200, idle_before_us=50) == 1
    assert accounts.sessions.get("b" * 64) is not None
    accounts.sessions.delete("b" * 64)
    assert accounts.sessions.get("b" * 64) is None


def test_failures_are_counted_per_key_in_a_window(store: Store) -> None:
    rows = store.accounts.failures
    rows.record(["user:a", "ip:10.0.0.1"], 100)
    rows.record(["user:a"], 200)
    rows.record(["user:b"], 300)
    assert rows.since(["user:a", "ip:10.0.0.1", "user:c"], 150) == {
        "user:a": [200],
        "ip:10.0.0.1": [],
        "user:c": [],
    }
    assert rows.since(["user:a"], 0) == {"user:a": [100, 200]}
    rows.clear("user:a")
    assert rows.since(["user:a", "ip:10.0.0.1"], 0) == {"user:a": [], "ip:10.0.0.1": [100]}
    assert rows.purge(before_us=250) == 1
    assert rows.since(["user:b"], 0) == {"user:b": [300]}


def test_one_time_codes_count_attempts_and_are_replaced(store: Store) -> None:
    codes = store.accounts.codes
    codes.put(CodeRow("13800000000", "hash-1", 0, 1000, 0))
    assert codes.take_attempt("13800000000", "hash-1", 2)
    assert codes.take_attempt("13800000000", "hash-1", 2)
    assert not codes.take_attempt("13800000000", "hash-1", 2)  # no attempt left
    codes.put(CodeRow("13800000000", "hash-2", 10, 2000, 0))  # a new code replaces it
    assert not codes.take_attempt("13800000000", "hash-1", 2)
    row = codes.get("13800000000")
    assert row is not None and (row.code_hash, row.attempts) == ("hash-2", 0)
    assert not codes.delete("13800000000", "hash-1")
    assert codes.delete("13800000000", "hash-2")
    assert codes.get("13800000000") is None
    codes.put(CodeRow("13900000000", "h", 0, 50, 0))
    assert codes.purge(before_us=100) == 1


def test_revocations_reach_other_processes_at_their_next_refresh(store: Store) -> None:
    far = store.clock.now_us() + 3_600_000_000
    # Another process: its own list over the same tables, with a clock we move by hand.
    ticks = [0.0]
    other = RevocationList(store.engines, store.clock, 1.0, monotonic=lambda: ticks[0])
    assert not other.is_revoked("jti-1")  # first use reads the table
    store.accounts.revocations.revoke("jti-1", far)
    store.accounts.revocations.revoke("jti-1", far)  # idempotent
    assert store.accounts.revocations.is_revoked("jti-1")  # at once where revoked
    assert not other.is_revoked("jti-1")  # not before the other's next refresh…
    ticks[0] = 1.0
    assert other.is_revoked("jti-1")  # …and then
    store.accounts.revocations.revoke("jti-old", store.clock.now_us() - 1)
    assert store.accounts.revocations.purge() == 1


def test_a_client_assertion_is_used_once(store: Store) -> None:
    ledger = store.accounts.assertions
    assert ledger.use("his-1", "a1", expires_us=1_000, now_us=0)
    assert not ledger.use("his-1", "a1", expires_us=1_000, now_us=10)
    assert ledger.use("his-2", "a1", expires_us=1_000, now_us=10)  # per client
    assert ledger.use("his-1", "a1", expires_us=5_000, now_us=2_000)  # expired rows go
