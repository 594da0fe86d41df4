"""bench/referral.py runs end to end on a tiny county and prints its one JSON line, with every
timed referral accepted and its held slot booked. Counts and keys only: speed is the
benchmark's job."""

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
    "referrals",
    "refer_p50_ms",
    "refer_p95_ms",
    "accept_p50_ms",
    "accept_p95_ms",
    "worklist_p95_ms",
    "kpis_year_ms",
    "baseline_create_p95_ms",
    "held_slots",
}


def _run(cache: Path, referrals: int) -> dict[str, object]:
    args = ["--residents", "300", "--referrals", str(referrals), "--warm-up", "2"]
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "referral.py"),
            *args,
            *("--workers", "0", "--seed", "1", "--cache-dir", str(cache)),
        ],
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
def test_the_bench_prints_one_line_and_every_referral_is_accepted(tmp_path: Path) -> None:
    line = _run(tmp_path, 20)
    assert set(line) >= KEYS
    assert (line["bench"], line["backend"], line["residents"]) == ("referral", "sqlite", 300)
    assert line["referrals"] == line["accepted"] == 20
    assert line["held_slots"] == line["booked"] == 20  # every target department has slots
    assert line["worklists"] == 2
    assert line["by_village_doctor"] == line["by_township_clinician"] == 10
    # the KPIs count the referrals just made, and the seeded year's
    year, seeded = line["kpis_year_referrals"], line["kpis_seeded_year_referrals"]
    assert isinstance(year, int) and year >= 22
    assert isinstance(seeded, int) and seeded > 0
    assert line["county"] == "built"
    assert (tmp_path / "referral-300.db").exists()
    assert (tmp_path / "referral-300.ground-truth.json").exists()
    # a second run reuses the county and its slot pool, and adds its referrals to the KPIs
    again = _run(tmp_path, 4)
    assert again["county"] == "reused"
    assert again["held_slots"] == again["accepted"] == 4
    assert again["kpis_year_referrals"] == year + 4 + 2
