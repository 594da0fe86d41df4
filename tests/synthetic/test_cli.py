"""``countyhealth seed``: seeds, writes the ground truth, and --if-empty leaves data alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from countyhealth.cli import main
from countyhealth.config import Settings
from countyhealth.store import HistoryQuery, Store, system_caller


@pytest.mark.sqlite
def test_seed_command_and_if_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'county.db'}"
    monkeypatch.setenv("COUNTYHEALTH_DATABASE_URL", url)
    monkeypatch.setenv("COUNTYHEALTH_AUDIT_SPOOL_DIR", str(tmp_path / "spool"))
    args = ["seed", "--residents", "30", "--years", "1", "--seed", "2", "--in-process"]
    assert main(args) == 0
    assert (tmp_path / "county.ground-truth.seed2.json").exists()

    def patients() -> int:
        store = Store.open(Settings())
        try:
            page = store.repository(system_caller("tests")).history(
                HistoryQuery(type="Patient", count=100_000)
            )
            return len(page.entries)
        finally:
            store.close()

    before = patients()
    assert before >= 30
    assert main([*args, "--if-empty", "--seed", "3"]) == 0
    assert patients() == before
