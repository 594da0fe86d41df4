"""bench/recognition.py runs end to end on a tiny county and prints its one JSON line, with
checks that found the planted repeats. Counts and keys only: speed is the benchmark's job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "bench",
    "backend",
    "residents",
    "checks",
    "found",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "baseline_p95_ms",
}


def _run(cache: Path) -> dict[str, object]:
    args = ["--residents", "400", "--checks", "40", "--warm-up", "4", "--workers", "0"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "recognition.py"), *args, "--cache-dir", str(cache)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    line: dict[str, object] = json.loads(lines[0])
    return line


@pytest.mark.slow
def test_the_bench_prints_one_line_and_finds_the_repeats(tmp_path: Path) -> None:
    line = _run(tmp_path)
    assert set(line) >= KEYS
    assert (line["bench"], line["backend"], line["residents"]) == ("recognition", "sqlite", 400)
    assert line["checks"] == 40
    assert isinstance(line["found"], int) and line["found"] > 0
    assert line["repeats_found"] == line["repeat_checks"] == 20
    assert "build_seconds" in line
    assert sorted(p.name for p in tmp_path.glob("recognition-400.*.json")) == [
        "recognition-400.ground-truth.json",
        "recognition-400.orders.json",
    ]
    # a second run reuses the county, its ground truth and the Consents
    again = _run(tmp_path)
    assert "build_seconds" not in again
    assert again["orders"] == line["orders"]
