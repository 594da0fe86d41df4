"""``countyhealth linkage``: train, evaluate and dedupe on a small seeded county."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from countyhealth.cli import main
from countyhealth.identity.matching import LEVELS, MatchModel


@pytest.mark.sqlite
def test_train_evaluate_and_dedupe_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COUNTYHEALTH_DATABASE_URL", f"sqlite:///{tmp_path / 'county.db'}")
    monkeypatch.setenv("COUNTYHEALTH_AUDIT_SPOOL_DIR", str(tmp_path / "spool"))
    truth = tmp_path / "truth.json"
    seed = ["seed", "--residents", "800", "--seed", "4", "--duplicates", "0.05"]
    assert main([*seed, "--patients-only", "--in-process", "--ground-truth", str(truth)]) == 0

    model_file = tmp_path / "model.json"
    train = ["linkage", "train", "--out", str(model_file), "--max-pairs", "2e5"]
    assert main([*train, "--describe", "test county"]) == 0
    trained = MatchModel.load(model_file)
    assert set(trained.m) == set(LEVELS)
    assert trained.meta["provenance"]["data"] == "test county"
    capsys.readouterr()

    assert main(["linkage", "evaluate", "--ground-truth", str(truth)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["precision"] >= 0.99 and result["recall"] >= 0.99

    assert main(["linkage", "dedupe", "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] and dry["linked"] == dry["reviews_opened"] == 0
    assert main(["linkage", "dedupe"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["pairs"] == dry["pairs"] == done["linked"] + done["reviews_opened"]
    assert done["failed"] == 0
