"""The referral KPIs on a synthetic county equal the counts its ground truth lists, year by
year (SQLite and PostgreSQL): referrals by direction and Task status, by requesting and by
receiving institution, accepted and decided, the median hours to acceptance, the
down-referrals followed up within the window, and the year-on-year change."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from countyhealth.referral.kpis import kpi_rules, referral_kpis
from countyhealth.store import Repository
from countyhealth.synthetic import SeedOptions, seed_county

OPTIONS = SeedOptions(residents=1000, seed=3, start=date(2024, 1, 1), years=2)


def _expected(year: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """What the KPIs over one calendar year must say, from the ground truth of that year."""
    statuses: dict[str, dict[str, int]] = {"up": {}, "down": {}}
    for key, n in year["by_status"].items():
        direction, status = key.split("/")
        statuses[direction][status] = n
    rules = kpi_rules()
    rejected = sum(
        n for by in statuses.values() for s, n in by.items() if s in rules.rejected_statuses
    )
    follow = year["down_follow_up"]
    done = sum(
        n for days, n in follow["visit_after_days"].items() if int(days) <= rules.follow_up_days
    )
    facilities: dict[str, Counter[str]] = {}
    for side, suffix in (("sent", "sent"), ("received", "received")):
        for direction, by_org in year[side].items():
            for org, n in by_org.items():
                facilities.setdefault(org, Counter())[f"{direction}_{suffix}"] = n
    before = (
        {d: sum(previous["sent"].get(d, {}).values()) for d in ("up", "down")}
        if previous
        else {"up": 0, "down": 0}
    )
    return {
        "statuses": statuses,
        "made": {d: sum(statuses[d].values()) for d in ("up", "down")},
        "accepted": year["accepted"],
        "decided": year["accepted"] + rejected,
        "median": year["hours_to_acceptance_median"],
        "follow_up": (follow["not_cancelled"], done),
        "facilities": {o: dict(c) for o, c in facilities.items()},
        "previous": before,
    }


def _measured(repo: Repository, year: int) -> dict[str, Any]:
    kpis = referral_kpis(repo, date(year, 1, 1), date(year, 12, 31))
    facilities = {}
    for f in kpis.facilities:
        counts = {
            "up_sent": f.up_sent,
            "down_sent": f.down_sent,
            "up_received": f.up_received,
            "down_received": f.down_received,
        }
        facilities[f.organization] = {k: n for k, n in counts.items() if n}
    return {
        "statuses": {"up": kpis.up.by_status, "down": kpis.down.by_status},
        "made": {"up": kpis.up.made, "down": kpis.down.made},
        "accepted": kpis.accepted,
        "decided": kpis.decided,
        "median": kpis.median_hours,
        # every window of these years has closed: the report is made after them
        "follow_up": (kpis.follow_up.due, kpis.follow_up.done),
        "facilities": facilities,
        "previous": {"up": kpis.up.previous, "down": kpis.down.previous},
    }


def test_the_kpis_equal_the_ground_truth(repo: Repository, tmp_path: Path) -> None:
    seed_county(repo, OPTIONS, ground_truth=tmp_path / "truth.json")
    truth = orjson.loads((tmp_path / "truth.json").read_bytes())["referrals"]
    years = truth["by_year"]
    assert sorted(years) == ["2024", "2025"]
    for year in (2024, 2025):
        expected = _expected(years[str(year)], years.get(str(year - 1)))
        assert _measured(repo, year) == expected, year
    # the data hold what the figures are about
    last = years["2025"]
    assert last["accepted"] > 0 and last["down_follow_up"]["not_cancelled"] > 0
    assert {"up/completed", "up/in-progress", "up/cancelled", "down/rejected"} <= set(
        last["by_status"]
    )
    kpis = referral_kpis(repo, date(2025, 1, 1), date(2025, 12, 31))
    made = {y: sum(v["by_status"].values()) for y, v in years.items()}
    assert (kpis.made, kpis.previous) == (made["2025"], made["2024"])
    assert 0 < kpis.follow_up.done < kpis.follow_up.due  # a rejected one is never visited
    assert kpis.change == round(100 * (made["2025"] - made["2024"]) / made["2024"], 2)
    assert sum(truth["by_status"].values()) == made["2024"] + made["2025"]
