"""The command line: tokens the server accepts, migrations, refused default secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from countyhealth.api.auth import TokenVerifier
from countyhealth.cli import main
from countyhealth.config import DEVELOPMENT_SECRET, Settings


def test_token_prints_only_a_token_the_server_accepts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTYHEALTH_ENVIRONMENT", "test")
    monkeypatch.setenv("COUNTYHEALTH_SECRET_KEY", "k" * 40)
    assert main(["token", "--client", "his-1", "--scope", "system/*.*"]) == 0
    out = capsys.readouterr().out
    token = out.strip()
    assert out == token + "\n" and token.count(".") == 2
    caller = TokenVerifier(Settings()).caller(f"Bearer {token}", None)
    assert caller.id == "his-1"
    assert caller.scopes.allows("Observation", "update")


def test_default_secret_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="test", secret_key="short")
    assert Settings(environment="development").secret_key == DEVELOPMENT_SECRET
    monkeypatch.setenv("COUNTYHEALTH_ENVIRONMENT", "production")
    monkeypatch.delenv("COUNTYHEALTH_SECRET_KEY", raising=False)
    assert main(["token", "--client", "x", "--scope", "system/*.*"]) == 2


def test_migrate_creates_the_schema(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"{tmp_path}/cli.db"
    monkeypatch.setenv("COUNTYHEALTH_DATABASE_URL", f"sqlite:///{db}")
    assert main(["migrate"]) == 0
    import sqlite3

    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"resource", "resource_history", "idx_token", "idx_string"} <= tables


def test_import_command_reports_rejects_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COUNTYHEALTH_ENVIRONMENT", "test")
    monkeypatch.setenv("COUNTYHEALTH_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("COUNTYHEALTH_DATABASE_URL", f"sqlite:///{tmp_path / 'db' / 'x.db'}")
    monkeypatch.setenv("COUNTYHEALTH_AUDIT_SPOOL_DIR", str(tmp_path / "spool"))
    data = tmp_path / "in.ndjson"
    data.write_text(
        '{"resourceType":"Patient","id":"a","gender":"male"}\n'
        '{"resourceType":"Patient","id":"b","gender":"robot"}\n'
    )
    rejects = tmp_path / "rejects.ndjson"
    assert main(["import", str(data), "--workers", "0", "--rejects", str(rejects)]) == 3
    assert "1 created" in capsys.readouterr().err
    assert "robot" in rejects.read_text()
    assert main(["import", str(data), "--workers", "0"]) == 0
    assert "imported already" in capsys.readouterr().err.replace("\n", " ")
    assert main(["import", str(data), "--workers", "0", "--restart"]) == 3
    assert "1 unchanged" in capsys.readouterr().err
