"""The account commands: users add, users demo, clients add."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from countyhealth.cli import main
from countyhealth.config import Settings
from countyhealth.security.passwords import Passwords
from countyhealth.store import Store
from tests.support.accounts import es384_key


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUNTYHEALTH_ENVIRONMENT", "test")
    monkeypatch.setenv("COUNTYHEALTH_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("COUNTYHEALTH_DATABASE_URL", f"sqlite:///{tmp_path / 'db' / 'x.db'}")
    monkeypatch.setenv("COUNTYHEALTH_AUDIT_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("COUNTYHEALTH_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("COUNTYHEALTH_PASSWORD_TIME_COST", "1")
    return tmp_path


def _stored(kind: str, name: str) -> object:
    store = Store.open(Settings())
    try:
        return store.accounts.user(name) if kind == "user" else store.accounts.client(name)
    finally:
        store.close()


def test_users_add_reads_the_password_from_stdin(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    argv = ["users", "add", "--username", "dr.zhou", "--role", "county-clinician"]
    argv += ["--org", "Organization/org-h01", "--actor", "PractitionerRole/role-0001"]
    assert main([*argv, "--password-stdin", "--totp"]) == 0
    captured = capsys.readouterr()
    assert "otpauth://totp/CountyHealth:dr.zhou" in captured.out
    assert "not in the database" in captured.err  # the organisation is not seeded here
    user = _stored("user", "dr.zhou")
    assert user is not None
    assert Passwords(Settings()).check(user.password_hash, "a long enough password").ok  # type: ignore[attr-defined]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main([*argv, "--password-stdin"]) == 2  # the name is taken
    assert "taken" in capsys.readouterr().err


def test_users_add_refuses_what_is_wrong(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert (
        main(["users", "add", "--username", "x", "--role", "village-doctor", "--password-stdin"])
        == 2
    )
    assert "organisation" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    argv = ["users", "add", "--username", "x", "--role", "nurse", "--org", "Organization/o"]
    assert main([*argv, "--password-stdin"]) == 2
    assert "at least 10" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(argv) == 2  # no terminal and no --password-stdin
    assert "--password-stdin" in capsys.readouterr().err


def test_users_demo_is_refused_outside_development(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "demo", "--if-missing"]) == 2
    assert "only in development" in capsys.readouterr().err


def test_users_demo_in_a_seeded_development_county(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COUNTYHEALTH_ENVIRONMENT", "development")
    assert main(["users", "demo"]) == 2
    assert "seed" in capsys.readouterr().err
    assert main(["seed", "--residents", "150", "--seed", "11", "--in-process"]) == 0
    capsys.readouterr()
    assert main(["users", "demo", "--if-missing"]) == 0
    first = capsys.readouterr()
    assert "demo-county-clinician" in first.out and "demo-integrator" in first.out
    assert main(["users", "demo", "--if-missing"]) == 0
    assert "exist already" in capsys.readouterr().err
    assert _stored("client", "demo-integrator") is not None


def test_clients_add_with_a_generated_secret_or_a_jwks_file(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["clients", "add", "--client-id", "his-1", "--scope", "system/*.rs"]
    assert main([*argv, "--org", "Organization/org-h01"]) == 0
    captured = capsys.readouterr()
    secret = captured.out.strip()
    assert len(secret) >= 16 and "shown once" in captured.err
    client = _stored("client", "his-1")
    assert Passwords(Settings()).check(client.secret_hash, secret).ok  # type: ignore[attr-defined]
    _, public = es384_key("k1")
    jwks = env / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public]}))
    assert (
        main(
            [
                "clients",
                "add",
                "--client-id",
                "bulk-1",
                "--scope",
                "system/*.rs",
                "--jwks-file",
                str(jwks),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == ""  # no secret made when keys are given
    assert _stored("client", "bulk-1").jwks == {"keys": [public]}  # type: ignore[attr-defined]
    assert main(["clients", "add", "--client-id", "c", "--scope", "openid"]) == 2
